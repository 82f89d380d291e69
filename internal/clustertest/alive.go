package clustertest

import "fmt"

// Dead names the servers that should be running but have exited: ZooKeeper
// once started, and every NATS and ClickHouse node not stopped by Kill. A
// proof that loses a server it did not kill is not proving what it says.
func Dead(zk *ZooKeeper, nc *NATSCluster, chc *ClickHouseCluster) []string {
	var out []string
	if zk != nil && exited(zk.exited) {
		out = append(out, fmt.Sprintf("ZooKeeper (pid %d)", zk.cmd.Process.Pid))
	}
	if nc != nil {
		for _, nd := range nc.Nodes {
			if nd.cmd != nil && exited(nd.exited) {
				out = append(out, fmt.Sprintf("NATS node %s (pid %d)", nd.Name, nd.cmd.Process.Pid))
			}
		}
	}
	if chc != nil {
		for i, nd := range chc.Nodes {
			if nd.Local != nil && exited(nd.Local.Exited()) {
				out = append(out, fmt.Sprintf("ClickHouse node %d (shard %d, replica %d, pid %d)", i, nd.Shard, nd.Replica, nd.Local.Pid()))
			}
		}
	}
	return out
}

func exited(ch <-chan struct{}) bool {
	if ch == nil {
		return false
	}
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
