"""How an op's function receives its inputs. A plain function whose first parameters are the op's inputs, in
order, is called positionally (cheaper for CPython); everything else by keyword. Either way each parameter
gets the value of the input of the same name: this file checks that over functions of every shape."""

from __future__ import annotations

import asyncio
import functools

import pytest

from operonx import END, PARENT, START, GraphOp, Operon, op
from operonx.errors import OpError

pytestmark = pytest.mark.timeout(30)


def _report(**params):
    return {"got": tuple(sorted(params.items()))}


def in_order(a, b, c=3):
    return _report(a=a, b=b, c=c)


def reversed_inputs(b, a):
    return _report(a=a, b=b)


def keyword_only(a, *, b):
    return _report(a=a, b=b)


def positional_and_keyword(a, /, b):
    return _report(a=a, b=b)


def with_varargs(*args, **kwargs):
    return {"got": tuple(sorted(kwargs.items())) + (("args", args),)}


def extra_after(a, b, unused=None, other=7):
    return _report(a=a, b=b)


class Holder:
    def method(self, a, b):
        return _report(a=a, b=b)

    def __call__(self, a, b):
        return _report(a=a, b=b)


def partial_target(z, a, b):
    return _report(a=a, b=b)


async def async_in_order(a, b):
    await asyncio.sleep(0)
    return _report(a=a, b=b)


def gen_in_order(a, b):
    yield _report(a=a, b=b)


FUNCTIONS = {
    "in_order": (in_order, {"a": 1, "b": 2, "c": 3}),
    "reversed_inputs": (reversed_inputs, {"a": 1, "b": 2}),
    "keyword_only": (keyword_only, {"a": 1, "b": 2}),
    "with_varargs": (with_varargs, {"a": 1, "b": 2}),
    "extra_after": (extra_after, {"a": 1, "b": 2}),
    "bound_method": (Holder().method, {"a": 1, "b": 2}),
    "callable_object": (Holder(), {"a": 1, "b": 2}),
    "partial": (functools.partial(partial_target, 0), {"a": 1, "b": 2}),
    "async_in_order": (async_in_order, {"a": 1, "b": 2}),
}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
async def test_each_parameter_gets_the_input_of_its_name(name):
    fn, want = FUNCTIONS[name]
    f = op(fn)
    with GraphOp(name="g") as g:
        n = f(a=PARENT["a"], b=PARENT["b"])
        START >> n >> END
    result = await asyncio.wait_for(Operon(g).run({"a": 1, "b": 2}), 5)
    got = dict(result["got"])
    assert {k: got[k] for k in ("a", "b")} == {"a": 1, "b": 2}
    if name == "in_order":
        assert got == want


async def test_inputs_bound_in_another_order_than_the_parameters():
    f = op(in_order)
    with GraphOp(name="g") as g:
        n = f(c=PARENT["c"], b=PARENT["b"], a=PARENT["a"])
        START >> n >> END
    result = await asyncio.wait_for(Operon(g).run({"a": 1, "b": 2, "c": 30}), 5)
    assert dict(result["got"]) == {"a": 1, "b": 2, "c": 30}


async def test_a_positional_only_parameter_cannot_take_an_input():
    """Inputs are passed by name (as in 0.7.1), so a positional-only parameter cannot receive one: the
    op fails with the function's own TypeError."""
    f = op(positional_and_keyword)
    with GraphOp(name="g") as g:
        n = f(a=PARENT["a"], b=PARENT["b"])
        START >> n >> END
    with pytest.raises(OpError) as caught:
        await asyncio.wait_for(Operon(g).run({"a": 1, "b": 2}), 5)
    assert isinstance(caught.value.__cause__, TypeError)
    assert "positional-only" in str(caught.value.__cause__)


async def test_a_generator_op_gets_its_inputs_by_name():
    f = op(gen_in_order)
    with GraphOp(name="g") as g:
        n = f(b=PARENT["b"], a=PARENT["a"])
        START >> n >> END
    result = await asyncio.wait_for(Operon(g).run({"a": 1, "b": 2}), 5)
    assert dict(result["got"]) == {"a": 1, "b": 2}
