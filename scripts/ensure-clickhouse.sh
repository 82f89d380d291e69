#!/bin/sh
# ensure-clickhouse.sh: make sure a clickhouse-server binary is installed, for
# earshot's managed local server and its tests. Idempotent: does nothing when
# one is found. On Debian/Ubuntu it installs the distribution's package
# (ClickHouse 18.16 on Debian 12), which earshot supports; elsewhere it says
# what to install.
#
# The package's postinst may try to start a system service; policy-rc.d may
# deny that, and either way earshot never uses it: it runs its own server
# with a generated config in its data directory.
set -eu

found() {
	if command -v clickhouse-server >/dev/null 2>&1; then
		echo "ensure-clickhouse: found $(command -v clickhouse-server)"
		return 0
	fi
	if [ -x /usr/sbin/clickhouse-server ]; then
		echo "ensure-clickhouse: found /usr/sbin/clickhouse-server"
		return 0
	fi
	if command -v clickhouse >/dev/null 2>&1; then
		echo "ensure-clickhouse: found $(command -v clickhouse) (run as \"clickhouse server\")"
		return 0
	fi
	return 1
}

if found; then
	exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
	cat >&2 <<'MSG'
ensure-clickhouse: clickhouse-server is not installed and this is not a Debian/Ubuntu system.
Install ClickHouse (https://clickhouse.com/docs/en/install, any release from 18.16 on) so that
clickhouse-server, or the single "clickhouse" binary, is on PATH; or point earshot at a running
server with clickhouse.addr (tests: EARSHOT_TEST_CLICKHOUSE_ADDR).
MSG
	exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO="sudo"
	else
		echo "ensure-clickhouse: not root and no sudo: run as root: apt-get update && apt-get install -y clickhouse-server" >&2
		exit 1
	fi
fi

echo "ensure-clickhouse: installing clickhouse-server with apt-get" >&2
# Update the package lists only when the package is not known yet, so a
# second run, or a machine with fresh lists, does not fetch them again.
# Lists known but stale (a 404 on download): update once and try again.
install() { $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends clickhouse-server; }
if ! apt-cache show clickhouse-server >/dev/null 2>&1; then
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update
	install
elif ! install; then
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update
	install
fi

if found; then
	exit 0
fi
echo "ensure-clickhouse: apt-get install succeeded but no clickhouse-server binary was found" >&2
exit 1
