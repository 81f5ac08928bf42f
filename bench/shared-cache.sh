#!/usr/bin/env bash
# Benchmark: "CI then laptop" with a shared cache. GNU bash from its
# Debian source package (188 objects, make -j2), unpacked and configured
# twice, each with the flags a Debian package build uses (dpkg-buildflags:
# `-g -O2 -ffile-prefix-map=TREE=.` …): machine A's checkout at
# $work/ci/…, machine B's at $work/home/me/src/…; each "machine" has its
# own empty local cache. A
# builds cold and writes the shared cache; B rebuilds with an empty local
# cache, the base folder set to its checkout. Side by side in one run:
#   plain gcc at B (the reference objects and time);
#   gg-cc with GG_REMOTE_CACHE on nginx (WebDAV) and on s3s-fs (S3);
#   ccache (Debian's 4.7.5) with remote_storage on the same nginx and
#     CCACHE_BASEDIR;
#   sccache 0.4 with SCCACHE_BUCKET/SCCACHE_ENDPOINT on the same s3s-fs
#     (it has no base folder setting); Debian's sccache is built without
#     S3, so $SCCACHE (default: sccache on PATH) names one built with it,
#     e.g. `cargo install sccache --version 0.4.2 --no-default-features
#     --features s3`; skipped if it cannot use S3;
#   and a cold gg-cc build at B with no remote cache, with one that
#     refuses connections, and with one that accepts and never answers.
# For B: wall time, hits out of 188, objects identical to plain at B.
# Medians of ROUNDS rounds, ratios against plain.
# Usage: bench/shared-cache.sh [ROUNDS]   (fetches bash's source; needs
# nginx, ccache, sccache and the Lambda test tools for s3s-fs)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
cargo build --release -q -p gg
bin=$PWD/target/release
s3s=$(integration/lambda-tools.sh | head -1)
src=$(integration/fetch-source.sh bash)
orig=$(ls "$(dirname "$src")"/bash_*.orig.tar.gz)
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; rm -rf "$work"' EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

for m in ci home/me/src; do
    mkdir -p "$work/$m" && (cd "$work/$m" && tar xzf "$orig" && cd bash-*/ && CFLAGS="$(dpkg-buildflags --get CFLAGS)" ./configure -q --without-bash-malloc CC=gcc > /dev/null)
done
A=$(echo "$work"/ci/bash-*)
B=$(echo "$work"/home/me/src/bash-*)

# nginx with PUT, s3s-fs, and a port that accepts and never answers.
ngx=$work/nginx
mkdir -p "$ngx/root"
nport=$(port)
user=""; [ "$(id -u)" = 0 ] && user="user root;"
cat > "$ngx/nginx.conf" << EOF
$user
daemon off;
worker_processes 2;
error_log $ngx/error.log;
pid $ngx/nginx.pid;
events {}
http {
  access_log off;
  client_body_temp_path $ngx/body; proxy_temp_path $ngx/proxy; fastcgi_temp_path $ngx/fcgi;
  uwsgi_temp_path $ngx/uwsgi; scgi_temp_path $ngx/scgi;
  server {
    listen 127.0.0.1:$nport;
    root $ngx/root;
    client_max_body_size 0;
    location / { dav_methods PUT; create_full_put_path on; dav_access user:rw group:r all:r; }
  }
}
EOF
nginx -c "$ngx/nginx.conf" -p "$ngx" & pids+=($!)
sport=$(port)
mkdir -p "$work/s3/gg-bench"
"$s3s" --host 127.0.0.1 --port "$sport" --access-key AKBENCH --secret-key benchsecret "$work/s3" 2> /dev/null & pids+=($!)
silent=$(port)
python3 -c "import socket,time; s=socket.socket(); s.bind(('127.0.0.1',$silent)); s.listen(4096); time.sleep(10**7)" & pids+=($!)
refused=$(port)
sleep 1
export AWS_ACCESS_KEY_ID=AKBENCH AWS_SECRET_ACCESS_KEY=benchsecret AWS_REGION=us-east-1
export PATH=$bin:$PATH
# Whether $SCCACHE can use an S3 bucket (Debian's cannot).
SCCACHE=${SCCACHE:-sccache}
sccache_s3=no
if command -v "$SCCACHE" > /dev/null; then
    export SCCACHE_BUCKET=gg-bench SCCACHE_ENDPOINT=127.0.0.1:$sport SCCACHE_S3_USE_SSL=off SCCACHE_DIR=$work/sc-probe
    "$SCCACHE" --stop-server > /dev/null 2>&1 || true
    "$SCCACHE" --start-server > /dev/null 2>&1 && sccache_s3=yes
    "$SCCACHE" --stop-server > /dev/null 2>&1 || true
    unset SCCACHE_BUCKET SCCACHE_ENDPOINT SCCACHE_S3_USE_SSL SCCACHE_DIR
fi

secs() { local s e; s=$(date +%s%N); "$@" > /dev/null 2>&1; e=$(date +%s%N); echo "($e - $s) / 1000000000" | bc -l; }
# make clean, then a timed make -j2 in folder $1 with CC=$2.
build() { (cd "$1" && make clean > /dev/null 2>&1 && secs make -j2 CC="$2"); }
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
sums() { (cd "$1" && find . -name '*.o' -printf '%P\n' | sort | while read -r o; do sha256sum "$o"; done); }
same() { if diff -q "$work/plain.sums" <(sums "$B") > /dev/null; then echo yes; else echo NO; fi; }
gghits() { GG_DIR=$1 gg stats | awk '/^  direct hits/ {print $3}'; }

