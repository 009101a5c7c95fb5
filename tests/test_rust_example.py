"""The Rust example (examples/rust/main.rs, run by `make test` with `cargo run --example words`) loads
examples/rust/pipeline.json: that file must be the export of the graph examples/rust/pipeline.py builds,
and that graph must give, in Python, what the Rust example asserts."""

from __future__ import annotations

import asyncio
import json
import runpy
from pathlib import Path

from operonx import Operon

HERE = Path(__file__).resolve().parent.parent / "examples" / "rust"


def test_the_committed_document_is_the_export_of_the_python_graph() -> None:
    graph = runpy.run_path(str(HERE / "pipeline.py"))["g"]
    committed = json.loads((HERE / "pipeline.json").read_text())
    assert committed == graph.export_config(), "run `python examples/rust/pipeline.py` to rewrite it"


def test_the_python_graph_counts_and_shouts_every_word() -> None:
    graph = runpy.run_path(str(HERE / "pipeline.py"))["g"]
    result = asyncio.run(asyncio.wait_for(Operon(graph).run({"text": "streams of words"}), timeout=10))
    assert result["loud"] == ["STREAMS", "OF", "WORDS"]
    assert result["count"] == 3
