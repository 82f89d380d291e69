package clickhouse_test

import (
	"testing"

	"github.com/earshot-dev/earshot/sink/clickhouse/chtest"
)

// TestMain stops the shared clickhouse-server after the tests.
func TestMain(m *testing.M) { chtest.Main(m) }
