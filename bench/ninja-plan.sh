#!/usr/bin/env bash
# Parse + translate a generated build.ninja of 50,000 compile edges and 500
# link edges (ninja-gen/bench/gen-manifest.py), side by side with Ninja:
#   parse:     ninja-gen's parse-bench example: the manifest read and every
#              edge's command evaluated;
#   translate: `gg ninja -n`: parse, Ninja's dirty check (stats of every
#              source and output), and every compile edge modelled by gg-cc's
#              option tables (the step before hashing inputs into thunks);
#   ninja -n:  Ninja's own load and dry run of the same manifest.
# Each is run 5 times; the median wall time and the largest peak RSS are
# printed. Targets: parse + translate <= 1 s and <= 500 MB.
# The sources exist (empty) so the dirty check can stat them; everything
# lives in /dev/shm. Usage: bench/ninja-plan.sh [COMPILES] [LINKS]
set -euo pipefail
cd "$(dirname "$0")/.."
compiles=${1:-50000}
links=${2:-500}
cargo build --release -q -p gg
cargo build --release -q -p gg-ninja --examples
bin=$PWD/target/release
work=$(mktemp -d /dev/shm/gg-ninja-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
python3 ninja-gen/bench/gen-manifest.py "$work/p" --compiles "$compiles" --links "$links" > /dev/null
python3 - "$work/p" <<'PY'
import re, sys, os
root = sys.argv[1]
for line in open(os.path.join(root, "build.ninja")):
    m = re.match(r"build obj/\S+: cxx (\S+)", line)
    if m:
        path = os.path.join(root, m.group(1))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        open(path, "w").close()
PY
export GG_DIR=$work/store
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); manifest: $(du -h "$work/p/build.ninja" | cut -f1)"
measure() { # LABEL COMMAND… -> median seconds and max RSS over 5 runs
    local label=$1; shift
    local times=() rss=0
    for _ in 1 2 3 4 5; do
        (cd "$work/p" && /usr/bin/time -f "%e %M" -o "$work/t" "$@" > /dev/null 2> "$work/err") || { cat "$work/err"; exit 1; }
        read -r t m < "$work/t"
        times+=("$t"); (( m > rss )) && rss=$m
    done
    local med; med=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 3p)
    printf '%-10s median %.2f s, peak RSS %d MB (runs: %s)\n' "$label" "$med" $((rss / 1024)) "${times[*]}"
}
measure parse "$bin/examples/parse-bench" build.ninja
measure translate "$bin/gg" ninja -n
measure "ninja -n" ninja -n
