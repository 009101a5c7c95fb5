"""Middleware around runs: hook order for every entry point, errors reaching ``on_error``, what each
hook receives and may return, ``start()`` bypassing the chain, and ``batch(concurrency=N)``."""

from __future__ import annotations

import asyncio
import logging

import pytest

from operonx import END, PARENT, START, GraphOp, Middleware, Operon, op
from operonx.errors import InputError, OpError, OperonUsageError

T = 10  # seconds: every awaited run is bounded, so a hang fails the test


@op
def inc(x):
    return {"y": x + 1}


@op
async def ainc(x):
    await asyncio.sleep(0)
    return {"y": x + 1}


@op
def boom(x):
    raise ValueError(f"bad x {x}")


def chain(fn) -> GraphOp:
    with GraphOp(name="g") as g:
        a = fn(x=PARENT["x"])
        START >> a >> END
    return g


class Log(Middleware):
    """Records every hook call in ``log`` and adds one to ``x`` before the run."""

    def __init__(self, tag: str, log: list) -> None:
        self.tag = tag
        self.log = log

    async def before_run(self, graph, inputs, context):
        self.log.append(("before", self.tag, inputs["x"]))
        return {**inputs, "x": inputs["x"] + 1}

    async def after_run(self, graph, inputs, result, context):
        self.log.append(("after", self.tag, inputs["x"], result["y"]))
        return {**result, self.tag: context["request_id"]}

    async def on_error(self, graph, inputs, error, context):
        self.log.append(("error", self.tag, type(error).__name__))
        raise error


ORDER = [("before", "m1", 0), ("before", "m2", 1), ("after", "m2", 2, 3), ("after", "m1", 2, 3)]


@pytest.mark.parametrize("fn", [inc, ainc], ids=["sync", "async"])
@pytest.mark.parametrize("how", ["run", "call", "run_sync", "batch"])
def test_before_in_order_after_in_reverse_on_every_entry_point(fn, how):
    log: list = []
    engine = Operon(chain(fn), middleware=[Log("m1", log)]).use(Log("m2", log))

    async def main():
        if how == "run":
            return await asyncio.wait_for(engine.run({"x": 0}, request_id="r1"), T)
        if how == "call":
            return await asyncio.wait_for(engine({"x": 0}, request_id="r1"), T)
        (out,) = await asyncio.wait_for(engine.batch([{"x": 0}]), T)
        return out

    result = engine.run_sync({"x": 0}, request_id="r1") if how == "run_sync" else asyncio.run(main())
    assert log == ORDER
    assert result["y"] == 3 and "$state" in result
    if how != "batch":
        assert result["m1"] == result["m2"] == "r1"


def test_each_input_of_a_batch_goes_through_the_chain():
    log: list = []
    engine = Operon(chain(ainc), middleware=[Log("m1", log), Log("m2", log)])

    async def main():
        return await asyncio.wait_for(engine.batch([{"x": 0}, {"x": 10}], concurrency=1), T)

    results = asyncio.run(main())
    assert [r["y"] for r in results] == [3, 13]
    assert log == ORDER + [("before", "m1", 10), ("before", "m2", 11), ("after", "m2", 12, 13), ("after", "m1", 12, 13)]
    # each run has its own request id
    assert results[0]["m1"] != results[1]["m1"]


async def test_an_op_error_reaches_every_on_error_in_reverse_order():
    log: list = []

    class Plain(Middleware):  # keeps the base on_error, which re-raises
        async def on_error(self, graph, inputs, error, context):
            log.append(("error", "plain", type(error).__name__))
            return await super().on_error(graph, inputs, error, context)

    engine = Operon(chain(boom), middleware=[Log("m1", log), Plain(), Log("m2", log)])
    with pytest.raises(OpError) as raised:
        await asyncio.wait_for(engine.run({"x": 0}), T)
    assert [e for e in log if e[0] == "error"] == [
        ("error", "m2", "OpError"), ("error", "plain", "OpError"), ("error", "m1", "OpError"),
    ]
    assert not [e for e in log if e[0] == "after"]
    assert raised.value.op == "g.a" and raised.value.graph == "g"
    assert isinstance(raised.value.__cause__, ValueError)
    # the hooks saw the inputs as rewritten by the before_run hooks
    assert "bad x 2" in str(raised.value.__cause__)


