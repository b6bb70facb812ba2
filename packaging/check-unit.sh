#!/bin/bash
# `make test` step: systemd-analyze verify of ferrule.service, offline. The unit's ExecStart
# path is pointed at the source tree's ferrule-boot (verify checks that commands exist), and
# man page links are not followed. verify exits 0 on many errors ("Unknown key ... ignoring"),
# so any output fails the check.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
command -v systemd-analyze >/dev/null || { echo "systemd-analyze not installed"; exit 1; }
d=$(mktemp -d); trap 'rm -rf "$d"' EXIT
sed "s|/usr/lib/ferrule/ferrule-boot|$here/ferrule-boot|g" "$here/systemd/ferrule.service" > "$d/ferrule.service"
bash -n "$here/ferrule-boot"
out=$(systemd-analyze verify --man=no "$d/ferrule.service" 2>&1) || { echo "$out"; exit 1; }
if [ -n "$out" ]; then echo "$out"; exit 1; fi
echo "ferrule.service: verified"
