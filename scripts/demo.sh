#!/usr/bin/env bash
# make demo: Steward end to end on this machine (see scripts/demo.ts). Needs root for zfs-fuse.
set -euo pipefail
cd "$(dirname "$0")/.."
exec node build/scripts/demo.js
