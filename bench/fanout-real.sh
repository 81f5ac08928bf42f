#!/usr/bin/env bash
# The include scan on a real project, old against new: libuv1 from its
# Debian source package (CMake, -G Ninja, Release, tests and benchmarks
# off: 74 compiles, the static and the shared library), side by side in
# one run, REPS times each (default 3), alternating; medians.
#   remote: one gg-worker on loopback, warmed first by a build of each
#           kind below (so it answers every thunk from its reductions;
#           each warm-up prints how many thunks the worker ran, so one that
#           runs some shows its kind makes other thunks than those before,
#           and a measured run in which the worker ran any is flagged);
#           then each build from a clean tree (`ninja -t clean`, and
#           .ninja_log and .ninja_deps removed, so nothing is known of the
#           headers) with a fresh, empty client store, -j 64:
#             `gg ninja`, old scan (GG_SCAN=preprocessor: `gcc -M` per
#             compile) and new (GG_SCAN unset);
#             `ninja` in a second build folder configured with
#             CMAKE_C_COMPILER_LAUNCHER=gg-cc, old and new;
#             and each with the new scan and a client store that has met
#             the toolchain before ("known": one compile of an empty file
#             with its inputs stored, nothing of the project), as on a
#             machine that used gg once: the empty store's figure carries
#             discovering and storing the 90 MB toolchain;
#             and "again": the store the previous "known" build left
#             (toolchain, blobs, directive entries and the facts index)
#             with its manifests and reductions removed, so every compile
#             is still a miss that is scanned and sent, as after a pull
#             that changes a header every compile includes.
#           With perf installed, the ninja + gg-cc builds also run in a
#           third build folder whose launcher runs gg-cc under `perf stat
#           -e task-clock`: the CPU of the gg-cc processes alone, median
#           per process ("gg-cc alone"; the whole-tree figure also holds
#           ninja, the archive and link steps, and the compiler probes
#           CMake's launcher makes nothing of).
#           Client CPU is user + sys of the `gg` or `ninja` process tree
#           (/usr/bin/time), so for ninja + gg-cc it includes ninja itself
#           and the link and archive steps it runs here (gg ninja sends
#           those to the worker too); per compile: divided by the compiles.
#   local:  the default local engine, cold store, -j (cores + 2): plain
#           `ninja` against `gg ninja` (old and new scan), wall and CPU, and
#           the ratio gg / plain. Target: <= 1.03x wall.
# Every build must leave every object, libuv.so and libuv_a.a, or the
# script stops. Build folders and stores in /dev/shm. BIN=DIR uses the gg
# binaries in DIR instead of building target/release; JOBS=N sets the
# remote builds' -j (and the worker's slots) instead of 64.
# Usage: bench/fanout-real.sh [REPS] [PKG]   (PKG: another Debian source
# package built by CMake, default libuv1; its CMake options differ, so the
# library checks then count objects only)
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${1:-3}
pkg=${2:-libuv1}
rjobs=${JOBS:-64}
ljobs=$(( $(nproc) + 2 ))
if [ -n "${BIN:-}" ]; then
    bin=$(cd "$BIN" && pwd)
else
    cargo build --release -q -p gg
    bin=$PWD/target/release
