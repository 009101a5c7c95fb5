"""Loop errors: an until that names an unknown variable, raises or cannot be read by the engine, a
failing body op, and bad until / max_iterations arguments."""

import asyncio
import json

import pytest

from operonx import END, PARENT, START, GraphOp, Operon, op
from operonx.errors import GraphError, GraphTypeError, GraphValidationError, OpError

from loop_helpers import counter, double, outputs, step

pytestmark = pytest.mark.timeout(30)


async def test_an_until_over_an_unknown_name_fails_naming_the_loop_and_the_name():
    with pytest.raises(OpError) as info:
        await Operon(counter(until="cnt >= 3")).run({})
    message = str(info.value)
    assert "'lp'" in message and "'cnt'" in message and "loop_0" in message


async def test_an_until_that_raises_fails_the_run_with_the_cause():
    def boom(variables):
        raise ValueError("no verdict")

    with pytest.raises(OpError, match="until") as info:
        await Operon(counter(until=boom)).run({})
    assert isinstance(info.value.__cause__, ValueError)


async def test_with_errors_continue_a_failed_until_skips_the_loop_and_its_successors():
    with GraphOp(name="g") as g:
        with GraphOp.loop(name="lp", until="missing > 1", n=0) as lp:
            s = step(n=PARENT["n"])
            START >> s >> END
        after = double(x=lp["n"])
        other = double(x=PARENT["x"])
        START >> [lp, other]
        lp >> after >> END
        other >> END
    result = await Operon(g).run({"x": 2}, errors="continue")
    assert outputs(result) == {"y": 4}
    assert len(result["$errors"]) == 1 and "missing" in str(result["$errors"][0])


async def test_an_op_that_raises_inside_the_body_names_its_iteration():
    @op
    def fragile(n: int):
        if n == 2:
            raise RuntimeError("two")
        return {"n": n + 1}

    with GraphOp.loop(name="lp", until="n >= 5", n=0) as g:
        s = fragile(n=PARENT["n"])
        START >> s >> END
    handle = Operon(g).start({})
    got = []

    async def consume():
        async for f in handle:
            got.append(f[1])

    with pytest.raises(OpError, match="loop_2"):
        await asyncio.wait_for(consume(), 5)
    # what was produced before the failure came through
    assert got == [("main", "loop_0"), ("main", "loop_1")]


def test_an_until_the_engine_cannot_read_is_refused_when_the_loop_is_made():
    with pytest.raises(GraphError, match=r"loop 'lp': until='count in \[1, 2\]' cannot be read: 'in'"):
        counter(until="count in [1, 2]")


def test_a_document_whose_until_the_engine_cannot_read_is_a_validation_error_at_build():
    from operonx import _core
    from operonx.document import engine_document

    text, hosts = engine_document(counter())
    doc = json.loads(text)
    doc["loop"]["until"] = "count in [1, 2]"
    with pytest.raises(GraphValidationError, match="until"):
        _core.Engine(json.dumps(doc), hosts)


@pytest.mark.parametrize("until", ["count >=", "count ==== 1"])
def test_an_until_that_is_not_an_expression_is_refused_when_the_loop_is_made(until):
    with pytest.raises(GraphError, match="until"):
        counter(until=until)


@pytest.mark.parametrize("max_iterations", [0, -1, 2.5, "3", True, None])
def test_max_iterations_must_be_a_positive_int(max_iterations):
    with pytest.raises(GraphError, match="max_iterations"):
        counter(max_iterations=max_iterations)


def test_until_must_be_text_a_callable_or_none():
    with pytest.raises(GraphTypeError, match="until"):
        counter(until=3)