async def test_on_error_sees_the_graph_the_inputs_and_the_context():
    seen: dict = {}

    class Spy(Middleware):
        async def on_error(self, graph, inputs, error, context):
            seen.update(graph=graph, inputs=inputs, error=error, context=context)
            raise error

    g = chain(boom)
    engine = Operon(g, middleware=[Spy()])
    with pytest.raises(OpError):
        await asyncio.wait_for(engine.run({"x": 5}, user_id="u", session_id="s", request_id="r"), T)
    assert seen["graph"] is g
    assert seen["inputs"] == {"x": 5}
    assert seen["context"] == {"request_id": "r", "session_id": "s", "user_id": "u"}


async def test_an_on_error_that_raises_replaces_the_error_for_the_hooks_after_it():
    seen: list = []

    class Outer(Middleware):
        async def on_error(self, graph, inputs, error, context):
            seen.append(error)
            raise error

    class Wrap(Middleware):
        async def on_error(self, graph, inputs, error, context):
            raise RuntimeError("wrapped") from error

    engine = Operon(chain(boom), middleware=[Outer(), Wrap()])
    with pytest.raises(RuntimeError, match="wrapped") as raised:
        await asyncio.wait_for(engine.run({"x": 0}), T)
    assert isinstance(raised.value.__cause__, OpError)
    assert seen == [raised.value]


async def test_an_on_error_that_returns_does_not_swallow_the_error(caplog):
    class Recover(Middleware):
        async def on_error(self, graph, inputs, error, context):
            return {"y": -1}

    engine = Operon(chain(boom), middleware=[Recover()])
    with caplog.at_level(logging.WARNING, logger="operonx"):
        with pytest.raises(OpError):
            await asyncio.wait_for(engine.run({"x": 0}), T)
    assert "Recover.on_error returned dict" in caplog.text


async def test_an_input_error_reaches_on_error():
    log: list = []

    class Spy(Middleware):
        async def on_error(self, graph, inputs, error, context):
            log.append((type(error).__name__, error.input))
            raise error

    with pytest.raises(InputError):
        await asyncio.wait_for(Operon(chain(inc), middleware=[Spy()]).run({}), T)
    assert log == [("InputError", "x")]


async def test_a_before_run_that_raises_stops_the_run_without_on_error():
    log: list = []

    class Deny(Middleware):
        async def before_run(self, graph, inputs, context):
            raise PermissionError("denied")

    engine = Operon(chain(boom), middleware=[Log("m1", log), Deny()])
    with pytest.raises(PermissionError):
        await asyncio.wait_for(engine.run({"x": 0}), T)
    assert log == [("before", "m1", 0)]


async def test_hooks_returning_none_keep_the_inputs_and_the_result():
    class Quiet(Middleware):
        async def before_run(self, graph, inputs, context):
            return None

        async def after_run(self, graph, inputs, result, context):
            return None

    out = await asyncio.wait_for(Operon(chain(inc), middleware=[Quiet()]).run({"x": 1}), T)
    assert out["y"] == 2


async def test_a_before_run_returning_a_non_mapping_is_refused():
    class Bad(Middleware):
        async def before_run(self, graph, inputs, context):
            return [("x", 1)]

    with pytest.raises(OperonUsageError, match=r"Bad.before_run returned list"):
        await asyncio.wait_for(Operon(chain(inc), middleware=[Bad()]).run({"x": 1}), T)


async def test_context_ids_default_to_uuids_shared_by_the_hooks_of_one_run():
    contexts: list = []

    class Keep(Middleware):
        async def before_run(self, graph, inputs, context):
            contexts.append(context)
            context["seen"] = True

        async def after_run(self, graph, inputs, result, context):
            contexts.append(context)

    await asyncio.wait_for(Operon(chain(inc), middleware=[Keep()]).run({"x": 1}), T)
    first, second = contexts
    assert first is second and first["seen"]
    assert all(len(first[k]) == 36 for k in ("request_id", "session_id", "user_id"))


