package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/earshot-dev/earshot/sink/clickhouse/chtest"
)

// queryConfigFile writes a config for a fresh ClickHouse database.
func queryConfigFile(t *testing.T) string {
	t.Helper()
	ch := chtest.NewDatabase(t)
	doc := map[string]any{
		"data_dir":   t.TempDir(),
		"http":       map[string]any{"listen": "off"},
		"clickhouse": chConfigMap(ch),
	}
	raw, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "q.yaml")
	if err := os.WriteFile(f, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestQueryCommand(t *testing.T) {
	cfg := queryConfigFile(t)
	run := func(format, sql string) (string, string, int) {
		var out, errOut bytes.Buffer
		args := []string{"query", "--config", cfg}
		if format != "" {
			args = append(args, "--format", format)
		}
		code := Main(context.Background(), append(args, sql), nil, &out, &errOut)
		return out.String(), errOut.String(), code
	}
	// Statements without a result set say that they ran.
	for _, sql := range []string{
		"CREATE TABLE t (x UInt32, s String) ENGINE = MergeTree ORDER BY x",
		"INSERT INTO t VALUES (1, 'a'), (20, 'bb'), (300, 'ccc')",
		"INSERT INTO t SELECT toUInt32(number + 1000), 'n' FROM system.numbers LIMIT 2",
		"OPTIMIZE TABLE t FINAL",
		"  -- a comment first\nALTER TABLE t DELETE WHERE x = 1001",
	} {
		out, errOut, code := run("", sql)
		if code != 0 || !strings.HasPrefix(out, "Ok.") {
			t.Errorf("query %q = exit %d, stdout %q, stderr %q; want exit 0 and Ok.", sql, code, out, errOut)
		}
	}
	// The server's error, not EOF.
	for _, sql := range []string{"DROP TABLE nosuch", "SELECT * FROM nosuch", "OPTIMIZE TABLE nosuch"} {
		out, errOut, code := run("", sql)
		if code != 1 || !strings.Contains(errOut, "nosuch") || strings.Contains(errOut, "EOF") {
			t.Errorf("query %q = exit %d, stdout %q, stderr %q; want exit 1 and the server's error naming nosuch", sql, code, out, errOut)
		}
	}
	sel := "SELECT x, s FROM t WHERE x < 1000 ORDER BY x"
	// Piped (not a terminal): TSV by default.
	if out, errOut, code := run("", sel); code != 0 || out != "x\ts\n1\ta\n20\tbb\n300\tccc\n" {
		t.Errorf("query (piped) = exit %d, %q, %q; want TSV", code, out, errOut)
	}
	want := "" +
		"┌───x─┬─s───┐\n" +
		"│   1 │ a   │\n" +
		"│  20 │ bb  │\n" +
		"│ 300 │ ccc │\n" +
		"└─────┴─────┘\n" +
		"3 rows in set.\n"
	if out, errOut, code := run("pretty", sel); code != 0 || out != want {
		t.Errorf("query --format pretty = exit %d, stderr %q, stdout\n%s\nwant\n%s", code, errOut, out, want)
	}
	if out, errOut, code := run("json", sel+" LIMIT 1"); code != 0 || out != `{"s":"a","x":1}`+"\n" {
		t.Errorf("query --format json = exit %d, %q, %q; want one JSON object", code, out, errOut)
	}
	if _, errOut, code := run("xml", sel); code != 2 || !strings.Contains(errOut, "--format") {
		t.Errorf("query --format xml = exit %d, %q; want a usage error", code, errOut)
	}
}

func TestReturnsRows(t *testing.T) {
	for sql, want := range map[string]bool{
		"SELECT 1": true, " with x as (select 1) select * from x": true, "(SELECT 1)": true, "SHOW TABLES": true,
		"DESCRIBE mentions": true, "-- c\nSELECT 1": true, "/* c */ select 1": true, "EXISTS TABLE t": true,
		"OPTIMIZE TABLE t FINAL": false, "CREATE TABLE t (x UInt8) ENGINE = Memory": false, "insert into t values (1)": false,
		"DROP TABLE t": false, "": false,
	} {
		if got := returnsRows(sql); got != want {
			t.Errorf("returnsRows(%q) = %v; want %v", sql, got, want)
		}
	}
}

func TestInsertValuesAsSelect(t *testing.T) {
	tests := []struct{ in, want string }{
		{"INSERT INTO t VALUES (1, 'a'), (20, 'b,)c')", "INSERT INTO t SELECT 1, 'a' UNION ALL SELECT 20, 'b,)c'"},
		{"insert into t (x, s) values (1, ['a', 'values']);", "insert into t (x, s) SELECT 1, ['a', 'values']"},
		{"INSERT INTO t SELECT 1", "INSERT INTO t SELECT 1"},
		{"OPTIMIZE TABLE t", "OPTIMIZE TABLE t"},
	}
	for _, tt := range tests {
		if got, _, err := insertValuesAsSelect(tt.in); err != nil || got != tt.want {
			t.Errorf("insertValuesAsSelect(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{"INSERT INTO t VALUES (1, 'a'", "INSERT INTO t FORMAT TSV 1\ta"} {
		if _, _, err := insertValuesAsSelect(in); err == nil {
			t.Errorf("insertValuesAsSelect(%q) = nil error; want one", in)
		}
	}
}
