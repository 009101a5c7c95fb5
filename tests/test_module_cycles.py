"""No import circle among the modules of any crate under rust/, nor in python/operonx (architecture.md
section 4, rule 1). A crate's module is a top-level file or folder of its src/; a module depends on
another when one of its files names it through `crate::`. A Python module depends on every module of the
package it imports, at the top or inside a function; the one-way order of the public chapters is also
checked by the import-linter contract in pyproject.toml (`lint-imports`, run by the test command)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
USE = re.compile(r"\bcrate::(\w+)")
COMMENT = re.compile(r"//.*")


def module_graph(src: Path) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in src.rglob("*.rs"):
        rel = path.relative_to(src)
        module = rel.parts[0].removesuffix(".rs")
        if module in ("lib", "main"):
            continue
        deps = graph.setdefault(module, set())
        code = COMMENT.sub("", path.read_text(encoding="utf-8"))
        for name in USE.findall(code):
            if name != module:
                deps.add(name)
    return graph


def cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                return stack[stack.index(dep) :] + [dep]
            if dep in graph and dep not in state and (found := visit(dep)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_cycle_finder_finds_one():
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set()}) is None


def test_no_crate_has_a_module_cycle():
    crates = sorted(p.parent for p in ROOT.glob("rust/*/src"))
    assert crates
    found = {c.name: cycle(module_graph(c / "src")) for c in crates}
    assert all(v is None for v in found.values()), f"module cycles: {found}"


def python_module_graph(package: Path) -> dict[str, set[str]]:
    """Module name -> the package's modules it imports (anywhere in the file)."""
    files = {}
    for path in package.rglob("*.py"):
        parts = path.relative_to(package.parent).with_suffix("").parts
        files[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        deps = graph.setdefault(name, set())
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                for alias in node.names:
                    sub = f"{node.module}.{alias.name}"
                    deps.add(sub if sub in files else node.module)
            elif isinstance(node, ast.Import):
                deps.update(alias.name for alias in node.names)
        deps.intersection_update(files)
        deps.discard(name)
    return graph


def test_no_python_module_cycle():
    graph = python_module_graph(ROOT / "python" / "operonx")
    assert "operonx._authoring.writer" in graph and graph["operonx.engine"]
    assert cycle(graph) is None, f"import cycle: {cycle(graph)}"
