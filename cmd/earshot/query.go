package main

import (
	"context"
	"fmt"
	"io"
	"reflect"
	"strings"
	"time"
)

func init() {
	register("query", func(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
		fs := newFlagSet("query", stderr)
		cfgPath := configFlag(fs)
		if err := fs.Parse(args); err != nil {
			return err
		}
		if fs.NArg() != 1 {
			return fmt.Errorf("%w: earshot query [--config FILE] 'SELECT …'", errUsage)
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
		return runQuery(ctx, in, fs.Arg(0), stdout)
	})
}

// runQuery runs one statement and prints the result as tab-separated
// values with a header line.
func runQuery(ctx context.Context, in *infra, sql string, w io.Writer) error {
	conn, err := in.store.AnalystConn()
	if err != nil {
		return err
	}
	defer conn.Close()
	rows, err := conn.Query(ctx, sql)
	if err != nil {
		return fmt.Errorf("query: %w", err)
	}
	defer rows.Close()
	cols := rows.Columns()
	fmt.Fprintln(w, strings.Join(cols, "\t"))
	types := rows.ColumnTypes()
	vals := make([]any, len(types))
	for rows.Next() {
		for i, t := range types {
			vals[i] = reflect.New(t.ScanType()).Interface()
		}
		if err := rows.Scan(vals...); err != nil {
			return fmt.Errorf("query: %w", err)
		}
		cells := make([]string, len(vals))
		for i, v := range vals {
			cells[i] = formatCell(reflect.ValueOf(v).Elem().Interface())
		}
		fmt.Fprintln(w, strings.Join(cells, "\t"))
	}
	return rows.Err()
}

func formatCell(v any) string {
	switch x := v.(type) {
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
