#!/usr/bin/env bash
# S3 upload throughput, gg against the AWS CLI, side by side in one run:
# 1,000 files of 50 KB put in a bucket of s3s-fs (an S3-compatible server
# that checks SigV4 signatures) on loopback, its storage in /dev/shm.
#   gg:  `gg lambda upload FILES…` (what the Lambda engine does with a
#        thunk's inputs: hash into the store, ask S3 which blobs it lacks,
#        put those, 32 at a time, on kept-alive connections);
#   aws: `aws s3 cp --recursive DIR s3://BUCKET/` (awscli 1.x, its default
#        10 concurrent requests).
# Each run starts from an empty bucket and, for gg, an empty store.
# Target: gg >= 10x faster. Prints each run, then medians and the ratio.
# Usage: bench/s3-upload.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
cargo build --release -q -p gg
gg=$PWD/target/release/gg
mapfile -t tools < <(integration/lambda-tools.sh)
s3s=${tools[0]} aws=${tools[3]}
work=$(mktemp -d /dev/shm/gg-s3-bench.XXXXXX)
port=$((20000 + RANDOM % 20000))
"$s3s" --host 127.0.0.1 --port "$port" --access-key AKBENCH --secret-key bench-secret "$work/s3" \
    > "$work/s3.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$work"' EXIT
mkdir -p "$work/s3" "$work/files"
for i in $(seq 1000); do head -c 51200 /dev/urandom > "$work/files/f$i"; done
for _ in $(seq 100); do (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done
export AWS_ACCESS_KEY_ID=AKBENCH AWS_SECRET_ACCESS_KEY=bench-secret AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1
secs() { local s e; s=$(date +%s%N); "$@" > /dev/null; e=$(date +%s%N); echo "($e - $s) / 1000000000" | bc -l; }
median() { sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
: > "$work/gg.times"; : > "$work/aws.times"
for r in $(seq "$runs"); do
    mkdir -p "$work/s3/gg-run-$r" "$work/s3/aws-run-$r"
    t=$(GG_DIR=$work/store-$r GG_S3_BUCKET=gg-run-$r GG_S3_ENDPOINT=http://127.0.0.1:$port \
        secs "$gg" lambda upload "$work"/files/f*)
    echo "$t" >> "$work/gg.times"
    n=$(find "$work/s3/gg-run-$r" -type f | wc -l)
    a=$(secs "$aws" --endpoint-url "http://127.0.0.1:$port" s3 cp --quiet --recursive "$work/files" "s3://aws-run-$r/")
    echo "$a" >> "$work/aws.times"
    m=$(find "$work/s3/aws-run-$r" -type f | wc -l)
    printf 'run %d: gg %.3f s (%d objects), aws s3 cp %.3f s (%d objects)\n' "$r" "$t" "$n" "$a" "$m"
done
g=$(median < "$work/gg.times"); a=$(median < "$work/aws.times")
printf 'median of %d: gg %.3f s, aws s3 cp %.3f s: gg is %.1fx faster (target >= 10x)\n' "$runs" "$g" "$a" "$(echo "$a / $g" | bc -l)"
