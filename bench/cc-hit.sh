#!/usr/bin/env bash
# Benchmark: one cache-hit compile call, gg-cc against ccache (and the plain
# compile for scale), side by side on the same source in one run. Each
# figure is the median over 5 rounds of the mean of N calls.
# Target: a gg-cc hit <= 5 ms, and faster than ccache's.
# Usage: bench/cc-hit.sh [N]   (needs ccache: apt-get install ccache)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100}
cargo build --release -q -p gg
ggcc=$PWD/target/release/gg-cc
command -v ccache >/dev/null || { echo "ccache is not installed" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
cat > m.c <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(int argc, char **argv) { printf("%zu\n", strlen(argc > 1 ? argv[1] : "")); return 0; }
C
touch -d '1 hour ago' m.c
export GG_DIR=$work/gg CCACHE_DIR=$work/ccache
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
per_call() {
    for _ in 1 2 3 4 5; do
        local s e
        s=$(date +%s%N)
        for _ in $(seq "$n"); do "$@" > /dev/null; done
        e=$(date +%s%N)
        echo "($e - $s) / $n / 1000000" | bc -l
    done | median
}
"$ggcc" gcc -O2 -c m.c -o g.o -MD
ccache gcc -O2 -c m.c -o c.o -MD
gg=$(per_call "$ggcc" gcc -O2 -c m.c -o g.o -MD)
cc=$(per_call ccache gcc -O2 -c m.c -o c.o -MD)
plain=$(per_call gcc -O2 -c m.c -o p.o -MD)
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(ccache --version | head -1)"
printf 'gg-cc hit:  %.2f ms per call\n' "$gg"
printf 'ccache hit: %.2f ms per call (%.1fx gg-cc)\n' "$cc" "$(echo "$cc / $gg" | bc -l)"
printf 'plain gcc:  %.2f ms per call\n' "$plain"