fi
src=$(integration/fetch-source.sh "$pkg" 2> /dev/null) || { echo "fanout-real: cannot fetch $pkg" >&2; exit 1; }
work=$(mktemp -d /dev/shm/gg-fanout-real.XXXXXX)
cleanup() { [ -e "$work/worker.pid" ] && kill "$(cat "$work/worker.pid")" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
unset GG_ENGINE GG_WORKERS GG_REMOTE_STRICT GG_SCAN GG_LOG
export PATH="$bin:$PATH"

cp -a "$src" "$work/src"
configure() { # NAME CMAKE-FLAGS…
    GG_DIR=$work/configure-store cmake -S "$work/src" -B "$work/$1" -G Ninja -DCMAKE_BUILD_TYPE=Release \
        -DLIBUV_BUILD_TESTS=OFF -DLIBUV_BUILD_BENCH=OFF -DBUILD_TESTING=OFF "${@:2}" > "$work/$1.cmake.log" 2>&1 \
        || { tail -20 "$work/$1.cmake.log" >&2; echo "fanout-real: cmake failed for $1" >&2; exit 1; }
}
configure plain
configure ggcc -DCMAKE_C_COMPILER_LAUNCHER="$bin/gg-cc" -DCMAKE_CXX_COMPILER_LAUNCHER="$bin/gg-cc"
timed=
if command -v perf > /dev/null && perf stat -e task-clock true > /dev/null 2>&1; then
    timed=1
    printf '#!/bin/sh\nexec perf stat -x, -e task-clock -o "%s" --append "%s" "$@"\n' "$work/cctimes" "$bin/gg-cc" > "$work/timed-gg-cc"
    chmod +x "$work/timed-gg-cc"
    configure ggcc-timed -DCMAKE_C_COMPILER_LAUNCHER="$work/timed-gg-cc" -DCMAKE_CXX_COMPILER_LAUNCHER="$work/timed-gg-cc"
else
    echo "fanout-real: no usable perf: the gg-cc alone figures are left out" >&2
fi
compiles=$(ninja -C "$work/plain" -t commands | grep -c -- ' -c ')
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(gcc --version | head -1); ninja $(ninja --version)"
echo "$pkg: $(basename "$src"), $compiles compiles"

median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
clean() { # DIR
    ninja -C "$1" -t clean > /dev/null
    rm -f "$1/.ninja_log" "$1/.ninja_deps"
}
check() { # DIR LABEL
    local got; got=$(find "$1" -name '*.o' | wc -l)
    [ "$got" -eq "$compiles" ] || { tail -20 "$work/out" >&2; echo "fanout-real: $2 left $got objects of $compiles" >&2; exit 1; }
    if [ "$pkg" = libuv1 ]; then
        for f in libuv_a.a libuv.so; do
            [ -e "$1/$f" ] || { echo "fanout-real: $2 made no $f" >&2; exit 1; }
        done
    fi
}
# build LABEL DIR [VAR=VALUE…] -- COMMAND…: one build from a clean tree;
# prints "wall CPU" (seconds; CPU: user + sys of the command's tree).
build() {
    local label=$1 dir=$2; shift 2
    local envs=()
    while [ "$1" != -- ]; do envs+=("$1"); shift; done
    shift
    clean "$dir"
    local s e
    s=$(date +%s%N)
    env "${envs[@]}" /usr/bin/time -o "$work/time" -f "%U %S" "$@" > "$work/out" 2>&1 \
        || { tail -20 "$work/out" >&2; echo "fanout-real: $label failed" >&2; exit 1; }
    e=$(date +%s%N)
    check "$dir" "$label"
    read -r u sy < <(tail -1 "$work/time")
    echo "$s $e $u $sy" | awk '{ printf "%.3f %.2f\n", ($2 - $1) / 1e9, $3 + $4 }'
}

# The remote engine.
"$bin/gg-worker" serve --listen 127.0.0.1:0 --dir "$work/worker" --jobs "$rjobs" > "$work/worker.out" 2>&1 &
echo $! > "$work/worker.pid"
for _ in $(seq 100); do grep -q listening "$work/worker.out" 2> /dev/null && break; sleep 0.05; done
url=$(sed -n 's/^gg-worker listening on //p' "$work/worker.out")
[ -n "$url" ] || { cat "$work/worker.out" >&2; echo "fanout-real: the worker did not start" >&2; exit 1; }
remote() { # KIND SCAN STORE
    local envs=(GG_ENGINE=remote GG_WORKERS="$url" GG_REMOTE_STRICT=1 GG_DIR="$3")
    [ "$2" = old ] && envs+=(GG_SCAN=preprocessor)
    # "again": the previous build's store, every compile a miss again.
    if [ "$2" = again ]; then
        rm -rf "$3/manifests" "$3/reductions"
    else
        rm -rf "$3"
    fi
    # "known": a store that has met the toolchain before (one compile of an
    # empty file, its inputs stored), as on any machine that used gg once;
    # nothing of the project is in it.
    # The timed kind meets it through its launcher: perf puts its own
    # folder first on PATH, and the toolchain's record is kept per PATH.
    if [ "$2" = known ]; then
        : > "$work/empty.c"
        local cc=gg-cc
        [ "$1" = ggcc-timed ] && cc=$work/timed-gg-cc
        GG_DIR="$3" GG_STORE_INPUTS=1 "$cc" cc -c "$work/empty.c" -o "$work/empty.o"
    fi
    local r0 out; r0=$(reductions)
    if [ "$1" = ggninja ]; then
        out=$(build "gg ninja, $2 scan" "$work/plain" "${envs[@]}" -- gg ninja -C "$work/plain" -j "$rjobs")
    else
        rm -f "$work/cctimes"
        out=$(build "ninja + gg-cc, $2 scan" "$work/$1" "${envs[@]}" -- ninja -C "$work/$1" -j "$rjobs")
    fi
    echo "$out $(( $(reductions) - r0 ))"  # and how many thunks the worker ran
}
# Reductions in the worker's store: one more for every thunk it ran.
reductions() { find "$work/worker/reductions" -type f 2> /dev/null | wc -l; }
echo "warming the worker ($url):" >&2
kinds="ggninja ggcc${timed:+ ggcc-timed}"
for kind in $kinds; do
    for scan in old new; do
        [ "$kind" = ggcc-timed ] && [ "$scan" = old ] && continue
        w=$(remote "$kind" "$scan" "$work/warm-$kind-$scan")
        echo "  warm-up $kind $scan: $w (wall s, client CPU s, thunks the worker ran)" >&2
    done
done
# Per-process task-clock of the timed gg-cc runs: the median, in ms.
cc_alone() { grep task-clock "$work/cctimes" | cut -d, -f1 | median; }
for r in $(seq "$reps"); do
    for kind in $kinds; do
        for scan in old new known again; do
            [ "$kind" = ggcc-timed ] && [ "$scan" != known ] && [ "$scan" != again ] && continue
            remote "$kind" "$scan" "$work/client-$kind" >> "$work/r-$kind-$scan"
            [ "$kind" = ggcc-timed ] && cc_alone >> "$work/a-$scan"
            echo "  run $r remote $kind $scan: $(tail -1 "$work/r-$kind-$scan")" >&2
            made=$(tail -1 "$work/r-$kind-$scan" | awk '{ print $3 }')
            [ "$made" -eq 0 ] || echo "  WARNING: the worker ran $made thunks it did not hold: not a warm-worker figure" >&2
        done
    done
done
kill "$(cat "$work/worker.pid")"; rm "$work/worker.pid"

# The local engine.
for r in $(seq "$reps"); do
    build "plain ninja" "$work/plain" -- ninja -C "$work/plain" -j "$ljobs" >> "$work/l-plain"
    echo "  run $r local plain: $(tail -1 "$work/l-plain")" >&2
    for scan in old new; do
        rm -rf "$work/local-store"
        envs=(GG_DIR="$work/local-store")
        [ "$scan" = old ] && envs+=(GG_SCAN=preprocessor)
        build "local gg ninja, $scan scan" "$work/plain" "${envs[@]}" -- gg ninja -C "$work/plain" -j "$ljobs" >> "$work/l-$scan"
        echo "  run $r local gg ninja $scan: $(tail -1 "$work/l-$scan")" >&2
    done
done

col() { awk -v c="$2" '{ print $c }' "$work/$1" | median; }
echo
echo "remote engine, one worker on loopback answering from its reductions, cold client store, -j $rjobs; medians of $reps"
printf '  %-26s %5s %8s %13s %15s\n' "front end" scan "wall s" "client CPU s" "CPU ms/compile"
declare -A per
for kind in ggninja ggcc; do
    for scan in old new known again; do
        [ "$kind" = ggninja ] && label="gg ninja" || label="ninja + gg-cc (whole tree)"
        w=$(col "r-$kind-$scan" 1); c=$(col "r-$kind-$scan" 2)
        per[$kind-$scan]=$(echo "$c * 1000 / $compiles" | bc -l)
        printf '  %-26s %5s %8.2f %13.2f %15.1f\n' "$label" "$scan" "$w" "$c" "${per[$kind-$scan]}"
    done
done
if [ -n "$timed" ]; then
    for scan in known again; do
        printf '  %-26s %5s %8s %13s %15.1f\n' "gg-cc alone (per process)" "$scan" - - "$(col "a-$scan" 1)"
    done
fi
printf '  client CPU per compile, old scan / new scan: gg ninja %.2fx, ninja + gg-cc %.2fx\n' \
    "$(echo "${per[ggninja-old]} / ${per[ggninja-new]}" | bc -l)" "$(echo "${per[ggcc-old]} / ${per[ggcc-new]}" | bc -l)"
echo "local engine, cold store, -j $ljobs; medians of $reps (target: gg ninja <= 1.03x plain wall)"
printf '  %-26s %8s %8s %12s %11s\n' build "wall s" "CPU s" "wall xplain" "CPU xplain"
pw=$(col l-plain 1); pc=$(col l-plain 2)
printf '  %-26s %8.2f %8.2f %12s %11s\n' "plain ninja" "$pw" "$pc" - -
for scan in old new; do
    w=$(col "l-$scan" 1); c=$(col "l-$scan" 2)
    printf '  %-26s %8.2f %8.2f %11.3fx %10.3fx\n' "gg ninja, $scan scan" "$w" "$c" "$(echo "$w / $pw" | bc -l)" "$(echo "$c / $pc" | bc -l)"
done
echo "(old scan = GG_SCAN=preprocessor, new = GG_SCAN unset; known = new, the client store having met the toolchain before;"
echo " again = new, the store of the previous build without its manifests and reductions: every compile a miss again)"
