package clickhouse

import "syscall"

// childSysProcAttr puts the server in its own process group and has the
// kernel send it SIGTERM when the parent (the forking thread) dies.
func childSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
