"""``Operon.from_json``: export -> JSON file -> a fresh interpreter gives the same result; what a document
may be given as; the ``ops=`` mapping; and the errors for ops, functions and versions it cannot run."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import roundtrip_ops
from operonx import END, PARENT, START, FuncOp, GraphOp, Middleware, Operon, op, registry
from operonx.errors import GraphError, GraphTypeError, GraphValidationError, OperonUsageError, SchemaVersionError

TESTS = Path(__file__).resolve().parent
INPUTS = {"text": "a bb ccc", "start": 0}


def plain(result: dict) -> dict:
    return {k: v for k, v in result.items() if k != "$state"}


def python(code: str, cwd: Path) -> subprocess.CompletedProcess:
    """``code`` in a fresh interpreter that can import the test helpers (bounded: a hang fails)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_an_exported_file_runs_in_a_fresh_interpreter_with_the_same_result(tmp_path):
    path = tmp_path / "trip.json"
    export = python(
        "import json, roundtrip_ops\n"
        "from operonx import Operon\n"
        "g = roundtrip_ops.build()\n"
        f"open({str(path)!r}, 'w').write(json.dumps(g.export_config()))\n"
        f"r = Operon(g).run_sync({INPUTS!r})\n"
        "print(json.dumps({k: v for k, v in r.items() if k != '$state'}, sort_keys=True))\n",
        tmp_path,
    )
    assert export.returncode == 0, export.stderr
    run = python(
        "import json, roundtrip_ops\n"
        "from operonx import Operon\n"
        f"e = Operon.from_json({str(path)!r})\n"
        f"r = e.run_sync({INPUTS!r})\n"
        "print(json.dumps({k: v for k, v in r.items() if k != '$state'}, sort_keys=True))\n"
        f"print([(f.op, f.context, f.data) for f in e.start({INPUTS!r})])\n",
        tmp_path,
    )
    assert run.returncode == 0, run.stderr
    first, frames = run.stdout.splitlines()
    assert json.loads(first) == json.loads(export.stdout) == plain(Operon(roundtrip_ops.build()).run_sync(INPUTS))
    assert json.loads(first) == {
        "loud": ["A", "BB", "CCC"], "joined": "a-bb-ccc", "n": 3, "said": "L:long", "count": 3,
    }
    expected = [(f.op, f.context, f.data) for f in Operon(roundtrip_ops.build()).start(INPUTS)]
    assert frames == repr(expected)


def test_a_fresh_interpreter_that_did_not_import_the_ops_names_them(tmp_path):
    path = tmp_path / "trip.json"
    path.write_text(json.dumps(roundtrip_ops.build().export_config()))
    run = python(f"from operonx import Operon\nOperon.from_json({str(path)!r})\n", tmp_path)
    assert run.returncode == 1
    err = run.stderr.strip().splitlines()
    assert "operonx.errors.GraphError: graph 'trip' cannot run from its document (7 problems):" in err
    for op_name, func in [("trip.s", "split"), ("trip.counter.b", "bump"), ("trip.long_say", "say")]:
        assert (
            f"  - op '{op_name}' calls '{func}', which no @op function registers: import the module that defines "
            f"it, or pass Operon.from_json(..., ops={{'{func}': function}})"
        ) in err


@pytest.mark.parametrize("form", ["text", "bytes", "dict", "str path", "Path"])
def test_a_document_is_read_from_text_a_dict_or_a_file(form, tmp_path):
    doc = roundtrip_ops.build().export_config()
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(doc))
    source = {
        "text": json.dumps(doc, indent=2), "bytes": json.dumps(doc).encode(), "dict": doc,
        "str path": str(path), "Path": path,
    }[form]
    before = json.dumps(doc)
    engine = Operon.from_json(source)
    assert plain(engine.run_sync(INPUTS))["said"] == "L:long"
    assert json.dumps(doc) == before  # a dict is read, never changed
    assert engine.serialize() == doc
    assert repr(engine) == repr(Operon(roundtrip_ops.build()))


async def test_a_document_engine_runs_async_with_middleware_and_schemas():
    seen = []

    class Spy(Middleware):
        async def before_run(self, graph, inputs, context):
            seen.append(graph["name"])
            return inputs

    doc = roundtrip_ops.build().export_config()
    engine = Operon.from_json(doc, middleware=[Spy()])
    out = await asyncio.wait_for(engine.run(INPUTS), 10)
    assert out["count"] == 3 and seen == ["trip"]
    built = Operon(roundtrip_ops.build())
    assert engine.input_schema() == built.input_schema()
    assert engine.output_schema() == built.output_schema()
    with pytest.raises(OperonUsageError, match="made from a graph document and has no GraphOp"):
        engine.graph


