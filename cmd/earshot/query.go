package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Output formats of `earshot query`.
const (
	formatAuto   = "auto"   // pretty in a terminal, tsv otherwise
	formatPretty = "pretty" // aligned columns in a frame and a row count, like clickhouse-client's PrettyCompact
	formatTSV    = "tsv"    // a header line, then tab-separated values
	formatJSON   = "json"   // one JSON object per row (JSON lines)
)

func init() {
	register("query", func(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
		fs := newFlagSet("query", stderr)
		cfgPath := configFlag(fs)
		format := fs.String("format", formatAuto, "output `format`: pretty, tsv, json (one object per line) or auto (pretty in a terminal, tsv when piped)")
		if err := fs.Parse(args); err != nil {
			return err
		}
		if fs.NArg() != 1 {
			return fmt.Errorf("%w: earshot query [--config FILE] [--format pretty|tsv|json] 'SQL'", errUsage)
		}
		f, err := resolveFormat(*format, stdout)
		if err != nil {
			return err
		}
		cfg, err := LoadConfig(*cfgPath)
		if err != nil {
			return err
		}
		cfg.Log.Level = "warn"
		in := newInfra(cfg)
		defer in.Close()
		if err := in.openClickHouse(ctx, false); err != nil {
			return err
		}
		return runQueryAs(ctx, in, fs.Arg(0), f, stdout)
	})
}

// resolveFormat checks the --format flag and resolves auto.
func resolveFormat(f string, w io.Writer) (string, error) {
	switch f {
	case formatPretty, formatTSV, formatJSON:
		return f, nil
	case formatAuto, "":
		if isTerminal(w) {
			return formatPretty, nil
		}
		return formatTSV, nil
	}
	return "", fmt.Errorf("%w: --format %q: want pretty, tsv, json or auto", errUsage, f)
}

// returnsRows reports whether a statement answers with a result set
// (SELECT, WITH, SHOW, DESCRIBE, EXISTS, EXPLAIN); the others (CREATE,
// INSERT, OPTIMIZE, ALTER, …) only succeed or fail.
func returnsRows(sql string) bool {
	s := strings.TrimSpace(sql)
	for {
		switch {
		case strings.HasPrefix(s, "--"):
			_, s, _ = strings.Cut(s, "\n")
		case strings.HasPrefix(s, "/*"):
			_, s, _ = strings.Cut(s, "*/")
		case strings.HasPrefix(s, "("):
			s = s[1:]
		default:
			words := strings.FieldsFunc(s, func(r rune) bool {
				return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
			})
			if len(words) == 0 {
				return false
			}
			switch strings.ToUpper(words[0]) {
			case "SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXISTS", "EXPLAIN":
				return true
			}
			return false
		}
		s = strings.TrimSpace(s)
		if s == "" {
			return false
		}
	}
}

// runQuery runs one statement and prints the result as tab-separated
// values with a header line.
func runQuery(ctx context.Context, in *infra, sql string, w io.Writer) error {
	return runQueryAs(ctx, in, sql, formatTSV, w)
}

// runQueryAs runs one statement. A statement that returns rows is printed
// in format; any other one prints that it succeeded, with the rows written
// when the server reports them, or returns the server's error.
func runQueryAs(ctx context.Context, in *infra, sql, format string, w io.Writer) error {
	conn, err := in.store.AnalystConn()
	if err != nil {
		return err
	}
	defer conn.Close()
	if strings.TrimSpace(strings.TrimRight(strings.TrimSpace(sql), ";")) == "" {
		return fmt.Errorf("%w: the statement is empty", errUsage)
	}
	if !returnsRows(sql) {
		rewritten, _, err := insertValuesAsSelect(sql)
		if err != nil {
			return fmt.Errorf("query: %w", err)
		}
		sql = rewritten
		var written uint64
		pctx := ch.Context(ctx, ch.WithProgress(func(p *ch.Progress) { written += p.WroteRows }))
		if err := conn.Exec(pctx, sql); err != nil {
			return fmt.Errorf("query: %w", err)
		}
		switch {
		case format == formatJSON:
			b, _ := json.Marshal(map[string]any{"ok": true, "written_rows": written})
			fmt.Fprintf(w, "%s\n", b)
		case written > 0:
			fmt.Fprintf(w, "Ok. %d rows written.\n", written)
		default:
			fmt.Fprintln(w, "Ok.")
		}
		return nil
	}
	rows, err := conn.Query(ctx, sql)
	if err != nil {
		return fmt.Errorf("query: %w", err)
	}
	defer rows.Close()
	cols := rows.Columns()
	types := rows.ColumnTypes()
	var table [][]any
	tw := newTableWriter(format, cols, w)
	for rows.Next() {
		vals := make([]any, len(types))
		for i, t := range types {
			vals[i] = reflect.New(t.ScanType()).Interface()
		}
		if err := rows.Scan(vals...); err != nil {
			return fmt.Errorf("query: %w", err)
		}
		row := make([]any, len(vals))
		for i, v := range vals {
			row[i] = deref(reflect.ValueOf(v).Elem())
		}
		if tw.stream {
			if err := tw.row(row); err != nil {
				return err
			}
			continue
		}
		table = append(table, row)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("query: %w", err)
	}
	if !tw.stream {
		printPretty(w, cols, types, table)
	}
	return nil
}

