#!/usr/bin/env bash
# Benchmark: blake3 hashing of a large file by `gg hash`, pinned to one
# core, with sha256sum on the same file as a reference point.
# Target: >= 1 GB/s on one core. The file lives in /dev/shm (RAM) so the
# figure is the hashing speed, not the disk's.
# Usage: bench/hash.sh [SIZE_MIB] [RUNS]   (needs a release build of gg)
set -euo pipefail
cd "$(dirname "$0")/.."
size_mib=${1:-1024}
runs=${2:-5}
cargo build --release -q -p gg
gg=$PWD/target/release/gg
dir=$(mktemp -d /dev/shm/gg-hash-bench.XXXXXX)
trap 'rm -rf "$dir"' EXIT
head -c "$((size_mib * 1024 * 1024))" /dev/urandom > "$dir/big"

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
time_runs() {
    for _ in $(seq "$runs"); do
        local start end
        start=$(date +%s.%N)
        taskset -c 0 "$@" "$dir/big" > /dev/null
        end=$(date +%s.%N)
        echo "$end - $start" | bc -l
    done | median
}

gg_s=$(time_runs "$gg" hash)
sha_s=$(time_runs sha256sum)
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
printf 'file: %d MiB in /dev/shm, %d runs, one core (taskset -c 0), medians\n' "$size_mib" "$runs"
printf 'gg hash (blake3): %.3f s = %.2f GB/s\n' "$gg_s" "$(echo "$size_mib * 1.048576 / 1000 / $gg_s" | bc -l)"
printf 'sha256sum:        %.3f s = %.2f GB/s\n' "$sha_s" "$(echo "$size_mib * 1.048576 / 1000 / $sha_s" | bc -l)"