def test_a_wrong_or_missing_schema_version_is_a_schema_version_error():
    doc = roundtrip_ops.build().export_config()
    with pytest.raises(SchemaVersionError, match=r'schema_version "2\.0"; this engine reads schema_version "1\.0"'):
        Operon.from_json({**doc, "schema_version": "2.0"})
    del doc["schema_version"]
    with pytest.raises(SchemaVersionError, match="schema_version <missing>"):
        Operon.from_json(doc)


def test_ops_overrides_the_registry_and_binds_transform_functions():
    def double(x):
        return {"y": x * 2}

    with GraphOp(name="plainfns") as g:
        # a FuncOp's function is registered too, while the FuncOp lives
        a = FuncOp(code_fn=double, inputs={"x": PARENT["x"].apply(lambda v: v + 1)}, name="a")
        START >> a >> END
    doc = g.export_config()
    with pytest.raises(GraphError) as raised:
        Operon.from_json(doc)
    text = str(raised.value)
    assert "graph 'plainfns' cannot run from its document (1 problem):" in text
    assert "  - a .apply() of input 'x' of op 'plainfns.a' names the function " in text
    qual = double.__qualname__
    lam = f"{qual.rsplit('.', 1)[0]}.<lambda>"
    assert Operon.from_json(doc, ops={lam: lambda v: v + 10}).run_sync({"x": 1})["y"] == 22
    # ops= wins over the registry, and takes @op functions too
    @op
    def triple(x):
        return {"y": x * 3}

    assert Operon.from_json(doc, ops={qual: triple, lam: abs}).run_sync({"x": -2})["y"] == 6
    # ops= may also name the op itself (as the Rust builder's names may)
    assert Operon.from_json(doc, ops={"a": triple, lam: abs}).run_sync({"x": -2})["y"] == 6


def test_a_builtin_named_by_a_transform_is_found():
    @op
    def echo_len(n):
        return {"n": n}

    with GraphOp(name="lens") as g:
        a = echo_len(n=PARENT["s"].apply(len))
        START >> a >> END
    assert Operon.from_json(g.export_config()).run_sync({"s": "abcd"})["n"] == 4


def test_a_callable_until_comes_from_ops():
    @op
    def step(n):
        return {"n": n + 1}

    def done(v):
        return v["n"] >= 4

    with GraphOp.loop(name="lp", until=done, max_iterations=10, n=0) as g:
        a = step(n=PARENT["n"])
        START >> a >> END
    doc = g.export_config()
    with pytest.raises(GraphError, match=r"the until of graph 'lp' names the function '.*done'"):
        Operon.from_json(doc)
    assert Operon.from_json(doc, ops={done.__qualname__: done}).run_sync({})["n"] == 4


def test_a_literal_the_document_shows_only_as_a_repr_is_refused():
    @op
    def take(v):
        return {"v": v}

    with GraphOp(name="reprs") as g:
        a = take(v=object())
        START >> a >> END
    with pytest.raises(GraphError, match=r"input 'v' of op 'reprs.a' holds a Python object written only as its repr"):
        Operon.from_json(g.export_config())


def test_a_function_of_another_kind_than_the_document_says_is_refused():
    @op
    def sync_one(x):
        return {"y": x}

    async def async_one(x):
        return {"y": x}

    def gen_one(x):
        yield {"y": x}

    with GraphOp(name="kinds") as g:
        a = sync_one(x=PARENT["x"])
        START >> a >> END
    doc = g.export_config()
    name = sync_one.qualname
    with pytest.raises(GraphError, match=r"op 'kinds.a' is not async in the document, but its function .* is async"):
        Operon.from_json(doc, ops={name: async_one})
    with pytest.raises(GraphError, match=r"op 'kinds.a' is not a generator in the document, but its function"):
        Operon.from_json(doc, ops={name: gen_one})


def test_bad_sources_and_ops_mappings_are_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="no file 'missing.json'"):
        Operon.from_json("missing.json")
    with pytest.raises(GraphError, match="the JSON text is not valid JSON"):
        Operon.from_json("{not json")
    bad = tmp_path / "list.json"
    bad.write_text("[1, 2]")
    with pytest.raises(GraphError, match="holds a JSON list, not a graph document"):
        Operon.from_json(bad)
    with pytest.raises(GraphTypeError, match="not int"):
        Operon.from_json(5)  # type: ignore[arg-type]
    doc = roundtrip_ops.build().export_config()
    with pytest.raises(GraphTypeError, match="ops= must map names to functions"):
        Operon.from_json(doc, ops={"split": 3})  # type: ignore[dict-item]


def test_a_document_the_engine_finds_invalid_is_a_validation_error():
    doc = roundtrip_ops.build().export_config()
    doc["entries"] = ["nowhere"]
    with pytest.raises(GraphValidationError):
        Operon.from_json(doc)