rows=()
record() { echo "$2" >> "$work/$1"; }
for r in $(seq "$rounds"); do
    build "$B" gcc >> "$work/plain"
    sums "$B" > "$work/plain.sums"
    # gg, on each back end.
    # Each round under fresh prefixes: an empty shared cache.
    for be in "http://127.0.0.1:$nport/gg$r" "s3://gg-bench/gg$r"; do
        tag=${be%%:*}
        rm -rf "$work/ga" "$work/gb"
        GG_S3_ENDPOINT=http://127.0.0.1:$sport GG_REMOTE_CACHE=$be GG_BASEDIR=$A GG_DIR=$work/ga build "$A" gg-cc >> "$work/gg-$tag-a"
        GG_S3_ENDPOINT=http://127.0.0.1:$sport GG_REMOTE_CACHE=$be GG_BASEDIR=$B GG_DIR=$work/gb build "$B" gg-cc >> "$work/gg-$tag-b"
        record "gg-$tag-hits" "$(gghits "$work/gb")"
        record "gg-$tag-same" "$(same)"
    done
    # ccache on nginx.
    rm -rf "$work/ca" "$work/cb"
    export CCACHE_REMOTE_STORAGE=http://127.0.0.1:$nport/ccache$r
    CCACHE_DIR=$work/ca CCACHE_BASEDIR=$A build "$A" "ccache gcc" >> "$work/ccache-a"
    CCACHE_DIR=$work/cb CCACHE_BASEDIR=$B build "$B" "ccache gcc" >> "$work/ccache-b"
    record ccache-hits "$(CCACHE_DIR=$work/cb ccache --print-stats | awk -F'\t' '$1 == "direct_cache_hit" || $1 == "preprocessed_cache_hit" {s += $2} END {print s + 0}')"
    record ccache-same "$(same)"
    unset CCACHE_REMOTE_STORAGE
    # sccache on s3s-fs: one server per machine, started fresh.
    for m in a b; do
        [ "$sccache_s3" = yes ] || break
        dir=$A; [ $m = b ] && dir=$B
        export SCCACHE_BUCKET=gg-bench SCCACHE_ENDPOINT=127.0.0.1:$sport SCCACHE_S3_USE_SSL=off \
            SCCACHE_S3_KEY_PREFIX=sccache$r SCCACHE_REGION=us-east-1 SCCACHE_DIR=$work/sc-$m
        "$SCCACHE" --stop-server > /dev/null 2>&1 || true
        "$SCCACHE" --start-server > /dev/null 2>&1
        build "$dir" "$SCCACHE gcc" >> "$work/sccache-$m"
        [ $m = b ] && record sccache-hits "$("$SCCACHE" --show-stats | awk '/^Cache hits / && !/rate/ {print $3; exit}')"
        "$SCCACHE" --stop-server > /dev/null 2>&1 || true
    done
    [ "$sccache_s3" = yes ] && record sccache-same "$(same)"
    unset SCCACHE_BUCKET SCCACHE_ENDPOINT SCCACHE_S3_USE_SSL SCCACHE_S3_KEY_PREFIX SCCACHE_REGION SCCACHE_DIR
    # Cold at B: no remote cache, a refusing one, a silent one.
    rm -rf "$work/g0" "$work/g1" "$work/g2"
    GG_DIR=$work/g0 build "$B" gg-cc >> "$work/cold-none"
    GG_REMOTE_CACHE=http://127.0.0.1:$refused/gg GG_DIR=$work/g1 build "$B" gg-cc >> "$work/cold-refused"
    GG_REMOTE_CACHE=http://127.0.0.1:$silent/gg GG_DIR=$work/g2 build "$B" gg-cc >> "$work/cold-silent"
    record cold-same "$(same)"
done

p=$(median < "$work/plain")
ratio() { printf '%.2fx' "$(echo "$1 / $p" | bc -l)"; }
m() { median < "$work/$1"; }
echo "GNU bash, 188 objects, make -j2, medians of $rounds; B = a second machine at another path, empty local cache"
printf 'plain gcc at B                %6.2f s\n' "$p"
for t in http s3; do
    printf 'gg-cc, %-4s  A %6.2f s   B %6.2f s (%s)  B hits %s  identical %s\n' "$t" "$(m gg-$t-a)" "$(m gg-$t-b)" \
        "$(ratio "$(m gg-$t-b)")" "$(m gg-$t-hits)" "$(sort -u "$work/gg-$t-same" | tr '\n' ' ')"
done
printf 'ccache http  A %6.2f s   B %6.2f s (%s)  B hits %s  identical %s\n' "$(m ccache-a)" "$(m ccache-b)" \
    "$(ratio "$(m ccache-b)")" "$(m ccache-hits)" "$(sort -u "$work/ccache-same" | tr '\n' ' ')"
if [ "$sccache_s3" = yes ]; then
    printf 'sccache s3   A %6.2f s   B %6.2f s (%s)  B hits %s  identical %s  (%s)\n' "$(m sccache-a)" "$(m sccache-b)" \
        "$(ratio "$(m sccache-b)")" "$(m sccache-hits)" "$(sort -u "$work/sccache-same" | tr '\n' ' ')" "$("$SCCACHE" --version)"
else
    echo "sccache: $SCCACHE cannot use S3 (Debian's is built without it): skipped"
fi
n=$(m cold-none)
printf 'cold gg-cc at B: no remote %.2f s; refusing remote %.2f s (%.3fx); silent remote %.2f s (%.3fx); identical %s\n' \
    "$n" "$(m cold-refused)" "$(echo "$(m cold-refused) / $n" | bc -l)" "$(m cold-silent)" \
    "$(echo "$(m cold-silent) / $n" | bc -l)" "$(sort -u "$work/cold-same" | tr '\n' ' ')"
