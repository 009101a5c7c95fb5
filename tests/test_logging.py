"""The `operonx` logger reports, at DEBUG, each run's creation and end (finished, failed, cancelled,
with its duration), each op instance skipped and each op failure a run lists; with DEBUG off it
emits nothing (the cost of asking is measured by the W1/W3 benchmarks, not here)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from operonx import END, PARENT, START, GraphOp, Operon, op
from operonx.core.ops import if_
from operonx.errors import OpError, RunCancelled


@op
def inc(x):
    return {"y": x + 1}


@op
def boom(x):
    raise ValueError(f"bad {x}")


@op
async def slow(x):
    await asyncio.sleep(30)
    return {"y": x}


def branchy():
    with GraphOp(name="g") as g:
        route = if_(PARENT["x"] > 0, "pos").else_("neg")
        pos = inc(x=PARENT["x"], name="pos")
        neg = inc(x=PARENT["x"], name="neg")
        START >> route >> [pos, neg] >> END
    return g


def messages(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "operonx" and r.levelno == logging.DEBUG]


def test_a_run_logs_its_start_its_skips_and_its_end(caplog):
    with caplog.at_level(logging.DEBUG, logger="operonx"):
        Operon(branchy()).run_sync({"x": 1}, request_id="req-1")
    got = messages(caplog)
    assert got[0] == "run of graph 'g' created (request_id req-1)"
    assert "op 'g.neg' skipped (context ('main',))" in got
    assert not any("g.pos' skipped" in m for m in got)
    assert got[-1].startswith("run of graph 'g' finished after ") and got[-1].endswith(" ms")


def test_a_failed_run_logs_the_failure(caplog):
    with GraphOp(name="f") as g:
        b = boom(x=PARENT["x"])
        START >> b >> END
    with caplog.at_level(logging.DEBUG, logger="operonx"):
        with pytest.raises(OpError):
            Operon(g).run_sync({"x": 2})
    got = messages(caplog)
    assert got[-1].startswith("run of graph 'f' failed: op 'f.b' of graph 'f' failed")


def test_errors_continue_logs_each_op_failure(caplog):
    with GraphOp(name="f") as g:
        b = boom(x=PARENT["x"])
        c = inc(x=PARENT["x"])
        START >> [b, c] >> END
    with caplog.at_level(logging.DEBUG, logger="operonx"):
        Operon(g).run_sync({"x": 2}, errors="continue")
    got = messages(caplog)
    assert any(m.startswith("op failed: op 'f.b' of graph 'f' failed") for m in got)
    assert got[-1].startswith("run of graph 'f' finished")


async def test_a_cancelled_run_logs_it(caplog):
    with GraphOp(name="c") as g:
        s = slow(x=PARENT["x"])
        START >> s >> END
    with caplog.at_level(logging.DEBUG, logger="operonx"):
        handle = Operon(g).start({"x": 1})
        await asyncio.sleep(0)
        handle.cancel()
        with pytest.raises(RunCancelled):
            await asyncio.wait_for(handle.result(), 10)
    assert messages(caplog)[-1].startswith("run of graph 'c' was cancelled after ")


def test_nothing_is_logged_when_debug_is_off_and_a_level_change_is_seen(caplog):
    engine = Operon(branchy())
    with caplog.at_level(logging.INFO, logger="operonx"):
        engine.run_sync({"x": 1})
    assert messages(caplog) == []
    with caplog.at_level(logging.DEBUG, logger="operonx"):
        engine.run_sync({"x": 1})
    assert len(messages(caplog)) == 3


def test_a_disabled_op_and_what_follows_it_are_logged_as_skipped(caplog):
    with GraphOp(name="d") as g:
        a = inc(x=PARENT["x"], name="a")
        off = inc(x=PARENT["x"], name="off")
        off.enabled = False
        after = inc(x=off["y"], name="after")
        START >> [a, off]
        a >> END
        off >> after >> END
    with caplog.at_level(logging.DEBUG, logger="operonx"):
        Operon(g).run_sync({"x": 1})
    got = messages(caplog)
    assert "op 'd.off' skipped (context ('main',))" in got
    assert "op 'd.after' skipped (context ('main',))" in got


def test_logging_disable_and_a_handler_level_are_seen_at_the_next_run(caplog):
    engine = Operon(branchy())
    with caplog.at_level(logging.DEBUG, logger="operonx"):
        logging.disable(logging.CRITICAL)
        try:
            engine.run_sync({"x": 1})
            assert messages(caplog) == []
        finally:
            logging.disable(logging.NOTSET)
        engine.run_sync({"x": 1})
        assert len(messages(caplog)) == 3
    logger = logging.getLogger("operonx")
    assert isinstance(logger._cache, dict) and logger.isEnabledFor(logging.WARNING)
