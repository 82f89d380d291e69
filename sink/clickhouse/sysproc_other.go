//go:build !linux

package clickhouse

import "syscall"

// childSysProcAttr: outside Linux there is no parent-death signal; the
// parent must call Stop.
func childSysProcAttr() *syscall.SysProcAttr { return nil }
