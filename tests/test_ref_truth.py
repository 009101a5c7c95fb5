"""A Ref has no truth value while the graph is built (spec.md, deviation table): `ref and ref`, `not ref`,
`if ref:` and chained comparisons such as `1 < ref < 5` raise TypeError naming &, |, ~, instead of silently
dropping a condition as 0.7.1 does; conditions combined with &, |, ~ keep working."""

from __future__ import annotations

import asyncio

import pytest

from operonx import END, PARENT, START, GraphOp, Operon, op
from operonx.core.ops import if_

pytestmark = pytest.mark.timeout(30)


@op
def a(x):
    return {"v": x}


def _truth_uses():
    x, y = PARENT["x"], PARENT["y"]
    return {
        "bool": lambda: bool(x),
        "and": lambda: (x > 1) and (y < 5),
        "or": lambda: (x > 1) or (y < 5),
        "not": lambda: not x,
        "if": lambda: 1 if x else 0,
        "chained": lambda: 1 < x < 5,
        "op output": lambda: bool(a(x=PARENT["x"])["v"]),
    }


@pytest.mark.parametrize("use", sorted(_truth_uses()))
def test_a_ref_used_as_a_bool_is_a_type_error_naming_the_operators(use):
    with GraphOp(name="g"):
        fn = _truth_uses()[use]
        with pytest.raises(TypeError) as caught:
            fn()
    message = str(caught.value)
    assert "&" in message and "|" in message and "~" in message


async def test_conditions_combined_with_operators_still_route():
    with GraphOp(name="g") as g:
        router = if_((PARENT["x"] > 1) & (PARENT["x"] < 5), "inside").else_("outside")
        inside = a(x=PARENT["x"], name="inside")
        outside = a(x=PARENT["x"], name="outside")
        START >> router >> [inside, outside] >> END
    engine = Operon(g)
    for x, want in [(0, "outside"), (3, "inside"), (7, "outside")]:
        result = await asyncio.wait_for(engine.run({"x": x}), 5)
        assert result["$state"]["g.router", "target"] == want
