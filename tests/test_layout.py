"""The package's layout rules, read from its source with ``ast`` (README.md, "Layout").

Every module sits on a floor; an import (lazy ones inside functions included) may name its own
floor or a lower one, never a higher one, and the import graph has no cycle. No package file is
over 400 lines and no function over 60.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "specroof"
FLOORS = {"errors": 0, "registry": 0, "datafiles": 0, "input_guard": 0, "checks": 0, "models": 1, "hardware": 1, "kernels": 1,
          "bands": 1, "scenarios": 1, "cost": 2, "speculation": 3, "calibration": 4, "workload": 4, "report": 5, "app": 6,
          "web": 7, "cli": 8, "__main__": 8, "": 9}  # "": specroof/__init__.py, the public API, may import anything
MAX_FILE_LINES, MAX_FUNCTION_LINES = 400, 60


def _name(path: Path) -> str:
    parts = ["specroof", *path.relative_to(SRC).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_name(p): p for p in sorted(SRC.rglob("*.py"))}


def _imports(module: str) -> set[str]:
    """The specroof modules ``module`` imports anywhere in its file (the most specific name)."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1]) if node.level else ""
            stem = ".".join(filter(None, (base, node.module)))
            found.update(f"{stem}.{a.name}" if f"{stem}.{a.name}" in MODULES else stem for a in node.names)
    return {name for name in found if name in MODULES and name != module}


GRAPH = {module: _imports(module) for module in MODULES}


def floor(module: str) -> int | None:
    """The module's floor, from its top package under specroof (None: on no floor)."""
    return FLOORS.get(module.split(".")[1] if "." in module else "")


def _cycle_from(graph: dict[str, set[str]], start: str) -> list[str]:
    """One import cycle through ``start`` (depth-first), or [] when there is none."""
    stack, seen = [(start, [start])], set()
    while stack:
        module, path = stack.pop()
        for target in sorted(graph[module]):
            if target == start:
                return path + [start]
            if target not in seen:
                seen.add(target)
                stack.append((target, path + [target]))
    return []


def test_no_import_goes_up_a_floor():
    unplaced = [f"{m}: on no floor (add it to FLOORS and to README's Layout)" for m in MODULES if floor(m) is None]
    upward = [f"{m} (floor {floor(m)}) -> {t} (floor {floor(t)})" for m, targets in GRAPH.items()
              for t in sorted(targets) if floor(m) is not None and (floor(t) or 0) > floor(m)]
    assert not unplaced + upward, "\n".join(unplaced + upward)


def test_no_import_cycle():
    cycles = {frozenset(c): " -> ".join(c) for m in GRAPH if (c := _cycle_from(GRAPH, m))}
    assert not cycles, "\n".join(sorted(cycles.values()))


def test_no_long_file_or_function():
    long = [f"{MODULES[m].relative_to(SRC.parent)}: {n} lines" for m in MODULES
            if (n := len(MODULES[m].read_text(encoding="utf-8").splitlines())) > MAX_FILE_LINES]
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if (n := node.end_lineno - node.lineno + 1) > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(SRC.parent)}:{node.lineno} {node.name}(): {n} lines")
    assert not long, "\n".join(long)


LAZY_ALLOWED = {"specroof.web"}
"""Package modules a function may import: only those that need an optional extra ([web]: Starlette,
plotly), so that the commands that do not use them run on the core install."""


def _lazy_imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of each import of a specroof module inside a function."""
    found = []
    for fn in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for node in ast.walk(fn):
                if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("specroof")):
                    found.append((node.lineno, "." * node.level + (node.module or "")))
                elif isinstance(node, ast.Import):
                    found += [(node.lineno, a.name) for a in node.names if a.name.startswith("specroof")]
    return found


def test_lazy_imports_are_for_optional_extras_only():
    """A function-level import hides an edge from the reader and postpones a cycle to run time;
    it is kept only where a module needs an optional extra (heavy third-party modules are
    imported lazily inside the package modules themselves, e.g. torch in calibration/harness)."""
    lazy = [f"{path.relative_to(SRC.parent)}:{line} imports {target}" for path in MODULES.values()
            for line, target in _lazy_imports(path)
            if not any(target == a or target.startswith(a + ".") for a in LAZY_ALLOWED)]
    assert not lazy, "\n".join(lazy)


def test_the_package_never_reads_the_checkout():
    """``Path(__file__).parents[k]`` stays inside src/specroof (an installed package has no
    checkout around it: data it reads ships in the wheel)."""
    outside = []
    for path in MODULES.values():
        depth = len(path.relative_to(SRC).parts) - 1  # folders between specroof/ and the file
        for match in re.finditer(r"parents\[(\d+)\]|(?:\.parent){2,}", path.read_text(encoding="utf-8")):
            up = int(match.group(1)) if match.group(1) else match.group(0).count(".parent") - 1
            if up > depth:
                outside.append(f"{path.relative_to(SRC.parent)}: {match.group(0)}")
    assert not outside, "\n".join(outside)


def test_the_rules_see_what_they_check():
    """The graph is read (known edges are found, relative imports resolve) and a cycle is found."""
    assert "specroof.errors" in GRAPH["specroof.registry"]
    assert "specroof.cost.setup" in GRAPH["specroof.cost.pricing"]
    assert len(MODULES) > 50 and sum(map(len, GRAPH.values())) > 100
    assert _cycle_from({"a": {"b"}, "b": {"c"}, "c": {"a"}}, "a") == ["a", "b", "c", "a"]
    assert _cycle_from({"a": {"b"}, "b": {"c"}, "c": set()}, "a") == []
    assert any(target.startswith("specroof.web") for _, target in _lazy_imports(MODULES["specroof.cli.serve_cmd"]))
    assert floor("specroof.cost.grid") == 2 and floor("specroof") == 9 and floor("specroof.nowhere") is None
