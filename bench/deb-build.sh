#!/usr/bin/env bash
# Benchmark: a Debian package built with `dpkg-buildpackage -b` as a
# package builder builds it (DEB_BUILD_OPTIONS=nocheck parallel=2), side by
# side in one run, each from a fresh copy of the source at the same path:
#   plain; gg-cc from a masquerade folder with an empty cache (cold), then
#   warm; for a meson or CMake package, `gg ninja` through the ninja shim
#   (GG_NINJA=1) cold and warm; ccache cold and warm (its masquerade folder
#   /usr/lib/ccache first on PATH; meson also finds ccache by itself).
# Every route's .debs are compared with the plain build's. Each figure is
# the median of ROUNDS rounds (wall seconds of the whole dpkg-buildpackage);
# ratios are against the plain build.
# Usage: bench/deb-build.sh [PACKAGE] [ROUNDS]  (default libdrm 3; needs
# root for the build dependencies, and ccache)
set -euo pipefail
cd "$(dirname "$0")/.."
pkg=${1:-libdrm}
rounds=${2:-3}
cargo build --release -q -p gg
bin=$PWD/target/release
src=$(integration/fetch-source.sh "$pkg")
(cd "$src" && dpkg-checkbuilddeps 2>/dev/null) || DEBIAN_FRONTEND=noninteractive apt-get build-dep -y -q "$pkg" > /dev/null
command -v ccache > /dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q ccache > /dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$bin/gg" masquerade-dir "$work/masq" > /dev/null
"$bin/gg" install-ninja-shim "$work/shim" > /dev/null
ninja_pkg=
grep -qE 'meson|cmake' "$src/debian/control" && ninja_pkg=1
base_path=$bin:$PATH
# build ROUTE: a fresh copy, then dpkg-buildpackage with the route's PATH
# and environment; prints the wall seconds and keeps the .debs in $work/ROUTE.
build() {
    # ccache takes CCACHE_DISABLE set to anything, even empty, as "disable".
    local route=$1 path=$base_path env=(CCACHE_DISABLE=1)
    case $route in
        gg-cc*) path=$work/masq:$base_path ;;
        gg-ninja*) path=$work/shim:$base_path env+=(GG_NINJA=1) ;;
        ccache*) path=/usr/lib/ccache:$base_path env=(-u CCACHE_DISABLE) ;;
    esac
    rm -rf "$work/build" "$work/$route"
    mkdir -p "$work/build" "$work/$route"
    cp -a "$src" "$work/build/"
    local s e
    s=$(date +%s%N)
    (cd "$work/build/$(basename "$src")" && env -u GG_NINJA "${env[@]}" PATH="$path" \
        DEB_BUILD_OPTIONS="nocheck parallel=2" dpkg-buildpackage -b -us -uc > "$work/$route.log" 2>&1) ||
        { tail -30 "$work/$route.log" >&2; exit 1; }
    e=$(date +%s%N)
    mv "$work"/build/*.deb "$work/$route/"
    if [ "$route" != plain ]; then
        for d in "$work"/plain/*.deb; do
            cmp -s "$d" "$work/$route/$(basename "$d")" || { echo "$route: $(basename "$d") differs from plain" >&2; exit 1; }
        done
    fi
    echo "($e - $s) / 1000000000" | bc -l
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
routes="plain gg-cc-cold gg-cc-warm ccache-cold ccache-warm"
[ -n "$ninja_pkg" ] && routes="plain gg-cc-cold gg-cc-warm gg-ninja-cold gg-ninja-warm ccache-cold ccache-warm"
for r in $routes; do : > "$work/$r.times"; done
for round in $(seq "$rounds"); do
    rm -rf "$work/gg" "$work/gg-ninja-store" "$work/ccache"
    line="round $round:"
    for r in $routes; do
        case $r in
            gg-ninja*) export GG_DIR=$work/gg-ninja-store ;;
            *) export GG_DIR=$work/gg ;;
        esac
        export CCACHE_DIR=$work/ccache
        build "$r" >> "$work/$r.times"
        line="$line $r $(printf %.2f "$(tail -1 "$work/$r.times")")"
    done
    echo "$line" >&2
done
p=$(median < "$work/plain.times")
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(ccache --version | head -1); $(basename "$src"), dpkg-buildpackage -b, median of $rounds; every .deb identical to plain"
ccache -s 2>/dev/null | grep -iE "hits|misses" | head -4 | sed 's/^/ccache (last round): /'
for r in $routes; do
    m=$(median < "$work/$r.times")
    printf '%-16s %6.2f s  %5.2fx plain\n' "$r" "$m" "$(echo "$m / $p" | bc -l)"
done
