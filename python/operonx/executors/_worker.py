"""The loop of a worker process of :class:`~operonx.executors.ProcessExecutor`: one job at a time,
read from its socket, answered on the same socket (a result, an error, or a generator's items then its
end). The functions it was sent are kept by key, so each travels once per worker."""

from __future__ import annotations

import asyncio
import inspect
import os
import pickle
import signal
from typing import Any, Callable

from operonx.executors._contract import TransferError
from operonx.executors._transfer import (
    CANCEL, END, ERROR, ITEM, JOB, READY, REPLY, RESULT, SKIPPED, STARTED, STREAM, Channel, dump_error,
    dump_value, load_function,
)

__all__ = ["main"]


def main(sock: Any) -> None:
    """Serves jobs from ``sock`` until it closes or an empty message says to stop. Before each job it
    reads every message already sent, so a job cancelled before it started is dropped (``SKIPPED``)."""
    # A session of its own: a terminal's signals (Ctrl-C, Ctrl-Z, hang-up) reach the caller's process,
    # which decides what stops, and not its workers (a worker whose caller is gone sees its socket close
    # and exits). Where the scheduler shares the CPU between sessions (Linux's autogroups), each worker
    # also gets its own share of a busy machine.
    try:
        os.setsid()
    except OSError:  # a session leader already
        pass
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    chan = Channel(sock)
    fns: dict[int, Any] = {}  # function key -> the function, or the payload it is loaded from
    pending: dict[int, bytes] = {}  # job id -> message, in the order sent
    send = chan.send
    send(REPLY.pack(0, READY))
    while True:
        try:
            if not chan.fill(block=not pending):
                return
        except OSError:
            return
        for data in chan.messages():
            if not _take(data, pending, fns, send):
                return
        if not pending:
            continue
        job = next(iter(pending))
        data = pending.pop(job)
        _, key, fn_len, flags = JOB.unpack_from(data)
        send(REPLY.pack(job, STARTED))
        try:
            fn, kwargs = _job(fns, key, memoryview(data)[JOB.size + fn_len :])
        except Exception as e:  # a load failure names what could not be loaded
            send(REPLY.pack(job, ERROR) + dump_error(e))
            continue
        if flags & STREAM:
            _stream(send, job, fn, kwargs)
        else:
            _call(send, job, fn, kwargs)


def _take(data: bytes, pending: dict[int, bytes], fns: dict[int, Any], send: Callable[[bytes], None]) -> bool:
    """Files one message: a job (the function it carries is kept, even if the job is dropped: later
    jobs come without it), or the cancel of one (dropped, if it is still pending); ``False`` for the
    empty message that says to stop."""
    if not data:
        return False
    job, key, fn_len, flags = JOB.unpack_from(data)
    if flags & CANCEL:
        if pending.pop(job, None) is not None:
            send(REPLY.pack(job, SKIPPED))
        return True
    if fn_len:
        fns[key] = _Payload(data[JOB.size : JOB.size + fn_len])
    pending[job] = data
    return True


class _Payload(bytes):
    """A function not loaded yet (loaded at its first call)."""


def _job(fns: dict[int, Any], key: int, args: memoryview) -> tuple[Any, Any]:
    fn = fns.get(key)
    if type(fn) is _Payload:
        try:
            fn = fns[key] = load_function(fn)
        except Exception as e:
            raise TransferError(f"the function cannot be loaded in the worker process: {e!r}", "function") from e
    if fn is None:
        raise TransferError("the function was never received by the worker process", "function")
    try:
        kwargs = pickle.loads(args)
    except Exception as e:
        raise TransferError(f"the inputs cannot be unpickled in the worker process: {e!r}", "argument") from e
    return fn, kwargs


def _call(send: Callable[[bytes], None], job: int, fn: Callable[..., Any], kwargs: dict[str, Any]) -> None:
    try:
        result = fn(**kwargs)
        if inspect.iscoroutine(result):
            result = asyncio.run(result)
        payload = REPLY.pack(job, RESULT) + dump_value(result, "result")
    except BaseException as e:  # SystemExit too: the op fails, the worker stays
        payload = REPLY.pack(job, ERROR) + dump_error(e)
    send(payload)


def _stream(send: Callable[[bytes], None], job: int, fn: Callable[..., Any], kwargs: dict[str, Any]) -> None:
    item_head = REPLY.pack(job, ITEM)
    try:
        made = fn(**kwargs)
        if inspect.isasyncgen(made):
            _async_stream(send, item_head, made)
        else:
            for item in made:
                send(item_head + dump_value(item, "item"))
    except BaseException as e:
        send(REPLY.pack(job, ERROR) + dump_error(e))
        return
    send(REPLY.pack(job, END))


def _async_stream(send: Callable[[bytes], None], item_head: bytes, agen: Any) -> None:
    loop = asyncio.new_event_loop()
    try:
        while True:
            try:
                item = loop.run_until_complete(agen.__anext__())
            except StopAsyncIteration:
                return
            send(item_head + dump_value(item, "item"))
    finally:
        loop.run_until_complete(agen.aclose())
        loop.close()
