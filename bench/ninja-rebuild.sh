#!/usr/bin/env bash
# A full rebuild from a warm cache after `ninja -t clean`, side by side in
# one run: `gg ninja` (gg.cmake, the store warmed by one build) against
# `ninja` with ccache as the compiler launcher (its cache warmed the same
# way) and against plain `ninja`, on libuv1 from its Debian source package
# (441 compiles of about 220 sources, 6 links; CMake, -G Ninja,
# RelWithDebInfo). The gg and ccache rebuilds are timed 5 times each after
# a clean, alternating; medians. Plain ninja's full build, for scale, once.
# Target: gg ninja <= 0.25 s. Usage: bench/ninja-rebuild.sh [PKG]
set -euo pipefail
cd "$(dirname "$0")/.."
pkg=${1:-libuv1}
cargo build --release -q -p gg
bin=$PWD/target/release
src=$(integration/fetch-source.sh "$pkg" 2> /dev/null)
work=$(mktemp -d "${BENCH_TMP:-/var/tmp}/gg-rebuild-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
export PATH="$bin:$PATH" GG_DIR=$work/gg-store CCACHE_DIR=$work/ccache
configure() { # NAME CMAKE-FLAGS…
    local name=$1; shift
    cp -a "$src" "$work/$name"
    cmake -S "$work/$name" -B "$work/$name/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" > /dev/null 2>&1
}
configure gg -DCMAKE_PROJECT_TOP_LEVEL_INCLUDES="$PWD/cmake/gg.cmake"
configure ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache
configure plain
echo "build folders in $work; machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $pkg: $(ninja -C "$work/plain/build" -t commands | grep -c ' -c ') compiles"
gg ninja -C "$work/gg/build" > /dev/null
ninja -C "$work/ccache/build" > /dev/null
ninja -C "$work/plain/build" > /dev/null
secs() { local s e; s=$(date +%s%N); "$@" > /dev/null; e=$(date +%s%N); echo "($e - $s) / 1000000000" | bc -l; }
median() { printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"; }
declare -a g c p
for i in 1 2 3 4 5; do
    ninja -C "$work/gg/build" -t clean > /dev/null
    g+=("$(secs gg ninja -C "$work/gg/build")")
    ninja -C "$work/ccache/build" -t clean > /dev/null
    c+=("$(secs ninja -C "$work/ccache/build")")
done
ninja -C "$work/plain/build" -t clean > /dev/null
p+=("$(secs ninja -C "$work/plain/build")")
mg=$(median "${g[@]}"); mc=$(median "${c[@]}"); mp=$(median "${p[@]}")
printf 'warm rebuild after ninja -t clean: gg ninja %.3f s, ninja + ccache %.3f s (%.1fx gg), plain ninja %.2f s\n' \
    "$mg" "$mc" "$(echo "$mc / $mg" | bc -l)" "$mp"
printf '  gg runs: %s\n  ccache runs: %s\n' "${g[*]}" "${c[*]}"
ninja -C "$work/gg/build" -n | grep -q "no work to do" && echo "  after gg ninja, ninja: no work to do"
