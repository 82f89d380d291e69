package clickhouse

import (
	"testing"
	"time"

	"github.com/earshot-dev/earshot/pipeline"
)

// TestMentionRowMatchesColumns guards the column order: one value per table
// column, each of the Go type the column's ClickHouse type takes.
func TestMentionRowMatchesColumns(t *testing.T) {
	row := mentionRow(&pipeline.Mention{ID: "a"}, time.Unix(0, 0))
	if len(row) != len(mentionColumns) {
		t.Fatalf("mentionRow() has %d values; want %d", len(row), len(mentionColumns))
	}
	for i, v := range row {
		var want string
		switch v.(type) {
		case string:
			want = "String"
		case int64:
			want = "Int64"
		case uint8:
			want = "UInt8"
		case float32:
			want = "Float32"
		case time.Time:
			want = dateTime
		case []string:
			want = "Array(String)"
		}
		if c := mentionColumns[i]; c.typ != want {
			t.Errorf("mentionRow()[%d] (%s) is a %T; want one for %s", i, c.name, v, c.typ)
		}
	}
}
