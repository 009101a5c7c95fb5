"""Op names never collide silently (spec.md "Authoring" and the deviation table).

Ops created with no ``name=`` and no assignment target get unique names in creation order; a name the
user chose twice in one graph (``name=``, or the same assignment target, as in a ``for`` loop) is a
GraphError naming both call sites. ``name=`` as a string names the node, also when the function has a
parameter called ``name``; a Ref given as ``name=`` binds that parameter.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from operonx import END, PARENT, START, GraphOp, Operon, op
from operonx.core.ops import if_
from operonx.errors import GraphError, GraphTypeError

HERE = Path(__file__).resolve()


@op
def inc(x):
    return {"y": x + 1}


@op
def greet(name, punct="!"):
    return {"text": f"hi {name}{punct}"}


@op(name="shared")
def labelled(x):
    return {"y": x}


def test_a_comprehension_makes_unique_names_in_creation_order_and_all_run():
    with GraphOp(name="g") as g:
        ops = [inc(x=PARENT["x"]) for _ in range(3)]
        START >> ops >> END
    assert [o.name for o in ops] == ["inc", "inc_2", "inc_3"]
    assert Operon(g).run_sync({"x": 1})["y"] == [2, 2, 2]


def test_calls_inside_a_list_and_a_decorator_name_are_defaults_too():
    with GraphOp(name="g"):
        pair = [inc(x=1), inc(x=2)]
        a = labelled(x=1)
        b = labelled(x=2)
    assert [o.name for o in pair] == ["inc", "inc_2"]
    assert (a.name, b.name) == ("shared", "shared_2")


def test_a_taken_suffix_is_skipped():
    with GraphOp(name="g") as g:
        inc_2 = inc(x=0)
        ops = [inc(x=i) for i in range(3)]
    assert inc_2.name == "inc_2"
    assert [o.name for o in ops] == ["inc", "inc_3", "inc_4"]
    assert list(g.ops) == ["inc_2", "inc", "inc_3", "inc_4"]


def test_the_same_assignment_target_in_a_loop_names_both_call_sites():
    with GraphOp(name="g") as g:
        with pytest.raises(GraphError) as raised:
            for _ in range(2):
                step = inc(x=PARENT["x"])
    message = str(raised.value)
    assert "two ops named 'step'" in message and "name=" in message
    sites = [s for s in message.split() if s.startswith(str(HERE))]
    assert len(sites) == 2 and sites[0].rstrip(",;") == sites[1].rstrip(",;"), message
    assert list(g.ops) == ["step"] and step.name == "step"


def test_two_name_keywords_name_both_lines():
    with GraphOp(name="g"):
        inc(x=1, name="z")
        with pytest.raises(GraphError, match=r"two ops named 'z'") as raised:
            inc(x=2, name="z")
    found = re.search(r":(\d+), the other at .*:(\d+);", str(raised.value))
    assert found is not None
    first, second = (int(n) for n in found.groups())
    assert second == first + 2


def test_unnamed_branches_and_nested_graphs_get_unique_names():
    with GraphOp(name="g") as g:
        a = inc(x=PARENT["x"])
        START >> a
        for target in ("p", "q"):
            a >> if_(PARENT["x"] > 0, target).build()
        for _ in range(2):
            with GraphOp():
                pass
    assert [n for n in g.ops if n.startswith(("branch", "graph"))] == ["branch", "branch_2", "graph", "graph_2"]


def test_name_string_is_the_node_name_even_with_a_name_parameter():
    with GraphOp(name="g") as g:
        a = greet(name="hello", inputs={"name": PARENT["who"]})
        b = greet(name="star", inputs={"*": PARENT})
        START >> [a, b]
        a["text"] >> PARENT["a"]
        b["text"] >> PARENT["b"]
    assert (a.name, b.name) == ("hello", "star")
    assert Operon(g).run_sync({"who": "ana", "name": "bo"}) | {"$state": None} == {
        "a": "hi ana!", "b": "hi bo!", "$state": None,
    }


def test_a_ref_given_as_name_binds_the_parameter():
    with GraphOp(name="g") as g:
        hello = greet(name=PARENT["who"])
        START >> hello >> END
    assert hello.name == "hello"
    assert Operon(g).run_sync({"who": "ana"})["text"] == "hi ana!"
    with GraphOp(name="h"):
        with pytest.raises(GraphTypeError, match="'name' is not an input or output of inc"):
            inc(x=1, name=PARENT["who"])


PROBE = r'''
import importlib.util, json, sys, types
errors = types.ModuleType("operonx.errors")
errors.GraphError = ValueError
pkg = types.ModuleType("operonx"); pkg.__path__ = []
sys.modules.update({"operonx": pkg, "operonx.errors": errors})
spec = importlib.util.spec_from_file_location("naming", sys.argv[1])
naming = importlib.util.module_from_spec(spec); spec.loader.exec_module(naming)
class Obj: pass
def f(**kw):
    return naming.assigned_name(naming.caller_frame(1))
def body(obj):
    a = f(x=1)
    START = a
    b = f(
        x=2,
    )
    obj.c = f(x=3)
    d = e = f(x=4)
    g: str = f(x=5)
    lst = [f(x=i) for i in range(2)]
    h = f(x=6); k = h
    for i in range(2):
        m = f(x=i)
    return [a, b, obj.c, d, g, lst, h, m, f(x=7), START, e, k]
print(json.dumps(body(Obj())))
'''


def interpreters() -> list[str]:
    """This interpreter and every other CPython >= 3.11 on this machine (pyenv's included)."""
    found = {sys.executable}
    roots = [Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"]
    for root in roots:
        for exe in sorted(root.glob("3.1[1-9]*/bin/python3")):
            found.add(str(exe))
    return sorted(found)


@pytest.mark.parametrize("python", interpreters())
def test_names_do_not_depend_on_the_python_version(python):
    naming = HERE.parent.parent / "python" / "operonx" / "_authoring" / "naming.py"
    out = subprocess.run(
        [python, "-c", PROBE, str(naming)], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert json.loads(out) == ["a", "b", "c", "d", "g", [None, None], "h", "m", None, "a", "d", "h"]


def test_a_graph_factory_called_twice_without_a_name_makes_two_nested_graphs():
    from operonx import graph

    @graph
    def twice(x):
        step = inc(x=x)
        START >> step >> END

    with GraphOp(name="g") as g:
        subs = [twice(x=PARENT["x"]) for _ in range(2)]
        START >> subs >> END
    assert [s.name for s in subs] == ["twice", "twice_2"]
    assert Operon(g).run_sync({"x": 1})["y"] == [2, 2]
