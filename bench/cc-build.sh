#!/usr/bin/env bash
# Benchmark: a real ~200-file C project (GNU bash from its Debian source
# package, 188 objects) built with make -j2, side by side in one run:
#   plain gcc; gg-cc with an empty cache (cold); ccache with an empty cache;
#   then after `make clean`, gg-cc and ccache again with warm caches.
# Each figure is the median of ROUNDS rounds (wall seconds); ratios are
# against the plain build. Targets: gg cold <= 1.05x plain; gg warm faster
# than ccache warm.
# Usage: bench/cc-build.sh [ROUNDS]   (needs ccache; fetches bash's source)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
# shellcheck source=bench/bash-tree.sh
. bench/bash-tree.sh
: > plain; : > ggcold; : > cccold; : > ggwarm; : > ccwarm
for r in $(seq "$rounds"); do
    rm -rf "$work/gg" "$work/ccache"
    export GG_DIR=$work/gg CCACHE_DIR=$work/ccache
    build gcc >> plain
    build gg-cc >> ggcold
    build "ccache gcc" >> cccold
    build gg-cc >> ggwarm
    build "ccache gcc" >> ccwarm
    echo "round $r: plain $(tail -1 plain) gg-cold $(tail -1 ggcold) ccache-cold $(tail -1 cccold) gg-warm $(tail -1 ggwarm) ccache-warm $(tail -1 ccwarm)" >&2
done
p=$(median < plain)
report() { local m; m=$(median < "$2"); printf '%-22s %6.2f s  %5.2fx plain\n' "$1" "$m" "$(echo "$m / $p" | bc -l)"; }
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(ccache --version | head -1); bash $(basename "$PWD"), $(find . -name '*.o' | wc -l) objects, make -j2, median of $rounds"
report "plain gcc" plain
report "gg-cc, cold cache" ggcold
report "ccache, cold cache" cccold
report "gg-cc, warm cache" ggwarm
report "ccache, warm cache" ccwarm
printf 'warm rebuild: ccache takes %.2fx as long as gg-cc\n' "$(echo "$(median < ccwarm) / $(median < ggwarm)" | bc -l)"
