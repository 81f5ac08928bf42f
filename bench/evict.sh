#!/usr/bin/env bash
# Benchmark: a build that stores more than the store may hold. GNU bash
# from its Debian source package (188 objects), make -j2, side by side in
# one run, each round from empty caches:
#   plain gcc;
#   gg-cc with no limit (GG_MAX_SIZE=0): the wall time and what the store
#     then holds (S, bytes on disk of its cache entries);
#   gg-cc with GG_MAX_SIZE = S/3: the wall time, the store's size at the
#     end (must be within the limit), and the objects compared with the
#     plain build's (must be identical);
#   gg-cc again after `make clean` with that limited store: wall time and
#     direct hits (what the limit kept: least recently used first, a
#     rebuild in the same order evicts entries before it reaches them);
#   with ccache installed, ccache with the same limit (`max_size`), cold
#     and warm, for comparison.
# Medians of ROUNDS rounds; ratios against plain.
# Usage: bench/evict.sh [ROUNDS]   (fetches bash's source)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
# shellcheck source=bench/bash-tree.sh
. bench/bash-tree.sh
# Bytes on disk of the store's cache entries (what the limit counts).
cache_bytes() {
    local total=0 d
    for d in blobs exec reductions manifests scan; do
        [ -d "$1/$d" ] || continue
        total=$((total + $(find "$1/$d" -mindepth 2 -maxdepth 2 -type f -printf '%b\n' | awk '{s += $1 * 512} END {print s + 0}')))
    done
    echo "$total"
}
objects() { find . -name '*.o' -printf '%P\n' | sort | while read -r o; do sha256sum "$o"; done; }
hits() { gg stats | awk '/^  direct hits/ {print $3}'; }
have_ccache=$(command -v ccache || true)
: > plain; : > free; : > limited; : > warm; : > end; : > wh; : > ccold; : > ccwarm
for r in $(seq "$rounds"); do
    build gcc >> plain
    objects > "$work/plain.sums"
    rm -rf "$work/gg"
    export GG_DIR=$work/gg
    GG_MAX_SIZE=0 build gg-cc >> free
    size=$(cache_bytes "$work/gg")
    limit=$((size / 3))
    rm -rf "$work/gg"
    GG_MAX_SIZE=$limit build gg-cc >> limited
    objects | cmp -s - "$work/plain.sums" || { echo "evict: objects differ from the plain build's" >&2; exit 1; }
    cache_bytes "$work/gg" >> end
    [ "$(tail -1 end)" -le "$limit" ] || { echo "evict: the store ended at $(tail -1 end) bytes, over $limit" >&2; exit 1; }
    gg stats --zero > /dev/null
    GG_MAX_SIZE=$limit build gg-cc >> warm
    hits >> wh
    objects | cmp -s - "$work/plain.sums" || { echo "evict: warm objects differ from the plain build's" >&2; exit 1; }
    if [ -n "$have_ccache" ]; then
        rm -rf "$work/ccache"
        export CCACHE_DIR=$work/ccache
        ccache -M "$((limit / 1024))K" > /dev/null
        build "ccache gcc" >> ccold
        build "ccache gcc" >> ccwarm
    fi
    echo "round $r: plain $(tail -1 plain) gg-unlimited $(tail -1 free) (store $size B) gg-limited $(tail -1 limited) (limit $limit B, end $(tail -1 end) B) warm $(tail -1 warm) ($(tail -1 wh) hits)" >&2
done
p=$(median < plain)
report() { local m; m=$(median < "$2"); printf '%-34s %6.2f s  %5.2fx plain\n' "$1" "$m" "$(echo "$m / $p" | bc -l)"; }
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); bash $(basename "$PWD"), $(find . -name '*.o' | wc -l) objects, make -j2, median of $rounds"
report "plain gcc" plain
report "gg-cc, cold, no limit" free
report "gg-cc, cold, limit a third of that" limited
report "gg-cc, warm, same limit" warm
if [ -n "$have_ccache" ]; then
    report "ccache, cold, same limit" ccold
    report "ccache, warm, same limit" ccwarm
fi
printf 'store at the end of the limited cold build: %s bytes (limit %s); direct hits on the warm rebuild: %s of %s\n' \
    "$(median < end)" "$limit" "$(median < wh)" "$(find . -name '*.o' | wc -l)"
