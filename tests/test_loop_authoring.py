"""Loops written with @graph(until=...) (the node takes the name it is given) and loops in documents."""

import json

import pytest

from operonx import END, PARENT, START, GraphOp, Operon, graph
from operonx.errors import GraphError, GraphValidationError

from loop_helpers import counter, double, outer_graph, outputs, step

pytestmark = pytest.mark.timeout(30)


# -- @graph -----------------------------------------------------------------------------------------


@graph
def counting(count):
    a = step(n=count)
    a["n"] >> PARENT["count"]
    START >> a


async def test_graph_with_until_is_a_loop_node_with_the_given_name():
    with GraphOp(name="g") as g:
        d = double(x=PARENT["x"])
        c = counting(count=d["y"], until="count >= 7", max_iterations=5, name="tally")
        START >> d >> c >> END
    assert c.name == "tally" and c.is_loop and c.max_iterations == 5
    result = await Operon(g).run({"x": 2})
    assert outputs(result) == {"count": 7}
    assert "g.tally" in result["$state"].loops


async def test_a_root_graph_loop_from_a_factory():
    g = counting(count=None, until="count >= 3")
    assert g.is_loop and g.max_iterations == 100
    assert outputs(await Operon(g).run({"count": 0})) == {"count": 3}


async def test_a_decorator_until_makes_every_graph_a_loop():
    @graph(until="count >= 2", max_iterations=50)
    def twice(count):
        a = step(n=count)
        a["n"] >> PARENT["count"]
        START >> a

    g = twice(count=0)
    assert g.until == "count >= 2" and g.max_iterations == 50
    assert outputs(await Operon(g).run({})) == {"count": 2}

    @graph(name="named_loop", until="count >= 2")
    def named(count):
        a = step(n=count)
        a["n"] >> PARENT["count"]
        START >> a

    with GraphOp(name="outer") as outer:
        node = named(count=PARENT["c"])
        START >> node >> END
    assert node.name == "named_loop" and node.full_name == "outer.named_loop"
    result = await Operon(outer).run({"c": 0})
    assert outputs(result) == {"count": 2} and "outer.named_loop" in result["$state"].loops


async def test_max_iterations_text_is_computed_from_the_arguments_and_parameters_see_it():
    seen = {}

    @graph
    def retry(count, retries, until=None, max_iterations=7):
        seen["until"] = until
        seen["max"] = max_iterations
        a = step(n=count)
        a["n"] >> PARENT["count"]
        START >> a

    g = retry(count=0, retries=2, until="count >= 100", max_iterations="retries + 1")
    assert g.max_iterations == 3
    assert seen == {"until": "count >= 100", "max": "retries + 1"}
    assert outputs(await Operon(g).run({})) == {"count": 3}
    plain = retry(count=0, retries=2)
    assert not plain.is_loop
    assert retry(count=0, retries=2, until="count > 1").max_iterations == 7
    with pytest.raises(GraphError, match="max_iterations"):
        retry(count=0, retries=2, until="count > 1", max_iterations="nope + 1")


# -- documents --------------------------------------------------------------------------------------


def test_the_document_carries_the_loop():
    doc = counter().export_config()
    assert doc["loop"] == {"until": "count >= 3", "max_iterations": 10}
    assert doc["inputs"]["count"]["literal"] == 0
    nested = outer_graph().export_config()["ops"]["lp"]
    assert nested["loop"]["max_iterations"] == 10
    assert nested["loop"]["until"] == {"callable": "outer_graph.<locals>.<lambda>"}
    json.dumps(nested)


def test_a_document_with_a_callable_until_is_refused_by_an_engine_without_that_callable():
    from operonx import _core

    doc = json.dumps(outer_graph().export_config())
    with pytest.raises(GraphValidationError, match="until"):
        _core.Engine(doc, [])
