#!/usr/bin/env bash
# Benchmarks of the remote engine against gg-workers on loopback, stores in
# /dev/shm (what the protocol and engine cost, not the disk):
#   burst:  N thunks that each sleep 1 s, `gg force -j N`, 2 workers with
#           N/2 slots each. Target (N = 1000): <= 1.5 s wall. The thunk's
#           function is bench/sleeper.c built static without the C library (one
#           exec, no startup code); the same burst with `sh -c "sleep 1; echo"`
#           (two dynamically linked processes per thunk) is shown too.
#           Also printed: when the last thunk started, and the CPU seconds
#           of the client, the workers and the thunks themselves.
#   upload: 1000 blobs of 50 KB sent to one worker (a thunk with 1000
#           inputs, forced once: the upload dominates). Target: <= 0.3 s.
#   round trip: 200 trivial thunks one after another (-j 1) on one worker,
#           against the same on the local engine; the difference is the
#           protocol's cost per thunk. Target: <= 1 ms.
# Workers jail every thunk, as by default; `--no-jail` as the second
# argument runs them without, for the difference.
# Usage: bench/remote.sh [N] [--no-jail]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000}
flags=(${2:+"$2"})
cargo build --release -q -p gg
bin=$PWD/target/release
work=$(mktemp -d /dev/shm/gg-remote-bench.XXXXXX)
cleanup() { for p in "$work"/*.pid; do [ -e "$p" ] && kill "$(cat "$p")" 2>/dev/null; done; rm -rf "$work"; }
trap cleanup EXIT
worker() { # DIR JOBS -> prints URL
    "$bin/gg-worker" serve --listen 127.0.0.1:0 --dir "$work/$1" --jobs "$2" "${flags[@]}" > "$work/$1.out" 2>&1 &
    echo $! > "$work/$1.pid"  # $(worker …) runs in a subshell: keep the pid in a file
    for _ in $(seq 100); do grep -q listening "$work/$1.out" 2>/dev/null && break; sleep 0.05; done
    sed -n 's/^gg-worker listening on //p' "$work/$1.out"
}
secs() { local s e; s=$(date +%s%N); "$@" > /dev/null 2>> "$work/err"; e=$(date +%s%N); echo "($e - $s) / 1000000000" | bc -l; }
mk() { # SCRIPT [ARGS…] -> thunk name
    local script=$1; shift
    "$bin/gg" create-thunk --function /bin/sh=bin/sh --output out "$@" -- sh -c "$script"
}
export GG_DIR=$work/client
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); workers: ${flags[*]:-jailed}"

# Burst.
gcc -O2 -static -nostdlib -ffreestanding -fno-stack-protector -o "$work/sleeper" bench/sleeper.c
cpu() { awk '{printf "%.2f %.2f", ($14 + $15) / 100, ($16 + $17) / 100}' "/proc/$1/stat"; }
burst() { # LABEL FUNCTION-OBJECT ARGS-PREFIX…
    local label=$1 fn=$2; shift 2
    local w1 w2 p1 p2 start
    w1=$(worker "$label-1" $((n / 2))); w2=$(worker "$label-2" $((n / 2)))
    p1=$(cat "$work/$label-1.pid"); p2=$(cat "$work/$label-2.pid")
    seq "$n" | xargs -P 2 -I{} "$bin/gg" create-thunk --function "$fn" --output out -- "$@" {} > "$work/$label.list"
    start=$(date +%s.%N)
    # shellcheck disable=SC2046
    GG_ENGINE=remote GG_WORKERS=$w1,$w2 GG_REMOTE_STRICT=1 /usr/bin/time -o "$work/$label.time" -f "%U %S" \
        "$bin/gg" force -j "$n" $(cat "$work/$label.list") > "$work/$label.values" 2>> "$work/err"
    local end; end=$(date +%s.%N)
    read -r w1cpu w1kids <<< "$(cpu "$p1")"; read -r w2cpu w2kids <<< "$(cpu "$p2")"
    read -r cu cs < "$work/$label.time"
    printf 'burst (%s): %d thunks of sleep 1 s, -j %d, 2 workers: %.2f s wall\n' "$label" "$n" "$n" "$(echo "$end - $start" | bc -l)"
    printf '    CPU seconds: client %.2f, workers %.2f, thunk processes %.2f\n' \
        "$(echo "$cu + $cs" | bc -l)" "$(echo "$w1cpu + $w2cpu" | bc -l)" "$(echo "$w1kids + $w2kids" | bc -l)"
}
# The sleeper writes its argument to `out` after sleeping.
burst sleeper "$work/sleeper=bin/sleeper" sleeper 1
burst sh /bin/sh=bin/sh sh -c 'sleep 1; echo "$0" > out'

# Upload.
w3=$(worker upload 2)
mkdir -p "$work/files"
args=()
for i in $(seq 1000); do head -c 51200 /dev/urandom > "$work/files/f$i"; args+=(--value "$work/files/f$i=in/f$i"); done
big=$(mk "ls in | wc -l > out" "${args[@]}")
t=$(GG_ENGINE=remote GG_WORKERS=$w3 GG_REMOTE_STRICT=1 secs "$bin/gg" force "$big")
printf 'upload: 1000 blobs of 50 KB to one worker, then the thunk using them: %.3f s\n' "$t"

# Round trip.
w4=$(worker trip 1)
: > "$work/trip.list"
for i in $(seq 200); do mk "echo $i > out" >> "$work/trip.list"; done
# shellcheck disable=SC2046
GG_ENGINE=remote GG_WORKERS=$w4 "$bin/gg" force "$(head -1 "$work/trip.list")" > /dev/null 2>&1
rm -rf "$work/client/reductions" "$work/trip-local"
# shellcheck disable=SC2046
remote=$(GG_ENGINE=remote GG_WORKERS=$w4 GG_REMOTE_STRICT=1 secs "$bin/gg" force -j 1 $(tail -n +2 "$work/trip.list"))
rm -rf "$work/client/reductions"
# shellcheck disable=SC2046
local=$(secs "$bin/gg" force -j 1 $(tail -n +2 "$work/trip.list"))
printf 'round trip: 199 trivial thunks, -j 1: remote %.2f ms, local %.2f ms per thunk; protocol %.2f ms per thunk\n' \
    "$(echo "$remote * 1000 / 199" | bc -l)" "$(echo "$local * 1000 / 199" | bc -l)" "$(echo "($remote - $local) * 1000 / 199" | bc -l)"