def test_middleware_objects_are_checked_when_added():
    class NotOne:
        async def before_run(self, graph, inputs, context):
            return inputs

    with pytest.raises(OperonUsageError, match="NotOne has no after_run, on_error"):
        Operon(chain(inc)).use(NotOne())
    with pytest.raises(OperonUsageError, match="int has no before_run"):
        Operon(chain(inc), middleware=[1])  # type: ignore[list-item]
    with pytest.raises(OperonUsageError, match=r"middleware= takes a list of middleware: write middleware=\[m\]"):
        Operon(chain(inc), middleware=Middleware())  # type: ignore[arg-type]


def test_a_hook_that_is_not_async_is_refused_when_called():
    class Duck:  # not a Middleware subclass: accepted for its three hooks
        def before_run(self, graph, inputs, context):
            return inputs

        async def after_run(self, graph, inputs, result, context):
            return result

        async def on_error(self, graph, inputs, error, context):
            raise error

    engine = Operon(chain(inc)).use(Duck())
    with pytest.raises(OperonUsageError, match=r"Duck.before_run returned dict, not an awaitable"):
        engine.run_sync({"x": 1})


async def test_start_bypasses_middleware():
    log: list = []
    engine = Operon(chain(ainc), middleware=[Log("m1", log)])
    handle = engine.start({"x": 0})
    out = await asyncio.wait_for(handle.result(), T)
    assert out == {"y": 1}
    assert log == []


# ---------------------------------------------------------------------------
# batch(concurrency=N)
# ---------------------------------------------------------------------------


def gauge_graph(state: dict) -> GraphOp:
    @op
    async def slow(x):
        state["active"] += 1
        state["peak"] = max(state["peak"], state["active"])
        await asyncio.sleep(0.01 * (x % 3))
        state["active"] -= 1
        return {"y": x * 10}

    return chain(slow)


@pytest.mark.parametrize("cap", [1, 3, 7])
@pytest.mark.parametrize("with_middleware", [False, True])
async def test_batch_runs_at_most_n_at_once_and_keeps_the_input_order(cap, with_middleware):
    state = {"active": 0, "peak": 0}
    runs = {"active": 0, "peak": 0}

    class Count(Middleware):  # counts whole runs, hooks included
        async def before_run(self, graph, inputs, context):
            runs["active"] += 1
            runs["peak"] = max(runs["peak"], runs["active"])
            await asyncio.sleep(0)

        async def after_run(self, graph, inputs, result, context):
            await asyncio.sleep(0)
            runs["active"] -= 1

    engine = Operon(gauge_graph(state), middleware=[Count()] if with_middleware else None)
    results = await asyncio.wait_for(engine.batch([{"x": i} for i in range(20)], concurrency=cap), T)
    assert [r["y"] for r in results] == [i * 10 for i in range(20)]
    assert state["peak"] == cap and state["active"] == 0
    if with_middleware:
        assert runs["peak"] == cap and runs["active"] == 0


async def test_batch_default_cap_is_ten_and_none_lifts_it():
    state = {"active": 0, "peak": 0}
    engine = Operon(gauge_graph(state))
    await asyncio.wait_for(engine.batch([{"x": 1}] * 25), T)
    assert state["peak"] == 10
    state["peak"] = 0
    await asyncio.wait_for(engine.batch([{"x": 1}] * 25, concurrency=None), T)
    assert state["peak"] == 25


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
async def test_batch_refuses_a_cap_below_one(bad):
    engine = Operon(chain(inc))
    with pytest.raises(OperonUsageError, match=r"batch\(concurrency=\.\.\.\) must be a whole number >= 1"):
        await asyncio.wait_for(engine.batch([{"x": 1}], concurrency=bad), T)


async def test_batch_of_nothing_is_an_empty_list():
    assert await asyncio.wait_for(Operon(chain(inc)).batch([], concurrency=2), T) == []


async def test_a_failed_run_cancels_the_rest_of_the_batch():
    started: list = []
    finished: list = []

    @op
    async def work(x):
        started.append(x)
        if x == 1:
            raise ValueError("one fails")
        await asyncio.sleep(5)
        finished.append(x)
        return {"y": x}

    engine = Operon(chain(work))
    with pytest.raises(OpError) as raised:
        await asyncio.wait_for(engine.batch([{"x": i} for i in range(10)], concurrency=3), T)
    assert isinstance(raised.value.__cause__, ValueError)
    assert sorted(started) == [0, 1, 2]  # the runs not started never start
    await asyncio.sleep(0.05)
    assert finished == []
