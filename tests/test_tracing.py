"""Trace files of LocalTracer compared field by field with spec.md's "Middleware and tracing" (and
what operonx 0.7.1 writes for the same graphs: a chain, a stream and a nested graph)."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime

import pytest

import operonx.tracing
from operonx import END, PARENT, START, GraphOp, Operon, op
from operonx.errors import OpError

T = 10.0
NODE_FIELDS = [
    "trace_key", "parent_trace_key", "op_name", "display_name", "node_type", "kind", "inputs", "outputs",
    "start_time", "end_time", "duration_ms", "metadata", "model", "usage", "cost", "media",
]


@op
def inc(x: int):
    return {"y": x + 1}


@op
def double(y: int, z=None):
    return {"z": y * 2, "none": None}


@op
def count(n: int):
    for i in range(n):
        yield {"item": i}


@op
def sq(item: int):
    return {"sq": item * item}


@op
def tagged(x: int):
    return {"y": x, "$tags": ["from-run", "t1"]}


@op
def boom(x: int):
    raise ValueError("boom")


async def traced(engine: Operon, inputs: dict, **kw) -> dict:
    result = await asyncio.wait_for(engine.run(inputs, **kw), T)
    assert operonx.tracing.flush(T)
    return result


def read(tmp_path, request_id: str) -> dict:
    return json.loads((tmp_path / f"{request_id}.json").read_text())


def when(text: str) -> datetime:
    assert text.endswith("Z"), text
    return datetime.fromisoformat(text[:-1] + "+00:00")


def check_times(node: dict) -> None:
    start, end = when(node["start_time"]), when(node["end_time"])
    assert start <= end
    assert node["duration_ms"] == pytest.approx((end - start).total_seconds() * 1000, abs=0.01)


def check_op_node(node: dict, key: str, parent: str, kind: str, inputs: dict, outputs: dict, fn: str) -> None:
    assert list(node) == NODE_FIELDS
    assert node["trace_key"] == key and node["parent_trace_key"] == parent
    assert node["op_name"] == key.split(":")[0] and node["display_name"] == key.split(":")[0].rsplit(".", 1)[1]
    assert (node["node_type"], node["kind"]) == ("span", kind)
    assert (node["inputs"], node["outputs"]) == (inputs, outputs)
    assert (node["model"], node["usage"], node["cost"], node["media"]) == (None, None, None, [])
    assert node["metadata"]["kind"] == kind and node["metadata"]["function_name"] == fn
    assert f"def {fn}(" in node["metadata"]["code_fn"]
    check_times(node)


def check_root(doc: dict, graph: str, inputs: dict, outputs: dict) -> None:
    root = doc["nodes"][0]
    assert list(root) == NODE_FIELDS
    assert (root["trace_key"], root["parent_trace_key"], root["op_name"], root["display_name"]) == (
        f"{graph}:main", None, graph, graph,
    )
    assert (root["node_type"], root["kind"], root["metadata"]) == ("trace", "batch", {"kind": "batch"})
    assert (root["inputs"], root["outputs"]) == (inputs, outputs)
    check_times(root)


def check_summary(doc: dict, **expected) -> None:
    summary = doc["summary"]
    durations = sum(n["duration_ms"] or 0 for n in doc["nodes"])
    assert summary.pop("total_duration_ms") == pytest.approx(round(durations, 2), abs=0.011)
    assert summary == {"loop_iterations": 0, "error_count": 0, "stream_count": 0, "total_yields": 0, **expected}


def chain() -> GraphOp:
    with GraphOp(name="chain") as g:
        a = inc(x=PARENT["x"])
        b = double(y=a["y"])
        t = tagged(x=a["y"])
        START >> a >> [b, t]
        b >> END
    return g


async def test_chain_trace_file_field_by_field(tmp_path):
    engine = Operon(chain(), tracer=operonx.tracing.LocalTracer(path=tmp_path, tags=["t1", "team"]))
    await traced(engine, {"x": 1, "unused": None}, request_id="chain-1", user_id="u1", session_id="s1")
    doc = read(tmp_path, "chain-1")
    assert list(doc) == ["request_id", "user_id", "session_id", "workflow_name", "tags", "nodes", "summary"]
    assert (doc["request_id"], doc["user_id"], doc["session_id"], doc["workflow_name"]) == (
        "chain-1", "u1", "s1", "chain",
    )
    assert doc["tags"] == ["t1", "team", "from-run"]  # the tracer's tags, then the run's, each once
    assert [n["trace_key"] for n in doc["nodes"]] == ["chain:main", "chain.a:main", "chain.b:main", "chain.t:main"]
    check_root(doc, "chain", {"x": 1}, {"z": 4})
    a, b, t = doc["nodes"][1:]
    check_op_node(a, "chain.a:main", "chain:main", "batch", {"x": 1}, {"y": 2}, "inc")
    # b's input z is None (its default): left out, as is its None output
    check_op_node(b, "chain.b:main", "chain:main", "batch", {"y": 2}, {"z": 4}, "double")
    check_op_node(t, "chain.t:main", "chain:main", "batch", {"x": 2}, {"y": 2}, "tagged")
    check_summary(doc, total_ops=4, total_records=4)


async def test_stream_trace_file_field_by_field(tmp_path):
    with GraphOp(name="stream") as g:
        c = count(n=PARENT["n"])
        s = sq(item=c["item"])
        START >> c >> s >> END
    engine = Operon(g)
    await traced(engine, {"n": 3}, request_id="stream-1", tracer=operonx.tracing.LocalTracer(path=tmp_path))
    doc = read(tmp_path, "stream-1")
    assert doc["tags"] is None
    assert [n["trace_key"] for n in doc["nodes"]] == [
        "stream:main", "stream.c:main",
        "$ctx:stream:main.[0]", "stream.s:main.[0]",
        "$ctx:stream:main.[1]", "stream.s:main.[1]",
        "$ctx:stream:main.[2]", "stream.s:main.[2]",
    ]
    check_root(doc, "stream", {"n": 3}, {"sq": 4})
    gen = doc["nodes"][1]
    check_op_node(gen, "stream.c:main", "stream:main", "generator", {"n": 3}, {"item": [0, 1, 2]}, "count")
    assert gen["metadata"]["yield_count"] == 3
    for i in range(3):
        ctx, item = doc["nodes"][2 + 2 * i], doc["nodes"][3 + 2 * i]
        assert list(ctx) == NODE_FIELDS
        assert (ctx["trace_key"], ctx["parent_trace_key"], ctx["op_name"], ctx["display_name"]) == (
            f"$ctx:stream:main.[{i}]", "stream.c:main", None, f"[{i}]",
        )
        assert (ctx["node_type"], ctx["kind"], ctx["inputs"], ctx["outputs"], ctx["metadata"]) == (
            "span", "stream_context", {}, {}, {},
        )
        # a context spans its items' executions
        assert (ctx["start_time"], ctx["end_time"]) == (item["start_time"], item["end_time"])
        check_op_node(
            item, f"stream.s:main.[{i}]", f"$ctx:stream:main.[{i}]", "batch", {"item": i}, {"sq": i * i}, "sq"
        )
    check_summary(doc, total_ops=3, total_records=5, stream_count=1, total_yields=3)


async def test_nested_graph_trace_file_field_by_field(tmp_path):
    with GraphOp(name="outer") as g:
        a = inc(x=PARENT["x"])
        with GraphOp(name="inner", inputs={"v": a["y"]}) as inner:
            b = double(y=PARENT["v"])
            START >> b >> END
        c = inc(name="c", x=inner["z"])
        START >> a >> inner >> c >> END
    engine = Operon(g, tracer=[operonx.tracing.LocalTracer(path=tmp_path)])
    await traced(engine, {"x": 1}, request_id="nested-1")
    doc = read(tmp_path, "nested-1")
    assert len(doc["user_id"]) == 36 and len(doc["session_id"]) == 36  # made up (uuids)
    keys = [n["trace_key"] for n in doc["nodes"]]
    assert keys == ["outer:main", "outer.a:main", "outer.inner:main", "outer.inner.b:main", "outer.c:main"]
    check_root(doc, "outer", {"x": 1}, {"y": 5})
    a, sub, b, c = doc["nodes"][1:]
    check_op_node(a, "outer.a:main", "outer:main", "batch", {"x": 1}, {"y": 2}, "inc")
    assert list(sub) == NODE_FIELDS
    assert (sub["parent_trace_key"], sub["op_name"], sub["display_name"], sub["node_type"], sub["kind"]) == (
        "outer:main", "outer.inner", "inner", "span", "graph",
    )
    assert (sub["inputs"], sub["outputs"], sub["metadata"]) == ({"v": 2}, {"z": 4}, {"kind": "graph"})
    check_times(sub)
    check_op_node(b, "outer.inner.b:main", "outer.inner:main", "batch", {"y": 2}, {"z": 4}, "double")
    assert when(sub["start_time"]) <= when(b["start_time"]) and when(b["end_time"]) <= when(sub["end_time"])
    check_op_node(c, "outer.c:main", "outer:main", "batch", {"x": 4}, {"y": 5}, "inc")
    check_summary(doc, total_ops=5, total_records=5)


async def test_a_failed_op_is_in_the_trace_with_its_error(tmp_path):
    with GraphOp(name="bad") as g:
        a = inc(x=PARENT["x"])
        b = boom(x=a["y"])
        START >> a >> b >> END
    engine = Operon(g, tracer=operonx.tracing.LocalTracer(path=tmp_path))
    with pytest.raises(OpError):
        await traced(engine, {"x": 1}, request_id="bad-1")
    assert operonx.tracing.flush(T)
    doc = read(tmp_path, "bad-1")
    failed = doc["nodes"][2]
    assert failed["trace_key"] == "bad.b:main" and failed["metadata"]["error"] == "ValueError: boom"
    assert "boom" in doc["nodes"][0]["metadata"]["error"]
    assert doc["summary"]["error_count"] == 1


async def test_no_tracer_no_file_and_a_run_tracer_replaces_the_engine_one(tmp_path):
    engine_dir, run_dir = tmp_path / "engine", tmp_path / "run"
    engine = Operon(chain(), tracer=operonx.tracing.LocalTracer(path=engine_dir))
    await traced(engine, {"x": 1}, request_id="r1", tracer=operonx.tracing.LocalTracer(path=run_dir))
    assert [p.name for p in run_dir.iterdir()] == ["r1.json"] and not engine_dir.exists()
    plain = Operon(chain())
    await traced(plain, {"x": 1}, request_id="r2")
    assert not (engine_dir / "r2.json").exists() and not (run_dir / "r2.json").exists()
    await traced(engine, {"x": 1}, request_id="r3")
    assert [p.name for p in engine_dir.iterdir()] == ["r3.json"]


async def test_start_run_sync_and_batch_take_a_tracer(tmp_path):
    tracer = operonx.tracing.LocalTracer(path=tmp_path)
    engine = Operon(chain())
    handle = engine.start({"x": 1}, request_id="s1", tracer=tracer)
    assert await asyncio.wait_for(handle.result(), T)
    await asyncio.wait_for(engine.batch([{"x": 1}, {"x": 2}], tracer=tracer), T)
    assert operonx.tracing.flush(T)
    assert read(tmp_path, "s1")["nodes"][0]["outputs"] == {"z": 4}
    assert len(list(tmp_path.iterdir())) == 3


def test_run_sync_with_a_tracer(tmp_path):
    engine = Operon(chain())
    engine.run_sync({"x": 2}, request_id="sync-1", tracer=operonx.tracing.LocalTracer(path=tmp_path))
    assert operonx.tracing.flush(T)
    assert read(tmp_path, "sync-1")["nodes"][0]["outputs"] == {"z": 6}


class Keep(operonx.tracing.Tracer):
    def __init__(self) -> None:
        super().__init__(tags=["kept"], stream_trace_limit=2)
        self.traces: list[dict] = []

    def flush(self, trace_data: dict) -> None:
        self.traces.append(trace_data)


async def test_a_python_tracer_receives_the_trace_dicts_off_the_loop_thread():
    import threading

    seen_threads: set[str] = set()

    class Where(Keep):
        def flush(self, trace_data: dict) -> None:
            seen_threads.add(threading.current_thread().name)
            super().flush(trace_data)

    tracer = Where()
    with GraphOp(name="stream") as g:
        c = count(n=PARENT["n"])
        s = sq(item=c["item"])
        START >> c >> s >> END
    engine = Operon(g, tracer=tracer)
    for i in range(3):
        await asyncio.wait_for(engine.run({"n": 5}, request_id=f"p{i}"), T)
    assert tracer.force_flush(T)
    assert [t["request_id"] for t in tracer.traces] == ["p0", "p1", "p2"]
    assert tracer.traces[0]["tags"] == ["kept"]
    # stream_trace_limit=2: the executions of items 2.. are left out, the generator keeps its count
    keys = [n["trace_key"] for n in tracer.traces[0]["nodes"]]
    assert "stream.s:main.[1]" in keys and "stream.s:main.[2]" not in keys
    assert threading.current_thread().name not in seen_threads


def test_the_0_7_1_import_path_and_bad_tracers():
    from operonx.core.tracing import LocalTracer

    assert LocalTracer is operonx.tracing.LocalTracer
    with pytest.raises(TypeError, match="tracer= takes"):
        Operon(chain(), tracer=object())