// deref follows pointers (Nullable columns); a nil pointer is nil.
func deref(v reflect.Value) any {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	return v.Interface()
}

type tableWriter struct {
	format string
	cols   []string
	w      io.Writer
	stream bool // tsv and json print row by row; pretty needs every row first
}

func newTableWriter(format string, cols []string, w io.Writer) *tableWriter {
	tw := &tableWriter{format: format, cols: cols, w: w, stream: format != formatPretty}
	if format == formatTSV {
		fmt.Fprintln(w, strings.Join(cols, "\t"))
	}
	return tw
}

func (tw *tableWriter) row(row []any) error {
	if tw.format == formatJSON {
		obj := make(map[string]any, len(row))
		for i, v := range row {
			if t, ok := v.(time.Time); ok {
				v = t.UTC().Format("2006-01-02 15:04:05")
			}
			obj[tw.cols[i]] = v
		}
		b, err := json.Marshal(obj)
		if err != nil {
			return fmt.Errorf("query: %w", err)
		}
		_, err = fmt.Fprintf(tw.w, "%s\n", b)
		return err
	}
	cells := make([]string, len(row))
	for i, v := range row {
		cells[i] = formatCell(v)
	}
	_, err := fmt.Fprintln(tw.w, strings.Join(cells, "\t"))
	return err
}

func formatCell(v any) string {
	switch x := v.(type) {
	case nil:
		return `\N`
	case time.Time:
		return x.UTC().Format("2006-01-02 15:04:05")
	case string:
		return strings.NewReplacer("\t", `\t`, "\n", `\n`).Replace(x)
	case []string:
		return "[" + strings.Join(x, ",") + "]"
	default:
		return fmt.Sprint(x)
	}
}

// printPretty prints rows as clickhouse-client's PrettyCompact does:
// aligned columns in a frame, numbers right-aligned, then the row count.
func printPretty(w io.Writer, cols []string, types []driver.ColumnType, table [][]any) {
	widths := make([]int, len(cols))
	right := make([]bool, len(cols))
	cells := make([][]string, len(table))
	for i, c := range cols {
		widths[i] = utf8.RuneCountInString(c)
		switch types[i].ScanType().Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
			reflect.Float32, reflect.Float64:
			right[i] = true
		}
	}
	for r, row := range table {
		cells[r] = make([]string, len(row))
		for i, v := range row {
			s := formatCell(v)
			if v == nil {
				s = "NULL"
			}
			cells[r][i] = s
			widths[i] = max(widths[i], utf8.RuneCountInString(s))
		}
	}
	var b strings.Builder
	b.WriteString("┌")
	for i, c := range cols {
		if i > 0 {
			b.WriteString("┬")
		}
		pad := strings.Repeat("─", widths[i]-utf8.RuneCountInString(c))
		if right[i] {
			b.WriteString("─" + pad + c + "─")
		} else {
			b.WriteString("─" + c + pad + "─")
		}
	}
	b.WriteString("┐\n")
	for _, row := range cells {
		b.WriteString("│")
		for i, s := range row {
			if i > 0 {
				b.WriteString("│")
			}
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(s))
			if right[i] {
				b.WriteString(" " + pad + s + " ")
			} else {
				b.WriteString(" " + s + pad + " ")
			}
		}
		b.WriteString("│\n")
	}
	b.WriteString("└")
	for i := range cols {
		if i > 0 {
			b.WriteString("┴")
		}
		b.WriteString(strings.Repeat("─", widths[i]+2))
	}
	b.WriteString("┘\n")
	switch len(table) {
	case 1:
		b.WriteString("1 row in set.\n")
	default:
		fmt.Fprintf(&b, "%d rows in set.\n", len(table))
	}
	_, _ = io.WriteString(w, b.String())
}
