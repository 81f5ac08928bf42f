#!/usr/bin/env python3
"""Generates the C++ project bench/fanout.sh builds: N small `.cc` files
sharing a tree of headers, deterministically (seeded).

    include/fanout/config.h                  feature switches (#if branches)
    include/libK/{core,util,detail,detail/impl}/hK_I.h
                                             K = 0..LIBS-1, HEADERS/LIBS each
    src/dD/fNNNNN.cc                         100 sources per folder
    build.ninja                              rule cxx (deps = gcc), one edge
                                             per source, objects in obj/

Each header includes the one before it in its chain (chains of 8 within a
library), a header of its own library further back and one of a lower
library (layers), so a source that includes three headers pulls in 100 to
300 project headers; some headers add a standard header (<vector>,
<string>, <map>, <memory>, <cstdint>). Guards vary (`#pragma once`, an
include guard, or both); some includes sit under `#if` on config.h's
switches (the untaken side names a header that exists too), some under
`#ifdef _WIN32` (naming <windows.h>, which does not exist here), and some
are written relative to the including header ("../util/x.h", "x.h").
Every include is needed: each header's constants are sums of those of the
headers it includes, so a missed include is a compile error.

The compile command is `$launcher g++ -MD -MF $out.d -O1 -Iinclude -c $in
-o $out`; `launcher` is empty in build.ninja, and `ggcc.ninja` (the same
edges) sets it to gg-cc.

Usage: fanout-gen.py DIR N [--headers H] [--libs L] [--seed S]
Prints one line of figures: headers, mean and range of project headers
per compile (as the preprocessor would find them).
"""
import argparse
import os
import random

