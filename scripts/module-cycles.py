#!/usr/bin/env python3
"""Import cycles between the Rust modules (files) of a folder.

    scripts/module-cycles.py provider/src/pipeline etl/src/storage
    scripts/module-cycles.py --edges etl/src/run.rs    # also list each file's imports

A module is a file (`foo.rs`, or `foo/mod.rs` for `foo`). Its imports are the `crate::`,
`super::` and `self::` paths in `use` items and in code, resolved to the longest module path
that is a file of the crate; `super::{a, b}` lists count each. Prints every group of files
that import each other in a cycle (a strongly connected component of more than one file) and
exits 1 when there is one, so it can guard a layering in CI. Only imports between the files
named count: give the crate's `src` to see a file's cycles with the rest of the crate.
"""
import argparse
import os
import re
import sys

PATH = re.compile(r"\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)+)(::\{([^}]*)\})?")


def crate_root(path):
    """The `src` folder holding `path`."""
    here = os.path.abspath(path if os.path.isdir(path) else os.path.dirname(path))
    while here != "/":
        if os.path.basename(here) == "src":
            return here
        here = os.path.dirname(here)
    sys.exit(f"{path} is not inside a crate's src/ folder")


def module_of(root, file):
    rel = os.path.relpath(file, root)[:-3].split(os.sep)
    if rel[-1] == "mod" or rel == ["lib"] or rel == ["main"]:
        rel = rel[:-1]
    return tuple(rel)


def modules(root):
    found = {}
    for folder, _, files in os.walk(root):
        for f in files:
            if f.endswith(".rs"):
                path = os.path.join(folder, f)
                found[module_of(root, path)] = path
    return found


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return "\n".join(line.split("//", 1)[0] for line in text.splitlines())


def imports(root, mods, reexports, module, path):
    text = strip_comments(open(path, encoding="utf-8").read())
    out = set()
    # Child modules declared here are reachable by their bare names (`use child::x`).
    children = set(re.findall(r"^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+([A-Za-z_][A-Za-z0-9_]*)\s*;", text, re.M))
    bare = re.compile(r"\b(?<!::)(" + "|".join(sorted(children)) + r")((?:::[A-Za-z_][A-Za-z0-9_]*)*)(::\{([^}]*)\})?") if children else None
    found = [(m.group(1), m.group(2).split("::")[1:], m.group(4)) for m in PATH.finditer(text)]
    if bare:
        found += [("self", [m.group(1)] + m.group(2).split("::")[1:], m.group(4)) for m in bare.finditer(text)
                  if not re.search(r"\bmod\s+$", text[max(0, m.start() - 8):m.start()])]
    # `use super::ecs;` makes `ecs::x` a path into that module.
    aliases = {}
    for m in re.finditer(r"\buse\s+(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)+)\s*;", text):
        head, tail = m.group(1), m.group(2).split("::")[1:]
        base = [] if head == "crate" else list(module) if head == "self" else list(module[:-1])
        while tail and tail[0] == "super":
            tail, base = tail[1:], base[:-1]
        if tuple(base + tail) in mods:
            aliases[tail[-1]] = tuple(base + tail)
    if aliases:
        alias = re.compile(r"(?<![:\w])(" + "|".join(sorted(aliases)) + r")((?:::[A-Za-z_][A-Za-z0-9_]*)+)(::\{([^}]*)\})?")
        for m in alias.finditer(text):
            target = list(aliases[m.group(1)])
            found.append(("crate", target + m.group(2).split("::")[1:], m.group(4)))
    for head, tail, group in found:
        if head == "crate":
            base = []
        elif head == "self":
            base = list(module)
        else:  # `super` is the parent module, for `a/b.rs` and `a/mod.rs` alike
            base = list(module[:-1])
            while tail and tail[0] == "super":
                tail, base = tail[1:], base[:-1]
        candidates = [tail]
        if group:
            candidates = [tail + [g.strip().split("::")[0].split(" ")[0]] for g in group.split(",") if g.strip()]
        for parts in candidates:
            full = base + parts
            for n in range(len(full), 0, -1):
                key = tuple(full[:n])
                if key in mods:
                    # An item a facade (`mod.rs`) re-exports is its child's, not the facade's.
                    item = full[n] if n < len(full) else None
                    key = reexports.get(key, {}).get(item, key)
                    if key != module:
                        out.add(key)
                    break
    return out


def reexports_of(root, mods):
    """{facade module: {item: child module}} from `pub use child::...::Item` lines."""
    table = {}
    for module, path in mods.items():
        text = strip_comments(open(path, encoding="utf-8").read())
        for m in re.finditer(r"pub(?:\([^)]*\))?\s+use\s+(?:self::)?([A-Za-z_][A-Za-z0-9_:]*?)(?:::\{([^}]*)\}|::([A-Za-z_][A-Za-z0-9_]*))\s*;", text):
            prefix = m.group(1).split("::")
            child = tuple(module) + tuple(prefix)
            while child and child not in mods:
                child = child[:-1]
            if len(child) <= len(module):
                continue
            items = m.group(2).split(",") if m.group(2) else [m.group(3)]
            for item in items:
                name = item.strip().split(" as ")[-1].strip()
                if name:
                    table.setdefault(tuple(module), {})[name] = child
    return table


def sccs(graph):
    """Tarjan's algorithm over {node: set(nodes)}."""
    index, low, stack, on, result, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            result.append(group)

    sys.setrecursionlimit(10000)
    for v in graph:
        if v not in index:
            visit(v)
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="+", help="folders or files of one or more crates")
    ap.add_argument("--edges", action="store_true", help="also print each file's imports")
    args = ap.parse_args()
    cycles = 0
    for target in args.paths:
        root = crate_root(target)
        mods = modules(root)
        scope = os.path.abspath(target)
        # A file `run.rs` stands for itself and its submodules under `run/`.
        folder = scope.removesuffix(".rs") + os.sep
        inside = {m: p for m, p in mods.items()
                  if os.path.abspath(p) == scope or os.path.abspath(p).startswith(folder)}
        reexports = reexports_of(root, mods)
        graph = {m: {d for d in imports(root, mods, reexports, m, p) if d in inside} for m, p in inside.items()}
        name = lambda m: os.path.relpath(inside[m])
        if args.edges:
            for m in sorted(graph):
                print(f"{name(m)} -> {', '.join(sorted(name(d) for d in graph[m])) or '-'}")
        groups = [g for g in sccs(graph) if len(g) > 1]
        print(f"{target}: {len(inside)} files, {sum(len(v) for v in graph.values())} imports between them, "
              f"{len(groups)} cycle(s)")
        for g in groups:
            print("  cycle: " + " <-> ".join(sorted(name(m) for m in g)))
        cycles += len(groups)
    sys.exit(1 if cycles else 0)


if __name__ == "__main__":
    main()
