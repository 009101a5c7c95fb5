"""The loop of a worker process of :class:`~operonx.executors.ProcessExecutor`: one job at a time,
read from its pipe, answered on the same pipe (a result, an error, or a generator's items then its
end). The functions it was sent are kept by key, so each travels once per worker."""

from __future__ import annotations

import asyncio
import inspect
import pickle
import signal
from typing import Any, Callable

from operonx.executors._contract import TransferError
from operonx.executors._transfer import (
    END, ERROR, ITEM, JOB, READY, REPLY, RESULT, STREAM, dump_error, dump_value, load_function,
)

__all__ = ["main"]


def main(conn: Any) -> None:
    """Serves jobs from ``conn`` until it closes or an empty message says to stop."""
    # Ctrl-C reaches the whole process group: the caller's process decides what stops
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    fns: dict[int, Callable[..., Any]] = {}
    send = conn.send_bytes
    send(REPLY.pack(0, READY))
    while True:
        try:
            data = conn.recv_bytes()
        except (EOFError, OSError):
            return
        if not data:
            return
        job, key, fn_len, flags = JOB.unpack_from(data)
        view = memoryview(data)[JOB.size :]
        try:
            fn, kwargs = _job(fns, key, view[:fn_len] if fn_len else None, view[fn_len:])
        except Exception as e:  # a load failure names what could not be loaded
            send(REPLY.pack(job, ERROR) + dump_error(e))
            continue
        if flags & STREAM:
            _stream(send, job, fn, kwargs)
        else:
            _call(send, job, fn, kwargs)


def _job(fns: dict[int, Callable[..., Any]], key: int, fn_payload: Any, args: memoryview) -> tuple[Any, Any]:
    if fn_payload is not None:
        try:
            fns[key] = load_function(fn_payload)
        except Exception as e:
            raise TransferError(f"the function cannot be loaded in the worker process: {e!r}", "function") from e
    try:
        kwargs = pickle.loads(args)
    except Exception as e:
        raise TransferError(f"the inputs cannot be unpickled in the worker process: {e!r}", "argument") from e
    return fns[key], kwargs


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
