#!/usr/bin/env bash
# Prepares this Linux machine for Steward's integration tests: installs the Debian packages
# they use and starts the zfs-fuse daemon. Idempotent; run as root (CI is).
#   scripts/test-host.sh setup    install what is missing, start zfs-fuse
set -euo pipefail

# tzdata: the signature differential test runs ssh-keygen with TZ=Asia/Tokyo and Europe/Berlin.
# nftables (and iproute2): the network policy's real-packet tests in network namespaces.
# age: the backup tests encrypt remote copies with it (as the nodes do); sanoid: the backup
# benchmark's baseline (sanoid and syncoid); pv: slows a test's send down to watch its progress.
PACKAGES=(git openssh-client openssh-server zfs-fuse ansible iproute2 nftables fuse tzdata time age sanoid pv)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "test-host: missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
  echo "test-host: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Keep the packages' postinst scripts from starting system daemons (sshd on port 22, zfs-fuse):
  # the tests start their own, on loopback. policy-rc.d exit 101 = "action forbidden".
  policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# zfs-fuse: one daemon per host. Start it unless its socket answers.
if [ "$(id -u)" -eq 0 ]; then
  if ! zpool list >/dev/null 2>&1; then
    [ -e /dev/fuse ] || { echo "test-host: /dev/fuse is missing: zfs-fuse cannot run here" >&2; exit 1; }
    pkill -x zfs-fuse 2>/dev/null || true
    # A stale pidfile makes zfs-fuse exit 1 without a word; so does a stale lock.
    rm -f /run/zfs-fuse.pid /var/run/zfs/zfs_socket /var/lock/zfs/zfs_lock
    zfs-fuse --pidfile /run/zfs-fuse.pid
    for _ in $(seq 100); do zpool list >/dev/null 2>&1 && break; sleep 0.1; done
    zpool list >/dev/null 2>&1 || { echo "test-host: zfs-fuse did not come up" >&2; exit 1; }
  fi
  mkdir -p /run/sshd
fi