SUBDIRS = ["core", "util", "detail", "detail/impl"]
STD = ["vector", "string", "map", "memory", "cstdint"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("n", type=int)
    ap.add_argument("--headers", type=int, default=400)
    ap.add_argument("--libs", type=int, default=10)
    ap.add_argument("--seed", type=int, default=20240611)
    ap.add_argument("--launcher", default="gg-cc", help="the launcher ggcc.ninja sets")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    per = a.headers // a.libs
    total = per * a.libs
    feature = [rng.random() < 0.5 for _ in range(a.libs)]

    def path(g):  # include path of header g, relative to include/
        lib, i = divmod(g, per)
        return f"lib{lib}/{SUBDIRS[i % len(SUBDIRS)]}/h{lib}_{i}.h"

    def spelled(src, dst):
        """How header src names dst: relative for some of its own library."""
        if src // per == dst // per and (src + dst) % 5 == 0:
            return '"' + os.path.relpath(path(dst), os.path.dirname(path(src))) + '"'
        if (src + dst) % 3 == 0:
            return "<" + path(dst) + ">"
        return '"' + path(dst) + '"'

    deps = []  # per header: list of (kind, ...) include items
    for g in range(total):
        lib, i = divmod(g, per)
        items = []
        if i % 8:
            items.append(("inc", g - 1))
        if i >= 2 and i % 2 == 0:
            items.append(("inc", lib * per + rng.randrange(0, i - 1)))
        if lib > 0 and i % 4 == 0:
            low = rng.randrange(max(0, lib - 2), lib)
            items.append(("inc", low * per + rng.randrange(per)))
        if i % 5 == 2 and i >= 3:
            # An #if on a switch: both sides are real headers of this library.
            x, y = rng.sample(range(i), 2)
            items.append(("if", lib, lib * per + x, lib * per + y))
        deps.append(items)

    def taken(g):
        out = []
        for it in deps[g]:
            if it[0] == "inc":
                out.append(it[1])
            else:
                out.append(it[2] if feature[it[1]] else it[3])
        return out

    closure_memo = {}

    def closure(g):
        if g not in closure_memo:
            s = {g}
            for d in taken(g):
                s |= closure(d)
            closure_memo[g] = frozenset(s)
        return closure_memo[g]

    root = a.dir
    os.makedirs(os.path.join(root, "include", "fanout"), exist_ok=True)
    with open(os.path.join(root, "include", "fanout", "config.h"), "w") as f:
        f.write("#ifndef FANOUT_CONFIG_H\n#define FANOUT_CONFIG_H\n")
        for lib in range(a.libs):
            f.write(f"#define FANOUT_LIB{lib}_FAST {int(feature[lib])}\n")
        f.write("#endif\n")

    for g in range(total):
        lib, i = divmod(g, per)
        p = os.path.join(root, "include", path(g))
        os.makedirs(os.path.dirname(p), exist_ok=True)
        guard = f"FANOUT_H{lib}_{i}_H"
        style = g % 3  # 0: pragma once, 1: guard, 2: both
        L = []
        if style != 1:
            L.append("#pragma once")
        if style != 0:
            L += [f"#ifndef {guard}", f"#define {guard}"]
        L.append("#include <fanout/config.h>")
        std = STD[g % len(STD)] if g % 2 == 0 else None
        if std:
            L.append(f"#include <{std}>")
        consts = []
        for it in deps[g]:
            if it[0] == "inc":
                L.append("#include " + spelled(g, it[1]))
                consts.append(it[1])
            else:
                _, fl, x, y = it
                sel = f"FANOUT_SEL{lib}_{i}"
                L += [f"#if FANOUT_LIB{fl}_FAST", "#include " + spelled(g, x), f"#define {sel} {cname(x, per)}",
                      "#else", "#include " + spelled(g, y), f"#define {sel} {cname(y, per)}", "#endif"]
                consts.append(sel)
        if g % 7 == 3:
            L += ["#ifdef _WIN32", "#include <windows.h>", "#endif"]
        L.append(f"namespace lib{lib} {{")
        val = " + ".join(["1"] + [c if isinstance(c, str) else cname(c, per) for c in consts])
        if any(not isinstance(c, str) for c in consts) or consts:
            L.append(f"constexpr long {cname(g, per, qualified=False)} = ({val}) % 1000003;")
        else:
            L.append(f"constexpr long {cname(g, per, qualified=False)} = {g + 1};")
        sname = f"S{lib}_{i}"
        L.append(f"struct {sname} {{")
        L.append("    long id = " + cname(g, per, qualified=False) + ";")
        if std == "vector":
            L.append("    std::vector<long> items;")
        elif std == "string":
            L.append("    std::string name;")
        elif std == "map":
            L.append("    std::map<int, long> index;")
        elif std == "memory":
            L.append("    std::shared_ptr<long> shared;")
        elif std == "cstdint":
            L.append("    std::uint64_t bits = 0;")
        L.append(f"    long get() const {{ return id * {i + 1}; }}")
        L.append("};")
        L.append(f"inline long f{lib}_{i}(long x) {{ return x * {g + 3} + {cname(g, per, qualified=False)}; }}")
        L.append("}")
        if style != 0:
            L.append(f"#endif // {guard}")
        with open(p, "w") as f:
            f.write("\n".join(L) + "\n")

    os.makedirs(os.path.join(root, "src"), exist_ok=True)
    sizes = []
    edges = []
    for n in range(a.n):
        d = f"d{n // 100:03d}"
        os.makedirs(os.path.join(root, "src", d), exist_ok=True)
        src = f"src/{d}/f{n:05d}.cc"
        own = a.libs // 2 + n % (a.libs - a.libs // 2)
        picks = [own * per + rng.randrange(per // 2, per)]
        picks += [rng.randrange(a.libs) * per + rng.randrange(per // 2, per) for _ in range(2)]
        seen = set()
        for h in picks:
            seen |= closure(h)
        sizes.append(len(seen) + 1)  # + config.h
        stds = [s for s in ["vector", "string", "map", "memory"] if rng.random() < 0.6] or ["vector"]
        L = [f"// fanout source {n}"]
        L += [f'#include "{path(h)}"' if k % 2 == 0 else f"#include <{path(h)}>" for k, h in enumerate(picks)]
        L += [f"#include <{s}>" for s in stds]
        L.append("namespace {")
        L.append(f"long helper(long x) {{ return {cname(picks[0], per)} + x; }}")
        L.append("}")
        for k, h in enumerate(picks):
            lib, i = divmod(h, per)
            L.append(f"long fan{n}_{k}(long x) {{ lib{lib}::S{lib}_{i} s; return lib{lib}::f{lib}_{i}(x) + s.get() + helper(x); }}")
        if "vector" in stds:
            L.append(f"long fan{n}_sum(const std::vector<long>& v) {{ long t = 0; for (long x : v) t += x; return t + {n}; }}")
        if "string" in stds:
            L.append(f'std::string fan{n}_name() {{ return std::string("f{n}_") + std::to_string({cname(picks[1], per)}); }}')
        if "map" in stds:
            L.append(f"long fan{n}_find(const std::map<int, long>& m, int k) {{ auto it = m.find(k); return it == m.end() ? -1 : it->second; }}")
        if "memory" in stds:
            L.append(f"std::unique_ptr<long> fan{n}_box(long x) {{ return std::make_unique<long>(x + {n}); }}")
        with open(os.path.join(root, src), "w") as f:
            f.write("\n".join(L) + "\n")
        edges.append((f"obj/{d}/f{n:05d}.o", src))

    for name, launcher in (("build.ninja", ""), ("ggcc.ninja", a.launcher)):
        with open(os.path.join(root, name), "w") as f:
            f.write(f"launcher = {launcher}\n")
            f.write("rule cxx\n  command = $launcher g++ -MD -MF $out.d -O1 -Iinclude -c $in -o $out\n"
                    "  deps = gcc\n  depfile = $out.d\n  description = CXX $out\n")
            for o, s in edges:
                f.write(f"build {o}: cxx {s}\n")
    print(f"{a.n} sources, {total} headers in {a.libs} libraries; project headers per compile: "
          f"mean {sum(sizes) / len(sizes):.0f}, min {min(sizes)}, max {max(sizes)}")


def cname(g, per, qualified=True):
    lib, i = divmod(g, per)
    return (f"lib{lib}::" if qualified else "") + f"k{lib}_{i}"


if __name__ == "__main__":
    main()
