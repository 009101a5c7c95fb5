"""How functions and values travel between the caller's process and a worker process: pickle, then
cloudpickle (when it is installed) for what pickle cannot take (closures, lambdas, functions of an
interactive session), with a :class:`~operonx.executors.TransferError` naming the value that
neither can take. Both sides import this module: it must stay light (no ``operonx`` imports beyond
the error class)."""

from __future__ import annotations

import importlib
import pickle
import socket
import struct
import sys
import traceback
from typing import Any, Callable

from operonx.executors._contract import TransferError

__all__ = [
    "CANCEL", "END", "ERROR", "ITEM", "JOB", "READY", "REPLY", "RESULT", "SKIPPED", "STARTED", "STREAM",
    "Channel", "WorkerTraceback", "cloudpickle",
    "dump_args", "dump_error", "dump_function", "dump_value", "load_function",
]

#: a job, caller -> worker: job id, function key, length of the function's payload (0: the worker
#: has it), flags; then the function's payload, then the pickled arguments
JOB = struct.Struct("<QQIB")
#: a reply, worker -> caller: job id, kind; then the pickled value
REPLY = struct.Struct("<QB")
STREAM = 1  # flag: the function is a generator
CANCEL = 2  # flag: not a job, the cancel of job ``id`` (dropped if it has not started)
#: replies: the worker is ready; job ``id`` started, returned, raised, yielded, ended, was dropped
READY, STARTED, RESULT, ERROR, ITEM, END, SKIPPED = range(7)

_LEN = struct.Struct("<I")
_CHUNK = 1 << 18


class Channel:
    """One end of the socket between the caller and a worker: length-prefixed messages, read as many
    at a time as have arrived (one ``recv`` for a burst of replies, not two per message)."""

    __slots__ = ("sock", "buf")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = bytearray()

    def send(self, data: bytes) -> None:
        """Sends one message (blocking until the socket takes all of it)."""
        if len(data) < _CHUNK:
            self.sock.sendall(_LEN.pack(len(data)) + data)
        else:  # no copy of a large value
            self.sock.sendall(_LEN.pack(len(data)))
            self.sock.sendall(data)

    def fill(self, block: bool = True) -> bool:
        """Reads what has arrived (waiting for something when ``block``); ``False`` at the end of the
        stream. Without ``block``, nothing having arrived is not the end."""
        try:
            chunk = self.sock.recv(_CHUNK) if block else self.sock.recv(_CHUNK, socket.MSG_DONTWAIT)
        except BlockingIOError:
            return True
        if not chunk:
            return False
        self.buf += chunk
        return True

    def messages(self) -> list[bytes]:
        """The complete messages read so far, taken out of the buffer."""
        buf, out, pos = self.buf, [], 0
        end = len(buf)
        while end - pos >= 4:
            size = _LEN.unpack_from(buf, pos)[0]
            if end - pos - 4 < size:
                break
            out.append(bytes(buf[pos + 4 : pos + 4 + size]))
            pos += 4 + size
        if pos:
            del buf[:pos]
        return out

    def close(self) -> None:
        self.sock.close()


_PROTOCOL = pickle.HIGHEST_PROTOCOL
_BY_REF = b"R"
_PICKLED = b"P"


class WorkerTraceback(Exception):
    """The traceback of an exception raised in a worker process (the ``__cause__`` of that exception
    when it reaches the caller)."""

    def __str__(self) -> str:
        return "\n" + str(self.args[0]) if self.args else ""


def cloudpickle() -> Any:
    """The cloudpickle module, or ``None`` when it is not installed."""
    mod = sys.modules.get("cloudpickle")
    if mod is not None:
        return mod
    try:
        return importlib.import_module("cloudpickle")
    except ImportError:
        return None


def _hint() -> str:
    if cloudpickle() is None:
        return "; install cloudpickle (pip install 'operonx[process]') to send closures and lambdas"
    return ""


def _dumps(value: Any) -> bytes:
    """``value`` pickled, by cloudpickle when pickle cannot (raises the first error when neither can)."""
    try:
        return pickle.dumps(value, _PROTOCOL)
    except Exception as e:
        cp = cloudpickle()
        if cp is None:
            raise
        try:
            return cp.dumps(value, _PROTOCOL)
        except Exception:
            raise e from None


