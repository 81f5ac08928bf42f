#!/usr/bin/env bash
# Runs a fuzz target of the gg-ninja parser for a bounded time.
#
#   ninja-gen/fuzz/run.sh [SECONDS] [TARGET]     (defaults: 60, parse)
#
# Installs cargo-fuzz if it is missing. Only a stable toolchain is needed:
# RUSTC_BOOTSTRAP lets it accept the unstable flags cargo-fuzz passes, and
# without a sanitizer nothing else needs nightly. Crashes are saved under
# ninja-gen/fuzz/artifacts/TARGET/ and the script then fails.
set -euo pipefail

seconds="${1:-60}"
target="${2:-parse}"
cd "$(dirname "$0")"

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

# Valid inputs (seeds/TARGET/) start the corpus, so the fuzzer begins from
# real syntax rather than rediscovering it; they include past findings.
corpus="corpus/$target"
mkdir -p "$corpus"
if [ -d "seeds/$target" ]; then
    cp -n "seeds/$target"/* "$corpus"/ 2>/dev/null || true
fi

export RUSTC_BOOTSTRAP=1
exec cargo fuzz run "$target" --sanitizer none "$corpus" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
