#!/usr/bin/env bash
# Prints the folder of a Debian source package, unpacked, fetching it with
# `apt-get source` the first time (deb-src entries are added to the Debian
# apt sources if missing, which needs root). Cached in $GG_DEBIAN_SRC, else
# /var/cache/gg-debian-src (or ~/.cache/gg-debian-src when that is not
# writable), one folder per package.
# Usage: integration/fetch-source.sh PACKAGE
set -euo pipefail
pkg=${1:?usage: fetch-source.sh PACKAGE}
cache=${GG_DEBIAN_SRC:-/var/cache/gg-debian-src}
mkdir -p "$cache" 2>/dev/null && [ -w "$cache" ] || cache=$HOME/.cache/gg-debian-src
mkdir -p "$cache/$pkg"
cd "$cache/$pkg"
lock=$cache/$pkg.lock
exec 9>"$lock"
flock 9
found() { find . -mindepth 1 -maxdepth 1 -type d | head -1; }
# apt runs one at a time: two packages fetched at once (or an apt-get
# build-dep meanwhile) would otherwise fail on apt's lists lock rather than
# wait for it. The machine-wide lock serialises this script's own calls;
# retrying covers any other apt run.
apt_get() {
    local try
    for try in 1 2 3 4 5 6 7 8 9 10; do
        flock /tmp/gg-fetch-source-apt.lock apt-get -o DPkg::Lock::Timeout=600 "$@" && return 0
        echo "fetch-source: apt-get $* failed (try $try), retrying" >&2
        sleep 6
    done
    return 1
}
if [ -z "$(found)" ]; then
    if ! apt-get source --print-uris -q "$pkg" >/dev/null 2>&1; then
        for f in /etc/apt/sources.list.d/*.sources; do
            [ -e "$f" ] && sed -i 's/^Types: deb$/Types: deb deb-src/' "$f"
        done
        if [ -f /etc/apt/sources.list ]; then
            sed -n 's/^deb \(.*\)/deb-src \1/p' /etc/apt/sources.list > /etc/apt/sources.list.d/gg-deb-src.list
        fi
        apt_get update -q >&2
    fi
    command -v dpkg-source >/dev/null || apt_get install -y -q dpkg-dev >&2
    apt_get source -q "$pkg" >&2
fi
dir=$(found)
[ -n "$dir" ] || { echo "fetch-source: no source folder for $pkg" >&2; exit 1; }
echo "$cache/$pkg/${dir#./}"
