package clickhouse

import (
	"errors"
	"strings"

	ch "github.com/ClickHouse/clickhouse-go/v2"
)

// ClickHouse error codes of an ADD COLUMN whose column is already there:
// DUPLICATE_COLUMN on current releases, ILLEGAL_COLUMN ("column with this
// name already exists") on 18.16.
const (
	codeDuplicateColumn = 15
	codeIllegalColumn   = 44
)

// columnExists reports whether err is the server refusing an ALTER TABLE
// … ADD COLUMN because the column is already there: the migration step is
// done. (ClickHouse 18.16 has no ADD COLUMN IF NOT EXISTS.)
func columnExists(err error) bool {
	var ex *ch.Exception
	if !errors.As(err, &ex) {
		return false
	}
	return ex.Code == codeDuplicateColumn ||
		ex.Code == codeIllegalColumn && strings.Contains(ex.Message, "already exists")
}
