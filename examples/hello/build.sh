#!/bin/sh
# Builds this example through gg's local engine: each compile and the link
# become thunks (the compiler itself is an input, named by its hash), then
# one `gg force` runs the whole graph in parallel and writes the program.
# A second run is answered from gg's cache without running the compiler.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
gg=${GG:-gg}
cc=$(command -v "${CC:-cc}")
mkdir -p build

objects=""
for src in main greet words; do
    thunk=$("$gg" create-thunk --function "$cc=bin/cc" \
        --value "src/$src.c" --value src/greet.h \
        --envar PATH=/usr/bin:/bin --output "src/$src.o" \
        --placeholder "build/$src.o" \
        -- cc -O2 -Wall -c "src/$src.c" -o "src/$src.o")
    objects="$objects --thunk $thunk=src/$src.o"
done

# shellcheck disable=SC2086 # $objects is a list of flags
"$gg" create-thunk --function "$cc=bin/cc" $objects \
    --envar PATH=/usr/bin:/bin --output hello --placeholder build/hello \
    -- cc src/main.o src/greet.o src/words.o -o hello >/dev/null

echo "placeholder before forcing: $(cat build/hello)"
"$gg" force build/hello build/main.o build/greet.o build/words.o
./build/hello "gg runs builds as thunks"
