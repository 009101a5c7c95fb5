"""Retries and timeouts: ``@op(retries=N, backoff=..., retry_on=(...), timeout=s)``, also given per node
at the call. A failed or timed-out attempt is retried up to N times after the first, the last failure is
an OpError saying how many attempts ran (the last exception its ``__cause__``); an exception not in
``retry_on`` is not retried; a timeout cancels an async attempt and abandons a cpu one; a sync op running
inline takes no timeout, and a generator no retries."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from operonx import END, PARENT, START, GraphOp, Operon, op
from operonx.errors import GraphError, GraphTypeError, OpError, OperonError, RunCancelled

pytestmark = pytest.mark.timeout(30)
T = 10  # seconds any awaited run may take before the test fails


class Flaky:
    """Fails the first ``failures`` calls with ``exc``, then returns ``{"y": x + 1}``."""

    def __init__(self, failures: int, exc: type[BaseException] = ValueError) -> None:
        self.failures = failures
        self.exc = exc
        self.calls = 0
        self.lock = threading.Lock()

    def step(self, x):
        with self.lock:
            self.calls += 1
            n = self.calls
        if n <= self.failures:
            raise self.exc(f"failure {n}")
        return {"y": x + 1}


def flaky_op(kind: str, flaky: Flaky, **options):
    if kind == "async":
        async def run(x):
            await asyncio.sleep(0)
            return flaky.step(x)
        return op(**options)(run)
    bound = "cpu" if kind == "cpu" else "sync"

    def run(x):  # noqa: F811 - one of the two is decorated
        return flaky.step(x)
    return op(bound=bound, **options)(run)


def one_op_graph(f, name="g", **call_options):
    with GraphOp(name=name) as g:
        a = f(x=PARENT["x"], **call_options)
        START >> a >> END
    return g


KINDS = pytest.mark.parametrize("kind", ["sync", "async", "cpu"])


@KINDS
async def test_an_op_that_fails_twice_succeeds_on_its_third_attempt(kind):
    flaky = Flaky(2)
    g = one_op_graph(flaky_op(kind, flaky, retries=2, backoff=0.001))
    out = await asyncio.wait_for(Operon(g).run({"x": 1}), T)
    assert out["y"] == 2
    assert flaky.calls == 3


@KINDS
async def test_the_last_failure_says_how_many_attempts_ran_and_keeps_its_cause(kind):
    flaky = Flaky(10)
    g = one_op_graph(flaky_op(kind, flaky, retries=2, backoff=0.001))
    with pytest.raises(OpError, match=r"op 'g\.a'.*failed after 3 attempts; the last: ValueError: failure 3") as e:
        await asyncio.wait_for(Operon(g).run({"x": 1}), T)
    assert isinstance(e.value.__cause__, ValueError)
    assert str(e.value.__cause__) == "failure 3"
    assert flaky.calls == 3


@KINDS
async def test_an_exception_not_in_retry_on_is_not_retried(kind):
    flaky = Flaky(10, exc=KeyError)
    g = one_op_graph(flaky_op(kind, flaky, retries=3, backoff=0.001, retry_on=(ValueError, TimeoutError)))
    with pytest.raises(OpError, match="KeyError") as e:
        await asyncio.wait_for(Operon(g).run({"x": 1}), T)
    assert "attempts" not in str(e.value)
    assert isinstance(e.value.__cause__, KeyError)
    assert flaky.calls == 1


async def test_an_exception_in_retry_on_is_retried_by_subclass():
    flaky = Flaky(2, exc=ZeroDivisionError)
    g = one_op_graph(flaky_op("sync", flaky, retries=2, backoff=0.001, retry_on=ArithmeticError))
    assert (await asyncio.wait_for(Operon(g).run({"x": 1}), T))["y"] == 2
    assert flaky.calls == 3


async def test_a_retry_that_meets_another_error_stops_there_and_counts_its_attempts():
    calls = []

    @op(retries=5, backoff=0.001, retry_on=ValueError)
    def f(x):
        calls.append(x)
        raise ValueError("first") if len(calls) == 1 else KeyError("second")

    with pytest.raises(OpError, match="failed after 2 attempts; the last: KeyError") as e:
        await asyncio.wait_for(Operon(one_op_graph(f)).run({"x": 1}), T)
    assert isinstance(e.value.__cause__, KeyError)
    assert len(calls) == 2


async def test_call_time_options_override_the_functions():
    flaky = Flaky(2)
    f = flaky_op("sync", flaky)  # no retries of its own
    g = one_op_graph(f, retries=2, backoff=0.001)
    assert (await asyncio.wait_for(Operon(g).run({"x": 1}), T))["y"] == 2
    assert flaky.calls == 3
    # and turned off at the call: one attempt only
    flaky2 = Flaky(1)
    g2 = one_op_graph(flaky_op("sync", flaky2, retries=3, backoff=0.001), name="g2", retries=0)
    with pytest.raises(OpError, match="failure 1"):
        await asyncio.wait_for(Operon(g2).run({"x": 1}), T)
    assert flaky2.calls == 1


async def test_backoff_waits_grow_between_attempts():
    stamps = []

    @op(retries=2, backoff=0.04)
    def f(x):
        stamps.append(time.monotonic())
        raise ValueError("again")

    with pytest.raises(OpError, match="3 attempts"):
        await asyncio.wait_for(Operon(one_op_graph(f)).run({"x": 1}), T)
    # the first retry waits within [0.02, 0.04] s, the second within [0.04, 0.08] s (jitter: upper half)
    assert stamps[1] - stamps[0] >= 0.02
    assert stamps[2] - stamps[1] >= 0.04


async def test_an_async_attempt_past_its_timeout_is_cancelled_and_fails():
    cancelled = asyncio.Event()

    @op(timeout=0.05)
    async def slow(x):
        try:
            await asyncio.sleep(T)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return {"y": x}

    with pytest.raises(OpError, match=r"op 'g\.a'.*timed out after 0\.05 s"):
        await asyncio.wait_for(Operon(one_op_graph(slow)).run({"x": 1}), T)
    await asyncio.wait_for(cancelled.wait(), T)


async def test_a_timed_out_attempt_is_retried():
    attempts = []

    @op(timeout=0.05, retries=1, backoff=0.001)
    async def slow_then_fast(x):
        attempts.append(x)
        if len(attempts) == 1:
            await asyncio.sleep(T)
        return {"y": x + 1}

    out = await asyncio.wait_for(Operon(one_op_graph(slow_then_fast)).run({"x": 1}), T)
    assert out["y"] == 2
    assert len(attempts) == 2


async def test_a_cpu_attempt_past_its_timeout_is_abandoned():
    release = threading.Event()
    finished = threading.Event()

    @op(bound="cpu", timeout=0.05)
    def blocked(x):
        release.wait(T)
        finished.set()
        return {"y": x}

    with pytest.raises(OpError, match="timed out after 0.05 s"):
        await asyncio.wait_for(Operon(one_op_graph(blocked)).run({"x": 1}), T)
    assert not finished.is_set()  # the run did not wait for the call
    release.set()
    assert await asyncio.wait_for(asyncio.to_thread(finished.wait, T), T)


def test_a_sync_op_running_inline_takes_no_timeout():
    @op(timeout=1.0)
    def inline(x):
        return {"y": x}

    with pytest.raises(OperonError, match=r"timeout= needs an op that can be stopped.*bound=\"cpu\""):
        Operon(one_op_graph(inline))
    # on a worker thread it is accepted
    Operon(one_op_graph(inline, name="g2", bound="cpu"))


@pytest.mark.parametrize("option", [{"retries": 1}, {"timeout": 1.0}, {"cache": True}])
def test_a_generator_takes_no_retries_timeout_or_cache(option):
    @op(bound="cpu" if "timeout" in option else None)
    def gen(x):
        yield {"y": x}

    with pytest.raises(OperonError, match="a generator takes no retries, timeout or cache"):
        Operon(one_op_graph(gen, **option))


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"retries": -1}, GraphError),
        ({"retries": 1.5}, GraphError),
        ({"timeout": 0}, GraphError),
        ({"timeout": "1"}, GraphError),
        ({"backoff": -0.1, "retries": 1}, GraphError),
        ({"retry_on": (ValueError, "x"), "retries": 1}, GraphTypeError),
        ({"retry_on": ValueError}, GraphError),  # retry_on without retries
    ],
)
def test_bad_values_are_refused_where_they_are_given(options, error):
    with pytest.raises(error):
        op(**options)(lambda x: {"y": x})


def test_the_document_carries_the_options_and_export_config_names_the_types():
    f = op(retries=2, backoff=0.5, retry_on=(ValueError, TimeoutError), timeout=3)(lambda x: {"y": x})
    g = one_op_graph(f, bound="cpu")
    doc = g.export_config()["ops"]["a"]
    assert (doc["retries"], doc["backoff"], doc["timeout"]) == (2, 0.5, 3)
    assert doc["retry_on"] == ["builtins.ValueError", "builtins.TimeoutError"]
    plain = one_op_graph(op(lambda x: {"y": x}), name="h").export_config()["ops"]["a"]
    assert not {"retries", "backoff", "retry_on", "timeout", "cache", "delay"} & set(plain)
    node = g.ops["a"]
    assert (node.retries, node.timeout) == (2, 3)


async def test_a_cancelled_run_makes_no_further_attempt():
    calls = []

    @op(retries=5, backoff=0.2)
    def f(x):
        calls.append(x)
        raise ValueError("again")

    handle = Operon(one_op_graph(f)).start({"x": 1})
    await asyncio.sleep(0.05)  # the first attempt failed; the retry waits
    handle.cancel()
    with pytest.raises(RunCancelled):
        await asyncio.wait_for(handle.result(), T)
    await asyncio.sleep(0.3)
    assert calls == [1]


async def test_with_errors_continue_the_last_failure_is_listed():
    flaky = Flaky(10)
    with GraphOp(name="g") as g:
        a = flaky_op("sync", flaky, retries=1, backoff=0.001)(x=PARENT["x"])
        b = op(lambda x: {"z": x})(x=PARENT["x"])
        START >> [a, b] >> END
    out = await asyncio.wait_for(Operon(g).run({"x": 1}, errors="continue"), T)
    assert out["z"] == 1
    [err] = out["$errors"]
    assert "failed after 2 attempts" in str(err)


async def test_a_timeout_is_retried_whatever_retry_on_lists():
    attempts = []

    @op(timeout=0.05, retries=1, backoff=0.001, retry_on=KeyError)
    async def slow_once(x):
        attempts.append(x)
        if len(attempts) == 1:
            await asyncio.sleep(T)
        return {"y": x}

    assert (await asyncio.wait_for(Operon(one_op_graph(slow_once)).run({"x": 3}), T))["y"] == 3
    assert len(attempts) == 2


async def test_retried_ops_of_every_kind_under_a_concurrency_cap():
    flakies = {k: Flaky(1) for k in ("sync", "async", "cpu")}

    @op
    def join(a, b, c):
        return {"s": a + b + c}

    with GraphOp(name="g", concurrency=1) as g:
        a = flaky_op("sync", flakies["sync"], retries=1, backoff=0.001)(x=PARENT["x"])
        b = flaky_op("async", flakies["async"], retries=1, backoff=0.001)(x=PARENT["x"])
        c = flaky_op("cpu", flakies["cpu"], retries=1, backoff=0.001)(x=PARENT["x"])
        j = join(a=a["y"], b=b["y"], c=c["y"])
        START >> [a, b, c] >> j >> END
    handle = Operon(g).start({"x": 1})

    async def drain():
        return [f async for f in handle]

    frames = await asyncio.wait_for(drain(), T)
    assert [(f.op, f.data) for f in frames] == [("j", {"s": 6})]
    assert {k: f.calls for k, f in flakies.items()} == {"sync": 2, "async": 2, "cpu": 2}
