#!/bin/sh
# ensure-test-tools.sh: install what `make test` needs besides ClickHouse:
# promtool (Debian package prometheus) to check and unit-test the alert rules.
# Idempotent; installs nothing when promtool is on PATH.
set -eu
if command -v promtool >/dev/null 2>&1; then
	echo "ensure-test-tools: found $(command -v promtool)"
	exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
	echo "ensure-test-tools: promtool is missing: install Prometheus's promtool (https://prometheus.io/download/) so it is on PATH" >&2
	exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
		echo "ensure-test-tools: not root and no sudo: run as root: apt-get install -y prometheus" >&2
		exit 1
	fi
fi
# The package's service is never used; policy-rc.d may refuse to start it.
if ! $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus; then
	$SUDO apt-get update
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus
fi
command -v promtool >/dev/null 2>&1 || { echo "ensure-test-tools: prometheus installed but promtool is not on PATH" >&2; exit 1; }
echo "ensure-test-tools: installed $(command -v promtool)"
