#!/usr/bin/env bash
# The client's share of a fan-out: N compiles (default 5000) of a generated
# C++ project (bench/fanout-gen.py: 400 headers in 10 libraries in nested
# folders, 100 to 300 of them per compile through include chains, guards,
# `#pragma once` and `#if` branches, plus <vector>, <string>, <map>,
# <memory>), sent to one gg-worker on loopback that already holds every
# reduction, so it answers each thunk from its store and what is measured
# is the client: planning, hashing, the include scan, thunks, transfers.
#   warm-up:  a build on the remote engine has the worker compute every
#             thunk, once per front end and scan (they may make different
#             thunks: the thunks the worker ran are counted, from the
#             reductions in its store, so each warm-up shows whether its
#             thunks differ from the ones before; at N = 5000 each warm-up
#             that compiles takes about 15 minutes on 2 cores).
#             A measured run in which the worker ran any thunk is flagged.
#   gg ninja: outputs, .ninja_log and .ninja_deps removed, a fresh empty
#             client store, `gg ninja -j 64`: wall time, thunks per second
#             (compiles / wall), the client's CPU (user + sys of `gg`, with
#             its children, from /usr/bin/time), CPU ms per compile, and
#             the worker's CPU in the same time (the gg-worker process;
#             and the rest of the machine's busy CPU, client excluded: the
#             thunks, were any run, and other load; ~0 on an idle machine).
#   gg-cc:    the same through `ninja -j 64` with `gg-cc` before each
#             compile (ggcc.ninja), on N_GGCC of the compiles (default N/5:
#             a gg-cc process per compile is slower to run at full size),
#             warmed first the same way. Client CPU is the whole ninja
#             process tree (every gg-cc and what it ran, plus ninja's own
#             small share).
# Per-compile figures include the cold store's fixed cost (the toolchain,
# about 90 MB, hashed and stored once per run; by every gg-cc process that
# starts before the first has recorded it), so they fall as N grows.
# Each is run with the old include scan (`GG_SCAN=preprocessor`: `gcc -M`
# per compile) and the new one (GG_SCAN unset), REPS times each (default
# 3), alternating, every run with a fresh client store; medians (of each
# figure separately) and the old/new ratio are printed.
# Targets (2 cores): gg ninja >= 1,000 thunks per second; gg-cc <= 10 ms
# of client CPU per compile, process start included.
# Stores and project in /dev/shm. BIN=DIR uses the gg binaries in DIR
# instead of building target/release; JOBS=N sets -j (and the worker's
# slots) instead of 64; SCANS="new" runs the new scan only (each warm-up
# of the old one at N = 5000 costs some 15 minutes).
# Usage: bench/fanout.sh [N] [N_GGCC] [REPS]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-5000}
ncc=${2:-$((n / 5))}
reps=${3:-3}
jobs=${JOBS:-64}
if [ -n "${BIN:-}" ]; then
    bin=$(cd "$BIN" && pwd)
else
    cargo build --release -q -p gg
    bin=$PWD/target/release