def _name(fn: Any) -> str:
    return f"{getattr(fn, '__module__', None) or '?'}.{getattr(fn, '__qualname__', None) or repr(fn)}"


def _op_reference(fn: Any) -> tuple[str, str] | None:
    """``(module, qualname)`` when that name holds the ``@op`` wrapping ``fn`` (its plain function
    cannot be pickled by reference: the name gives the wrapper)."""
    module, qualname = getattr(fn, "__module__", None), getattr(fn, "__qualname__", None)
    if not isinstance(module, str) or not isinstance(qualname, str) or "<" in qualname:
        return None
    obj: Any = sys.modules.get(module)
    if module == "__main__" and not getattr(obj, "__file__", None):
        return None  # an interactive session: a worker has no such module
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
    return (module, qualname) if obj is not fn and getattr(obj, "func", None) is fn else None


def dump_function(fn: Callable[..., Any]) -> bytes:
    """The payload a worker rebuilds ``fn`` from (raises :class:`TransferError`)."""
    ref = _op_reference(fn)
    if ref is not None:
        return _BY_REF + pickle.dumps(ref, _PROTOCOL)
    main = getattr(fn, "__module__", None) == "__main__" and not getattr(sys.modules["__main__"], "__file__", None)
    try:
        if main and cloudpickle() is not None:
            return _PICKLED + cloudpickle().dumps(fn, _PROTOCOL)
        return _PICKLED + _dumps(fn)
    except Exception as e:
        raise TransferError(
            f"the function {_name(fn)} cannot be pickled to send it to a worker process: {e}{_hint()}",
            "function",
        ) from e


def load_function(payload: bytes | memoryview) -> Callable[..., Any]:
    """The function :func:`dump_function` made ``payload`` of (in the worker)."""
    kind, body = bytes(payload[:1]), payload[1:]
    if kind == _BY_REF:
        module, qualname = pickle.loads(body)
        obj: Any = importlib.import_module(module)
        for part in qualname.split("."):
            obj = getattr(obj, part)
        return obj.func
    return pickle.loads(body)


def _culprit(mapping: Any) -> tuple[str | None, Any]:
    """The first key of ``mapping`` whose value cannot be pickled (``(None, mapping)`` if none alone)."""
    if isinstance(mapping, dict):
        for k, v in mapping.items():
            try:
                _dumps(v)
            except Exception:
                return str(k), v
    return None, mapping


def dump_args(kwargs: dict[str, Any]) -> bytes:
    """An op's inputs pickled for a worker (raises :class:`TransferError` naming the input)."""
    try:
        return pickle.dumps(kwargs, _PROTOCOL)
    except Exception:
        pass
    try:
        return _dumps(kwargs)
    except Exception as e:
        key, value = _culprit(kwargs)
        what = f"input '{key}' ({type(value).__name__})" if key is not None else "the inputs"
        raise TransferError(
            f"{what} cannot be pickled to send it to a worker process: {e}{_hint()}", "argument", key
        ) from e


def dump_value(value: Any, side: str) -> bytes:
    """A result or item pickled in the worker, or raises :class:`TransferError` naming the key."""
    try:
        return _dumps(value)
    except Exception as e:
        key, bad = _culprit(value)
        what = f"key '{key}' of the {side} ({type(bad).__name__})" if key is not None else f"the {side} ({type(value).__name__})"
        raise TransferError(
            f"{what} cannot be pickled in the worker process to send it back: {e}{_hint()}", side, key
        ) from e


def dump_error(exc: BaseException) -> bytes:
    """An exception raised in the worker, pickled with its traceback's text: ``(exception, text)``,
    or a :class:`TransferError` saying what it was when it cannot be pickled."""
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    try:
        return _dumps((exc, text))
    except Exception as e:
        err = TransferError(
            f"the op raised {type(exc).__name__}: {exc} in the worker process, and that exception cannot be "
            f"pickled to send it back: {e}", "exception",
        )
        return pickle.dumps((err, text), _PROTOCOL)
