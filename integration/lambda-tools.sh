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
#           about 17 minutes);
#   line 3: moto_server (moto 5.2.5), whose Lambda and IAM APIs take
#           `gg lambda deploy`'s calls;
#   line 4: the AWS CLI (awscli 1.46.3), which `gg lambda deploy` drives
#           and bench/s3-upload.sh compares against.
# The three Python tools share one virtualenv.
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
if [ ! -x "$cache/venv/bin/cargo-lambda" ] || [ ! -x "$cache/venv/bin/moto_server" ] || [ ! -x "$cache/venv/bin/aws" ]; then
    [ -x "$cache/venv/bin/pip" ] || python3 -m venv "$cache/venv" >&2
    "$cache/venv/bin/pip" install -q cargo-lambda==1.9.2 "moto[server]==5.2.5" awscli==1.46.3 >&2
fi
echo "$cache/bin/s3s-fs"
echo "$cache/venv/bin/cargo-lambda"
echo "$cache/venv/bin/moto_server"
echo "$cache/venv/bin/aws"
