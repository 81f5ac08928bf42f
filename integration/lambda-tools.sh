#!/usr/bin/env bash
# Prints the paths of the two third-party servers the Lambda engine's tests
# run against, installing them the first time into a cache that later runs
# on the same machine find ($GG_TOOLS, else /var/cache/gg-tools, or
# ~/.cache/gg-tools when that is not writable):
#   line 1: s3s-fs 0.14.1, an S3-compatible server that checks SigV4
#           signatures (cargo install; the newest needs a newer rustc);
#   line 2: cargo-lambda 1.9.2, whose `lambda watch --only-lambda-apis`
#           serves the Lambda Runtime and Invoke APIs (its prebuilt
#           release from PyPI, into a virtualenv: a source build takes
#           about 17 minutes).
# Usage: integration/lambda-tools.sh
set -euo pipefail
cache=${GG_TOOLS:-/var/cache/gg-tools}
mkdir -p "$cache" 2>/dev/null && [ -w "$cache" ] || cache=$HOME/.cache/gg-tools
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [ ! -x "$cache/bin/s3s-fs" ]; then
    cargo install -q --root "$cache" s3s-fs@0.14.1 --features binary --locked >&2
fi
if [ ! -x "$cache/venv/bin/cargo-lambda" ]; then
    rm -rf "$cache/venv"
    python3 -m venv "$cache/venv" >&2
    "$cache/venv/bin/pip" install -q cargo-lambda==1.9.2 >&2
fi
echo "$cache/bin/s3s-fs"
echo "$cache/venv/bin/cargo-lambda"
