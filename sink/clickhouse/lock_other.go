//go:build !unix

package clickhouse

import "os"

// lockDir: no directory lock outside unix; clickhouse-server's own status
// file lock still refuses a second server on the same data.
func lockDir(dir string) (*os.File, error) { return nil, nil }
