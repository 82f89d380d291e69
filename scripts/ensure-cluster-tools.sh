#!/bin/sh
# ensure-cluster-tools.sh: install what the cluster tests need besides
# ClickHouse: ZooKeeper (Debian package zookeeper, with java), which the
# replicated ClickHouse tables of the cluster tests coordinate through.
# Idempotent; installs nothing when /usr/share/java/zookeeper.jar and java exist.
set -eu
if [ -f /usr/share/java/zookeeper.jar ] && command -v java >/dev/null 2>&1; then
	echo "ensure-cluster-tools: found ZooKeeper and $(command -v java)"
	exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
	echo "ensure-cluster-tools: ZooKeeper is missing: install Debian/Ubuntu's zookeeper package (or put zookeeper.jar at /usr/share/java/zookeeper.jar and java on PATH)" >&2
	exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
		echo "ensure-cluster-tools: not root and no sudo: run as root: apt-get install -y zookeeper" >&2
		exit 1
	fi
fi
# The package's service is never used; the tests run their own server.
if ! $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends zookeeper; then
	$SUDO apt-get update
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends zookeeper
fi
[ -f /usr/share/java/zookeeper.jar ] || { echo "ensure-cluster-tools: zookeeper installed but /usr/share/java/zookeeper.jar is missing" >&2; exit 1; }
echo "ensure-cluster-tools: installed ZooKeeper"
