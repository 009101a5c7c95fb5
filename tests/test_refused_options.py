"""Op options are either honoured or refused: until the engine implements it, switching on ``tracer``
on an op raises OperonUsageError instead of being silently ignored; "off" values of every option are accepted. An op called outside any graph is
refused the same way. (The options the engine runs, cache, delay, retries and timeout, are tested in
test_op_calls.py.)"""

from __future__ import annotations

import pytest

from operonx import GraphOp, op
from operonx.errors import GraphError, GraphTypeError, OperonUsageError

ON = [("tracer", object())]
OFF = [("cache", False), ("cache", None), ("delay", 0), ("delay", 0.0), ("retries", 0), ("retries", None),
       ("timeout", None), ("tracer", None)]


def plain(x):
    return {"y": x}


@pytest.mark.parametrize(("option", "value"), ON)
def test_an_option_switched_on_is_refused_at_decoration(option, value):
    with pytest.raises(OperonUsageError, match=f"{option}=.*not implemented"):
        op(**{option: value})(plain)


@pytest.mark.parametrize(("option", "value"), OFF)
def test_an_option_switched_off_is_accepted(option, value):
    f = op(**{option: value})(plain)
    with GraphOp(name="g"):
        assert f(x=1).name == "plain"


def test_the_thread_executor_is_bound_cpu_and_an_executor_name_must_be_a_name():
    assert op(executor="thread")(plain).bound == "cpu"
    assert op(executor="threads")(plain).bound == "cpu"
    with pytest.raises(GraphError, match="not bound='process'"):
        op(executor="threads", bound="process")(plain)
    with pytest.raises(GraphTypeError, match="executor must be the name of an executor"):
        op(executor="")(plain)
    # any other name is an executor the engine is given (an unknown one is refused when the engine is
    # built: tests/test_executor_process.py)
    assert op(executor="gpu")(plain).executor == "gpu"


def test_an_op_called_outside_a_graph_is_refused_and_func_is_the_function():
    f = op(plain)
    with pytest.raises(OperonUsageError, match=r"plain\(\) is an op.*with GraphOp"):
        f(x=1)
    assert f.func(x=1) == {"y": 1}
