// Package all registers every enrichment stage. Only cmd/ imports it.
package all

import (
	_ "github.com/earshot-dev/earshot/enrich/dedup"           // dedup (50)
	_ "github.com/earshot-dev/earshot/enrich/detect/trendtag" // trend (70)
	_ "github.com/earshot-dev/earshot/enrich/entities"        // entities (10)
	_ "github.com/earshot-dev/earshot/enrich/lang"            // lang (20)
	_ "github.com/earshot-dev/earshot/enrich/respond"         // respond (60)
	_ "github.com/earshot-dev/earshot/enrich/sentiment"       // sentiment (30)
	_ "github.com/earshot-dev/earshot/enrich/topics"          // topics (40)
)
