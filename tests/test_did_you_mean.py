"""A missing required input names a key of its source that looks like a typo of the one it reads."""

from __future__ import annotations

import pytest

from operonx import END, PARENT, START, GraphOp, Operon, op
from operonx.errors import InputError


@op
def take(text):
    return {"out": text}


@op
def produce(x):
    return {"value": x}


def root_graph():
    with GraphOp(name="g") as g:
        a = take(text=PARENT["text"])
        START >> a >> END
    return g


@pytest.mark.parametrize(
    ("given", "suggested"),
    [({"txet": 1}, "txet"), ({"Text": 1, "other": 2}, "Text"), ({"tex": 1}, "tex"), ({"te_xt": 1}, "te_xt")],
)
def test_a_run_input_that_looks_like_a_typo_is_named(given, suggested):
    with pytest.raises(InputError, match=f"did you mean '{suggested}'") as raised:
        Operon(root_graph()).run_sync(given)
    assert raised.value.suggestion == suggested
    assert raised.value.input == "text"


@pytest.mark.parametrize("given", [{}, {"zzzz": 1}, {"payload": 1}])
def test_no_key_is_suggested_when_none_is_close(given):
    with pytest.raises(InputError) as raised:
        Operon(root_graph()).run_sync(given)
    assert raised.value.suggestion is None
    assert "did you mean" not in str(raised.value)


def test_an_op_output_that_looks_like_a_typo_is_named():
    @op
    def emit(x):
        return {"vlaue": x}

    with GraphOp(name="g") as g:
        p = emit(x=PARENT["x"])
        t = take(text=p["value"])
        START >> p >> t >> END
    with pytest.raises(InputError, match="did you mean 'vlaue'") as raised:
        Operon(g).run_sync({"x": 1})
    assert raised.value.op == "g.t"


def test_a_nested_graph_input_that_looks_like_a_typo_is_named():
    with GraphOp(name="outer") as g:
        with GraphOp(name="sub", inputs={"Text": PARENT["x"]}) as sub:
            a = take(text=PARENT["text"])
            START >> a >> END
        START >> sub >> END
    with pytest.raises(InputError, match="did you mean 'Text'"):
        Operon(g).run_sync({"x": 1})


@op
def divide(a, b):
    return {"q": a / b}


def two_inputs():
    with GraphOp(name="calc") as g:
        d = divide(a=PARENT["a"], b=PARENT["b"])
        START >> d >> END
    return g


@pytest.mark.parametrize(
    ("given", "suggested"),
    [({"a": 1, "bb": 0}, "bb"), ({"a": 1}, None), ({"a": 1, "c": 2}, None), ({"a": 1, "B": 2}, "B")],
)
def test_a_key_another_input_reads_or_a_different_short_name_is_not_suggested(given, suggested):
    with pytest.raises(InputError) as raised:
        Operon(two_inputs()).run_sync(given)
    assert raised.value.input == "b"
    assert raised.value.suggestion == suggested
    assert ("did you mean" in str(raised.value)) == (suggested is not None)
