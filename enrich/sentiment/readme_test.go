package sentiment

import (
	"testing"

	"github.com/earshot-dev/earshot/enrich/internal/stagetest"
)

// TestReadmeConfig builds the stage from the sample config in README.md.
func TestReadmeConfig(t *testing.T) { stagetest.ReadmeConfig(t, StageName) }
