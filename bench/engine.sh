#!/usr/bin/env bash
# Benchmark: local engine overhead. N independent thunks of a trivial
# static function (it writes its argument to its one output), forced in one
# `gg force -j <cores>`: wall time per thunk, end to end (sandbox, spawn,
# hashing and storing the output, recording the reduction). Then the same
# force again, answered from the cache.
# Target: <= 1 ms per thunk. Run once with the store in /dev/shm (what the
# engine costs) and once on the disk under the repo (what this disk adds).
# Each store is measured with plain sandboxes and with every thunk in the
# jail (GG_SANDBOX=strict, as on a worker), one after the other.
# Usage: bench/engine.sh [N]   (needs gcc with static libc)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000}
cargo build --release -q -p gg
gg=$PWD/target/release/gg
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/fn.c" <<'C'
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv) {
    int fd = open("out", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || argc < 2) return 1;
    if (write(fd, argv[1], strlen(argv[1])) < 0) return 1;
    return close(fd);
}
C
gcc -O2 -static -o "$work/fn" "$work/fn.c"

run() {
    local label=$1 store=$2
    GG_SANDBOX=plain run1 "$label plain" "$store"
    GG_SANDBOX=strict run1 "$label jail" "$store"
}

run1() {
    local label=$1 store=$2
    rm -rf "$store"
    export GG_DIR=$store
    local fn
    fn=$("$gg" put "$work/fn" | cut -d' ' -f1)
    seq "$n" | xargs -P "$(nproc)" -I{} "$gg" create-thunk --function "$fn=fn" --output out -- fn "thunk {}" > "$work/names"
    local start end cold warm
    start=$(date +%s.%N)
    # One invocation for all targets (xargs would split the list).
    # shellcheck disable=SC2046
    "$gg" force -j "$(nproc)" $(cat "$work/names") > /dev/null 2> "$work/log"
    end=$(date +%s.%N)
    cold=$(echo "$end - $start" | bc -l)
    grep -q "$n thunk(s) ran" "$work/log" || { cat "$work/log"; exit 1; }
    start=$(date +%s.%N)
    # One invocation for all targets (xargs would split the list).
    # shellcheck disable=SC2046
    "$gg" force -j "$(nproc)" $(cat "$work/names") > /dev/null 2> "$work/log"
    end=$(date +%s.%N)
    warm=$(echo "$end - $start" | bc -l)
    grep -q "$n answered from the cache" "$work/log" || { cat "$work/log"; exit 1; }
    printf '%-34s %d thunks: %.2f s = %.3f ms/thunk; again from cache: %.2f s = %.3f ms/thunk\n' \
        "$label" "$n" "$cold" "$(echo "$cold * 1000 / $n" | bc -l)" "$warm" "$(echo "$warm * 1000 / $n" | bc -l)"
    rm -rf "$store"
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), -j $(nproc)"
run "store in /dev/shm (RAM):" "/dev/shm/gg-engine-bench.$$"
run "store on disk ($(df --output=fstype . | tail -1)):" "$PWD/target/gg-engine-bench.$$"
