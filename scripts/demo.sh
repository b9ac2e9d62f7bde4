#!/usr/bin/env bash
# make demo: a git server and three nodes on this machine (see scripts/demo.ts). Needs root for
# zfs-fuse and network namespaces.
set -euo pipefail
cd "$(dirname "$0")/.."
exec node build/scripts/demo.js