fi
work=$(mktemp -d /dev/shm/gg-fanout-bench.XXXXXX)
cleanup() { [ -e "$work/worker.pid" ] && kill "$(cat "$work/worker.pid")" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(g++ --version | head -1); $(ninja --version 2>/dev/null | sed 's/^/ninja /')"
python3 bench/fanout-gen.py "$work/p" "$n" --launcher "$bin/gg-cc"
p=$work/p

# One worker, on loopback, with slots enough that the client is never held
# back waiting for one (warm-ups then run 64 compiles at once: harmless).
"$bin/gg-worker" serve --listen 127.0.0.1:0 --dir "$work/worker" --jobs "$jobs" > "$work/worker.out" 2>&1 &
wpid=$!
echo "$wpid" > "$work/worker.pid"
for _ in $(seq 100); do grep -q listening "$work/worker.out" 2> /dev/null && break; sleep 0.05; done
url=$(sed -n 's/^gg-worker listening on //p' "$work/worker.out")
[ -n "$url" ] || { cat "$work/worker.out"; echo "fanout: the worker did not start" >&2; exit 1; }
export GG_ENGINE=remote GG_WORKERS=$url GG_REMOTE_STRICT=1 PATH="$bin:$PATH"
unset GG_SCAN GG_LOG

# CPU seconds: of one process (its own, not its children's: the worker's
# jail keeper reaps thunks without accounting them), and of the whole
# machine (every core's busy time, from /proc/stat).
hz=$(getconf CLK_TCK)
proc_cpu() { awk -v hz="$hz" '{ sub(/^.*\) /, ""); printf "%.2f\n", ($12 + $13) / hz }' "/proc/$1/stat"; }
machine_cpu() { awk -v hz="$hz" '/^cpu / { printf "%.2f\n", ($2 + $3 + $4 + $7 + $8 + $9) / hz }' /proc/stat; }
# The object folders are made again after each clean, as CMake makes them
# at configure time: gg ninja does not make a compile thunk's output folder
# (Ninja does; seen on the tree of 2026-12-05).
# Reductions in the worker's store: one more for every thunk it ran.
reductions() { find "$work/worker/reductions" -type f 2> /dev/null | wc -l; }
clean() {
    rm -rf "$p/obj" "$p/.ninja_log" "$p/.ninja_deps"
    for d in "$p"/src/*/; do mkdir -p "$p/obj/$(basename "$d")"; done
}
check() { # COUNT LABEL: every object is there
    local got; got=$(find "$p/obj" -name '*.o' 2> /dev/null | wc -l)
    [ "$got" -eq "$1" ] || { tail -20 "$work/out" >&2; echo "fanout: $2 made $got objects of $1" >&2; exit 1; }
}
# The first N_GGCC objects, as ninja targets.
mapfile -t cctargets < <(sed -n 's/^build \(obj\/[^:]*\): cxx .*/\1/p' "$p/build.ninja" | head -n "$ncc")

# run FRONT SCAN STORE: one build from a clean tree with an empty client
# store; prints "wall client-CPU worker-CPU rest-of-machine-CPU new-reductions".
run() {
    local front=$1 scan=$2 store=$3 count
    clean
    rm -rf "$store"
    local envs=(GG_DIR="$store")
    [ "$scan" = old ] && envs+=(GG_SCAN=preprocessor)
    local cmd
    if [ "$front" = ggninja ]; then
        count=$n; cmd=(gg ninja -C "$p" -j "$jobs")
    else
        count=$ncc; cmd=(ninja -C "$p" -f ggcc.ninja -j "$jobs" "${cctargets[@]}")
    fi
    local w0 m0 r0 s e w1 m1 u sy
    w0=$(proc_cpu "$wpid"); m0=$(machine_cpu); r0=$(reductions)
    s=$(date +%s%N)
    env "${envs[@]}" /usr/bin/time -o "$work/time" -f "%U %S" "${cmd[@]}" > "$work/out" 2>&1 \
        || { tail -20 "$work/out" >&2; echo "fanout: $front ($scan scan) failed" >&2; exit 1; }
    e=$(date +%s%N)
    w1=$(proc_cpu "$wpid"); m1=$(machine_cpu)
    check "$count" "$front ($scan scan)"
    read -r u sy < <(tail -1 "$work/time")  # on failure, time prints a line before
    # wall, client CPU, worker CPU, the rest of the machine's CPU, and the
    # reductions the worker had to make (0 once warm)
    echo "$s $e $u $sy $w0 $w1 $m0 $m1 $(( $(reductions) - r0 ))" | awk '{ c = $3 + $4; w = $6 - $5
        printf "%.3f %.2f %.2f %.2f %d\n", ($2 - $1) / 1e9, c, w, ($8 - $7) - c - w, $9 }'
}

warm() { # FRONT SCAN
    local r; r=$(run "$1" "$2" "$work/warm-$1-$2")
    read -r wall _ wown wrest made <<< "$r"
    printf '  warm-up %-8s %-4s scan: %7.2f s wall; the worker ran %d thunks; CPU s: worker %.2f, rest of the machine (compiles) %.2f\n' \
        "$1" "$2" "$wall" "$made" "$wown" "$wrest"
}
echo "warming the worker ($url, --jobs $jobs):"
scans=${SCANS:-old new}
for front in ggninja ggcc; do
    for scan in $scans; do
        warm "$front" "$scan"
    done
done

for r in $(seq "$reps"); do
    for front in ggninja ggcc; do
        for scan in $scans; do
            run "$front" "$scan" "$work/client" >> "$work/$front-$scan"
            echo "  run $r $front $scan: $(tail -1 "$work/$front-$scan")" >&2
            made=$(tail -1 "$work/$front-$scan" | awk '{ print $5 }')
            [ "$made" -eq 0 ] || echo "  WARNING: the worker ran $made thunks it did not hold: not a warm-worker figure" >&2
        done
    done
done

median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
col() { awk -v c="$2" '{ print $c }' "$work/$1" | median; }
echo
printf 'medians of %d runs; cold client store, warm worker, -j %d\n' "$reps" "$jobs"
printf '%-34s %5s %8s %9s %10s %11s %12s %12s\n' "front end" scan compiles "wall s" "thunks/s" "client CPU s" "CPU ms/compile" "worker+rest CPU s"
declare -A per
for front in ggninja ggcc; do
    for scan in $scans; do
        f=$front-$scan
        if [ "$front" = ggninja ]; then label="gg ninja"; count=$n; else label="ninja + gg-cc (whole ninja tree)"; count=$ncc; fi
        wall=$(col "$f" 1); cpu=$(col "$f" 2); wown=$(col "$f" 3); wrest=$(col "$f" 4)
        per[$f]=$(echo "$cpu * 1000 / $count" | bc -l)
        printf '%-34s %5s %8d %9.2f %10.0f %11.2f %12.2f %9.2f+%.2f\n' "$label" "$scan" "$count" "$wall" \
            "$(echo "$count / $wall" | bc -l)" "$cpu" "${per[$f]}" "$wown" "$wrest"
    done
done
echo "(worker CPU: the gg-worker process + the rest of the machine's busy CPU, client excluded: thunks, if any, and other load;"
echo " scan old = GG_SCAN=preprocessor, new = GG_SCAN unset)"
for front in ggninja ggcc; do
    [ "$scans" = "old new" ] || break
    [ "$front" = ggninja ] && label="gg ninja" || label="gg-cc"
    printf 'client CPU per compile, old scan / new scan: %-8s %.2fx; thunks per second new / old: %.2fx\n' "$label" \
        "$(echo "${per[$front-old]} / ${per[$front-new]}" | bc -l)" \
        "$(echo "$(col "$front-old" 1) / $(col "$front-new" 1)" | bc -l)"
done
