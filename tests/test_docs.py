"""Every fenced code block of README.md and docs/*.md runs as written (issue 11, "docs that run").

The rule for blocks:

- ```python blocks of one file run in order, in one namespace: a block may use what an earlier block of the
  same file defined (imports, ops, graphs, engines), as the cells of a notebook do.
- A block with top-level ``await`` (or ``async for`` / ``async with``) runs as a notebook cell: it is compiled
  with ``ast.PyCF_ALLOW_TOP_LEVEL_AWAIT`` and awaited on one event loop kept for the file. Any other block
  runs as script code, with no event loop running (so ``asyncio.run(...)`` and ``engine.run_sync(...)``
  work there). A file carrying the marker ``<!-- docs-test: notebook -->`` (docs/notebooks.md, about
  Jupyter, where the loop always runs) runs every block as a cell, inside the running loop.
- A ``print(...)`` line with a trailing ``# comment`` states what it prints: the comment must be one of the
  lines the block printed, the comments of a block in the order of those lines.
- ```json blocks must parse. A graph document (one with ``"schema_version"``) must equal
  ``g.export_config()`` of the graph ``g`` that the python blocks before it built.
- ```sh blocks are not run: they build a wheel and install it in a fresh virtualenv, which takes minutes
  (the release check does that). ```rust blocks are not compiled here: a file that has them is included
  in rust/core/src/lib.rs as a doc comment, so ``cargo test`` compiles and runs them as doc tests; here
  we check that it is.
- Any other fence (or one with no language) fails, so that a new kind of block gets a rule.

Every block runs with the working directory set to a temporary directory.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import inspect
import io
import json
import linecache
import re
import tokenize
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
NOTEBOOK_MARKER = "<!-- docs-test: notebook -->"
KNOWN = {"python", "json", "sh", "rust"}
BLOCK_TIMEOUT = 60  # seconds for one awaited block (pytest-timeout bounds the whole test)
FENCE = re.compile(r"^```(?P<lang>[^\n`]*)\n(?P<body>.*?)^```[ \t]*$", re.M | re.S)


@dataclass
class Block:
    path: Path
    line: int  # line of the opening fence, 1-based
    lang: str
    body: str

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT).as_posix()}:{self.line}"


def blocks_of(path: Path) -> list[Block]:
    text = path.read_text(encoding="utf-8")
    return [
        Block(path, text.count("\n", 0, m.start()) + 1, m["lang"].strip().split(" ")[0], m["body"])
        for m in FENCE.finditer(text)
    ]


def expected_prints(source: str) -> list[str]:
    """The trailing comments of the ``print(...)`` lines of a block, in source order."""
    out = []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT and tok.line.lstrip().startswith("print("):
            out.append(tok.string[1:].strip())
    return out


def check_prints(block: Block, printed: str) -> None:
    lines = [line.rstrip() for line in printed.splitlines()]
    i = 0
    for want in expected_prints(block.body):
        while i < len(lines) and lines[i] != want:
            i += 1
        assert i < len(lines), f"{block.where}: the block should print {want!r}; it printed:\n{printed}"
        i += 1


async def _as_cell(code, namespace: dict):
    value = eval(code, namespace)  # top-level-await code gives a coroutine
    if inspect.iscoroutine(value):
        await value


def run_python(block: Block, namespace: dict, loop: asyncio.AbstractEventLoop, notebook: bool) -> str:
    """Runs one block in the file's namespace and returns what it printed."""
    filename = f"<{block.where}>"
    # As IPython does for cells: the source is in linecache, so inspect.getsource() finds each op's body
    # (from which operonx reads the op's declared outputs) as it would in a file.
    linecache.cache[filename] = (len(block.body), None, block.body.splitlines(True), filename)
    code = compile(block.body, filename, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    has_await = bool(code.co_flags & inspect.CO_COROUTINE)
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            if has_await or notebook:
                loop.run_until_complete(asyncio.wait_for(_as_cell(code, namespace), BLOCK_TIMEOUT))
            else:
                exec(code, namespace)
    except Exception as exc:
        raise AssertionError(f"{block.where} failed: {exc!r}\nit printed:\n{printed.getvalue()}") from exc
    return printed.getvalue()


def check_json(block: Block, namespace: dict) -> None:
    try:
        doc = json.loads(block.body)
    except json.JSONDecodeError as exc:
        raise AssertionError(f"{block.where}: not JSON: {exc}") from exc
    if isinstance(doc, dict) and "schema_version" in doc:
        g = namespace.get("g")
        assert g is not None, f"{block.where}: a graph document needs a python block before it that builds `g`"
        assert doc == g.export_config(), f"{block.where}: differs from g.export_config()"


def _close(loop: asyncio.AbstractEventLoop) -> None:
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.wait_for(asyncio.gather(*pending, return_exceptions=True), 10))
    loop.close()


def files_with(*langs: str) -> list:
    return [
        pytest.param(p, id=p.relative_to(ROOT).as_posix())
        for p in DOC_FILES
        if any(b.lang in langs for b in blocks_of(p))
    ]


@pytest.mark.parametrize("path", files_with("python", "json"))
def test_python_and_json_blocks_run_as_written(path: Path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    notebook = NOTEBOOK_MARKER in path.read_text(encoding="utf-8")
    namespace: dict = {"__name__": "__docs__"}
    loop = asyncio.new_event_loop()
    try:
        for block in blocks_of(path):
            if block.lang == "python":
                check_prints(block, run_python(block, namespace, loop, notebook))
            elif block.lang == "json":
                check_json(block, namespace)
    finally:
        _close(loop)


@pytest.mark.parametrize("path", [pytest.param(p, id=p.relative_to(ROOT).as_posix()) for p in DOC_FILES])
def test_every_fence_has_a_rule(path: Path):
    unknown = [f"{b.where} ```{b.lang}" for b in blocks_of(path) if b.lang not in KNOWN]
    assert unknown == [], "fences with no rule in tests/test_docs.py (python, json, sh or rust)"


@pytest.mark.parametrize("path", files_with("rust"))
def test_rust_blocks_are_compiled_by_cargo_test(path: Path):
    """A file with rust blocks is a doc comment of the crate (``#[doc = include_str!(...)]`` in lib.rs), so
    ``cargo test`` compiles and runs its blocks."""
    lib = (ROOT / "rust" / "core" / "src" / "lib.rs").read_text(encoding="utf-8")
    included = {
        (ROOT / "rust" / "core" / "src" / rel).resolve() for rel in re.findall(r'include_str!\("([^"]+)"\)', lib)
    }
    assert path.resolve() in included, f"{path.relative_to(ROOT)} has rust blocks that cargo test does not compile"


def test_the_doc_files_are_found():
    names = {p.relative_to(ROOT).as_posix() for p in DOC_FILES}
    assert {"README.md", "docs/graph-schema.md", "docs/notebooks.md"} <= names
    assert any(b.lang == "python" for b in blocks_of(ROOT / "README.md"))
