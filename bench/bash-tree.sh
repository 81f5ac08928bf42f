# Sourced by the bench scripts that build GNU bash from its Debian source
# package (cc-build.sh, evict.sh): builds gg, unpacks and configures bash
# in a fresh temp folder (removed on exit) and enters it, puts gg first on
# PATH, and defines the helpers they share: `secs CMD…` (wall seconds of
# a command), `build CC` (`make clean`, then `make -j2 CC=…`, timed) and
# `median` (of the numbers on stdin).
cargo build --release -q -p gg
bin=$PWD/target/release
src=$(integration/fetch-source.sh bash)
orig=$(ls "$(dirname "$src")"/bash_*.orig.tar.gz)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
tar xzf "$orig"
cd bash-*/
./configure -q --without-bash-malloc CC=gcc > /dev/null
export PATH=$bin:$PATH
secs() { local s e; s=$(date +%s%N); "$@" > /dev/null 2>&1; e=$(date +%s%N); echo "($e - $s) / 1000000000" | bc -l; }
build() { make clean > /dev/null 2>&1; secs make -j2 CC="$1"; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