def test_the_registry_is_not_asked_for_the_op_name_when_the_func_name_is_missing():
    @op
    def opname_decoy(x):
        return {"y": "decoy"}

    with GraphOp(name="decoy") as g:
        a = FuncOp(code_fn=lambda x: {"y": x}, inputs={"x": PARENT["x"]}, name="opname_decoy")
        START >> a >> END
    doc = g.export_config()
    assert doc["ops"]["opname_decoy"]["func_name"].endswith("<lambda>")
    doc["ops"]["opname_decoy"]["func_name"] = "not_imported_anywhere"
    assert registry.lookup("opname_decoy").op is opname_decoy
    with pytest.raises(GraphError, match="op 'decoy.opname_decoy' calls 'not_imported_anywhere'"):
        Operon.from_json(doc)


def test_a_hand_written_document_binds_by_bare_name_and_by_op_name():
    """As the Rust crate does: ``func_name`` finds a function by its bare name; an op written
    without one is looked up by its own name."""

    @op
    def handwritten_inc(x):
        return {"y": x + 1}

    def code_op(func_name=None):
        d = {
            "type": "code", "inputs": {"x": {"required": True, "default": None,
                                               "ref": {"source": "hw", "var": "x", "transforms": []}}},
            "outputs": {"y": {"required": False, "default": None, "ref": None}},
        }
        if func_name:
            d["func_name"] = func_name
        return d

    for ops in ({"a": code_op("handwritten_inc")}, {"handwritten_inc": code_op()}):
        name = next(iter(ops))
        doc = {
            "schema_version": "1.0", "type": "graph", "name": "hw", "full_name": "hw", "ops": ops,
            "edges": [], "entries": [name], "exits": [name], "inputs": {}, "outputs": {},
        }
        assert Operon.from_json(doc).run_sync({"x": 1})["y"] == 2


SAME_NAME = """
from operonx import op

@op
def same_name_fn(x):
    return {"y": __name__}
"""


def test_the_module_a_document_names_settles_a_name_two_modules_share():
    first: dict = {"__name__": "same_a"}
    exec(compile(SAME_NAME, "/virtual/same_a.py", "exec"), first)
    second: dict = {"__name__": "same_b"}
    exec(compile(SAME_NAME, "/virtual/same_b.py", "exec"), second)
    with GraphOp(name="same") as g:
        a = second["same_name_fn"](x=PARENT["x"])
        START >> a >> END
    doc = g.export_config()
    assert (doc["ops"]["a"]["func_name"], doc["ops"]["a"]["module"]) == ("same_name_fn", "same_b")
    assert Operon.from_json(doc).run_sync({"x": 0})["y"] == "same_b"
    del doc["ops"]["a"]["module"]
    with pytest.raises(GraphError, match=r"'same_name_fn' is ambiguous: 2 @op functions answer to it: "
                                         r"'same_a.same_name_fn' \(/virtual/same_a.py:4\) and 'same_b.same_name_fn'"):
        Operon.from_json(doc)


def test_a_function_of_main_is_written_without_its_module(tmp_path):
    script = tmp_path / "exported_script.py"
    script.write_text(
        "import json, sys\n"
        "from operonx import END, PARENT, START, GraphOp, op\n"
        "@op\n"
        "def script_step(x):\n"
        "    return {'y': x * 5}\n"
        "with GraphOp(name='script') as g:\n"
        "    a = script_step(x=PARENT['x'])\n"
        "    START >> a >> END\n"
        "if __name__ == '__main__':\n"
        "    print(json.dumps(g.export_config()))\n"
    )
    export = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
    )
    assert export.returncode == 0, export.stderr
    doc = json.loads(export.stdout)
    assert "module" not in doc["ops"]["a"]
    (tmp_path / "script.json").write_text(export.stdout)
    # the script imported under its file name binds by func_name
    run = python(
        "import exported_script\nfrom operonx import Operon\n"
        "print(Operon.from_json('script.json').run_sync({'x': 2})['y'])\n",
        tmp_path,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "10"


def test_a_thousand_levels_of_nesting_run_from_a_dict_and_from_text():
    from test_control_flow import nested

    doc = nested(1000).export_config()
    limit = sys.getrecursionlimit()
    engine = Operon.from_json(doc)
    assert engine.run_sync({"x": 0})["y"] == 1001
    assert sys.getrecursionlimit() == limit
    sys.setrecursionlimit(20_000)
    try:
        text = json.dumps(doc)  # the test's own writer needs the room
    finally:
        sys.setrecursionlimit(limit)
    assert Operon.from_json(text).run_sync({"x": 0})["y"] == 1001
    assert engine.serialize()["ops"].keys() == doc["ops"].keys()
