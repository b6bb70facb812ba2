#!/usr/bin/env bash
# Build the `ferrule` CLI (debug, --locked) and copy it to build/bin/ferrule, where VM tests
# find it (the guest sees the repository, not the host's environment or cargo target dir).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --locked -p ferrule
tdir=$(cargo metadata -q --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
mkdir -p build/bin
install -m 0755 "$tdir/debug/ferrule" build/bin/ferrule
echo "$PWD/build/bin/ferrule"
