package main

import (
	"fmt"

	"github.com/earshot-dev/earshot/enrich/topics"
	"github.com/earshot-dev/earshot/pipeline"
)

// topicMatcher is the matcher connectors get in SourceEnv: the topic
// matcher of enrich/topics over the configured topics, so a connector that
// reads a firehose keeps only the posts that match one (connectors never
// import enrich/).
func topicMatcher(cfg *Config) (pipeline.Matcher, error) {
	m, err := topics.NewMatcher(cfg.Topics)
	if err != nil {
		return nil, fmt.Errorf("topics: %w", err)
	}
	return m, nil
}
