#!/bin/sh
# ensure-test-tools.sh: install what `make test` needs besides ClickHouse:
# promtool (Debian package prometheus) to check and unit-test the alert rules,
# and headless Chromium (Debian package chromium) for the console's browser
# test. Idempotent; installs nothing when both are on PATH.
set -eu
need=""
if command -v promtool >/dev/null 2>&1; then
	echo "ensure-test-tools: found $(command -v promtool)"
else
	need="$need prometheus"
fi
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
	echo "ensure-test-tools: found $(command -v chromium || command -v chromium-browser)"
else
	need="$need chromium"
fi
if [ -z "$need" ]; then
	exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
	echo "ensure-test-tools: missing:$need: install Prometheus's promtool (https://prometheus.io/download/) and Chromium so they are on PATH" >&2
	exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
		echo "ensure-test-tools: not root and no sudo: run as root: apt-get install -y$need" >&2
		exit 1
	fi
fi
# The prometheus package's service is never used; policy-rc.d may refuse to start it.
# shellcheck disable=SC2086
if ! $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $need; then
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update
	# shellcheck disable=SC2086
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $need
fi
command -v promtool >/dev/null 2>&1 || { echo "ensure-test-tools: prometheus installed but promtool is not on PATH" >&2; exit 1; }
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { echo "ensure-test-tools: chromium installed but not on PATH" >&2; exit 1; }
echo "ensure-test-tools: installed$need"
