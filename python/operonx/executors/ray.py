"""Ray as an executor: each op call a Ray task, awaited from the engine's event loop.

``RayExecutor(address=None, **ray_options)`` joins the Ray instance of the process (``ray.init`` with
these arguments when Ray is not initialised yet; an instance already running is reused, and then
``address``/``ray_options`` are refused rather than ignored). Per call:

- ``fn`` becomes a Ray remote function once (cached per function and per option set); the op's
  ``@op(ray={...})`` options go to ``.options(...)``; ``max_retries`` defaults to 0 so the op's own
  ``retries=`` decides what is tried again.
- The task's ``ObjectRef`` is awaited without a thread per call: one thread per executor waits for the
  tasks in flight with ``ray.wait``, fetches each batch of finished ones with one ``ray.get``, and wakes
  the loop once per batch (a task submitted while that thread is blocked is watched by Ray's completion
  callback instead, so it does not wait behind the others).
- An argument that is a value the driver received from an earlier Ray task (the same object, see
  :class:`~operonx.executors.ray_tasks.SharedValues`) is sent as that task's ``ObjectRef``: the worker
  reads it from the object store, not a copy sent through the driver.
- Cancel (the run's cancel token, or the awaiting task cancelled) calls ``ray.cancel``; a task still
  running ``cancel_grace`` seconds later is cancelled with ``force=True`` (its worker is killed: a
  plain Python call blocked in ``time.sleep`` or C code does not see Ray's interrupt).
- A task error is raised as the op's own exception (type and message as raised in the worker, the
  remote traceback as a note); a task whose worker or node died raises :class:`RayWorkerDied`, which
  the op's ``retries=`` retries.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from operonx.errors import OperonUsageError
from operonx.executors._contract import TransferError, WorkerDiedError
from operonx.executors._ray import SHUT_DOWN, Completions, Failed, Remote, Waiter
from operonx.executors.ray_tasks import WHOLE, SharedValues

__all__ = ["RayExecutor", "RayWorkerDied"]

class RayWorkerDied(WorkerDiedError):
    """The Ray worker (or node) running an op's task died before the task finished. An op with
    ``retries=`` is tried again; the Ray error is the ``__cause__``."""


def _import_ray() -> Any:
    try:
        import ray  # noqa: PLC0415 - optional dependency, imported when an executor is made
    except ImportError as e:  # pragma: no cover - the tests run with ray installed
        raise OperonUsageError("RayExecutor needs Ray: pip install 'operonx[ray]'") from e
    return ray


class _Call:
    """One submitted task: its ref, the future the engine awaits, and its cancellation."""

    __slots__ = ("executor", "ref", "out", "token", "cancelled")

    def __init__(self, executor: RayExecutor, ref: Any, out: asyncio.Future[Any], token: Any) -> None:
        self.executor = executor
        self.ref = ref
        self.out = out
        self.token = token
        self.cancelled = False

    def settle(self, result: Any) -> None:
        ref, self.ref = self.ref, None
        self.executor.forget(self)
        token, self.token = self.token, None
        remove = getattr(token, "remove_callback", None)
        if remove is not None:
            remove(self.cancel)
        if self.out.done():
            return
        if isinstance(result, Failed):
            self.out.set_exception(result.error)
        elif not isinstance(result, self.executor.ray_error):
            self.executor.shared.record(result, ref)
            self.out.set_result(result)
        elif self.cancelled:  # the TaskCancelledError of our own ray.cancel
            self.out.cancel()
        elif self.executor.closed:  # forced to stop by shutdown()
            self.out.set_exception(OperonUsageError(SHUT_DOWN))
        else:
            self.out.set_exception(self.executor.op_error(result))

    def cancel(self) -> None:
        ref = self.ref
        if ref is not None and not self.cancelled:
            self.cancelled = True
            self.executor.cancel_ref(ref)

    def out_done(self, out: asyncio.Future[Any]) -> None:
        if out.cancelled():
            self.cancel()


class RayExecutor:
    """Runs op calls as Ray tasks. ``address`` and ``ray_options`` go to ``ray.init`` when this process
    has not initialised Ray (``address=None`` starts a local instance, or joins ``RAY_ADDRESS``);
    with Ray already initialised the running instance is used and any of them is refused.

    ``cancel_grace``: seconds between ``ray.cancel(ref)`` and ``ray.cancel(ref, force=True)`` for a task
    that keeps running. ``share_min_bytes``: values of at least this size that came from a Ray task
    are passed to later Ray tasks as ``ObjectRef`` (0 passes every eligible value; ``None`` turns it
    off). :meth:`shutdown` cancels the tasks still running and stops Ray only if this executor started
    it.
    """

    def __init__(self, address: str | None = None, *, cancel_grace: float = 1.0,
                 share_min_bytes: int | None = 100_000, **ray_options: Any) -> None:
        if cancel_grace < 0:
            raise OperonUsageError(f"RayExecutor(cancel_grace={cancel_grace!r}): must be >= 0")
        if share_min_bytes is not None and share_min_bytes < 0:
            raise OperonUsageError(f"RayExecutor(share_min_bytes={share_min_bytes!r}): must be >= 0 (or None: off)")
        ray = _import_ray()
        self._ray: Any = ray  # the module, typed loosely: Ray is an optional dependency
        if ray.is_initialized():
            if address is not None or ray_options:
                given = sorted(([] if address is None else ["address"]) + list(ray_options))
                raise OperonUsageError(
                    f"RayExecutor({', '.join(given)}=...): Ray is already initialised in this process, so these "
                    "ray.init options cannot apply; pass none to use the running instance, or ray.shutdown() first")
            self._started = False
        else:
            ray.init(address=address, **ray_options)
            self._started = True
        self.cancel_grace = cancel_grace
        self.ray_error: type[BaseException] = ray.exceptions.RayError
        self.shared = SharedValues(share_min_bytes if share_min_bytes is not None else 0)
        self._share = share_min_bytes is not None
        self._remotes: dict[Callable[..., Any], Remote] = {}
        self._completions: dict[asyncio.AbstractEventLoop, Completions] = {}
        self._live: dict[int, _Call] = {}
        self._waiter = Waiter(ray)
        self._closed = False

    # -- submitting -------------------------------------------------------------------------------

    def _remote(self, fn: Callable[..., Any]) -> Remote:
        remote = self._remotes.get(fn)
        if remote is None:
            remote = self._remotes[fn] = Remote(self._ray, fn)
        return remote

    def _arguments(self, kwargs: Mapping[str, Any]) -> tuple[tuple[tuple[str, str], ...], dict[str, Any]]:
        """The task's keyword arguments, with values held in the object store replaced by their refs."""
        if not self._share:
            return (), dict(kwargs)
        picks = []
        args = {}
        shared = self.shared
        for name, value in kwargs.items():
            held = shared.lookup(value)
            if held is None and shared.eligible(value):
                # a large immutable value made here: stored once, every Ray task that reads it reads that copy
                held = (self._ray.put(value), WHOLE)
                shared.add(value, *held)
            if held is None:
                args[name] = value
            else:
                args[name] = held[0]
                picks.append((name, held[1]))
        return tuple(picks), args

    def _launch(self, fn: Callable[..., Any], kwargs: Mapping[str, Any], options: Mapping[str, Any] | None,
                streaming: bool) -> Any:
        if self._closed:
            raise OperonUsageError("RayExecutor: submit after shutdown()")
        remote = self._remote(fn)
        if streaming != (remote.kind in ("gen", "agen")):
            how = "submit()" if streaming else "submit_stream()"
            raise OperonUsageError(f"RayExecutor: {fn.__qualname__} is {'not ' if streaming else ''}a generator "
                                   f"function: run it with {how}")
        picks, args = self._arguments(kwargs)
        task = remote.variant(options, streaming, tuple(args), picks)
        try:
            return task.remote(*args.values())
        except TypeError as e:
            if "serializ" not in str(e):
                raise
            raise self._transfer_error(fn, args, e) from e

    def _transfer_error(self, fn: Callable[..., Any], args: Mapping[str, Any], error: TypeError) -> TransferError:
        """The argument (or else the function) that Ray could not serialize, named."""
        dumps = self._ray.cloudpickle.dumps
        for name, value in args.items():
            try:
                dumps(value)
            except Exception:  # noqa: BLE001 - this is the one
                return TransferError(f"input {name!r} of {fn.__qualname__} cannot be sent to Ray: {value!r:.200} "
                                     f"({error})", "argument", name)
        return TransferError(f"{fn.__qualname__} cannot be sent to Ray: {error}", "function")

    def submit(self, fn: Callable[..., Any], kwargs: dict[str, Any], *, cancel: Any,
               options: Mapping[str, Any] | None = None) -> asyncio.Future[Any]:
        """Run ``fn(**kwargs)`` as a Ray task; the returned future resolves to its result. Call on the
        event loop's thread. Cancelling the future, or ``cancel`` firing, cancels the task in Ray."""
        loop = asyncio.get_running_loop()
        out: asyncio.Future[Any] = loop.create_future()
        if cancel.cancelled:
            out.cancel()
            return out
        try:
            ref = self._launch(fn, kwargs, options, streaming=False)
        except Exception as e:  # noqa: BLE001 - becomes the op's error
            out.set_exception(e)
            return out
        call = _Call(self, ref, out, cancel)
        self._live[id(call)] = call
        completions = self._completions.get(loop) or self._completions_for(loop)
        # one waiter thread per executor waits for every task in flight with ray.wait and fetches the
        # finished ones with one ray.get per batch (benches/python/ray_await.py: about the driver CPU of
        # a plain ray.get([...]); Ray's per-task completion callback costs a GetAsync and a GIL handoff
        # per task)
        self._waiter.watch(ref, call, completions)
        out.add_done_callback(call.out_done)
        cancel.add_callback(call.cancel)
        return out

    def _completions_for(self, loop: asyncio.AbstractEventLoop) -> Completions:
        for old in [lp for lp in self._completions if lp.is_closed()]:
            del self._completions[old]
        completions = self._completions[loop] = Completions(loop)
        return completions

    def submit_stream(self, fn: Callable[..., Any], kwargs: dict[str, Any], *, cancel: Any,
                      options: Mapping[str, Any] | None = None) -> AsyncIterator[Any]:
        """Run generator function ``fn(**kwargs)`` as a Ray streaming-generator task; yields its items as
        the worker produces them. Closing the iterator, or ``cancel`` firing, cancels the task."""
        return self._stream(fn, kwargs, cancel, options)

    async def _stream(self, fn: Callable[..., Any], kwargs: dict[str, Any], cancel: Any,
                      options: Mapping[str, Any] | None) -> AsyncIterator[Any]:
        if cancel.cancelled:
            raise asyncio.CancelledError
        generator = self._launch(fn, kwargs, options, streaming=True)
        holder = [generator]

        def stop() -> None:
            if holder[0] is not None:
                self.cancel_ref(holder[0])
        cancel.add_callback(stop)
        finished = False
        try:
            async for ref in generator:
                try:
                    item = await ref
                except Exception as e:
                    if cancel.cancelled:  # the TaskCancelledError of our own ray.cancel
                        raise asyncio.CancelledError from e
                    mapped = self.op_error(e)
                    if mapped is e:
                        raise
                    raise mapped from mapped.__cause__
                self.shared.record(item, ref)
                yield item
            finished = True
        finally:
            if not finished:
                stop()
            holder[0] = None

    # -- outcomes ---------------------------------------------------------------------------------

    def op_error(self, error: BaseException) -> BaseException:
        """The exception an op raises for a failed task: the op's own exception, :class:`RayWorkerDied`
        for a dead worker or node, else Ray's error (a task cancelled in Ray by someone else, say)."""
        exc = self._ray.exceptions
        if isinstance(error, exc.RayTaskError):
            cause = error.cause
            if isinstance(cause, BaseException) and not isinstance(cause, exc.RayError):
                cause.add_note(f"raised in a Ray task: {error}")
                return cause
            if isinstance(cause, exc.RayError):
                error = cause
        dead = (exc.WorkerCrashedError, exc.NodeDiedError, exc.LocalRayletDiedError, exc.ObjectLostError,
                exc.OwnerDiedError, exc.RayActorError)
        if isinstance(error, dead):
            died = RayWorkerDied(f"the Ray worker running the task died: {type(error).__name__}: {error}")
            died.__cause__ = error
            return died
        return error

    def cancel_ref(self, ref: Any) -> None:
        """``ray.cancel(ref)`` (Ray interrupts the task, and stops a generator at its next item), then with
        ``force=True`` if the task has not finished ``cancel_grace`` seconds later."""
        ray = self._ray
        try:
            ray.cancel(ref, force=False, recursive=True)
        except Exception:  # noqa: BLE001, S110 - a task already finished or gone
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is None or self.cancel_grace == 0:
            self._force(ref)
        else:
            loop.call_later(self.cancel_grace, self._force, ref)

    def _force(self, ref: Any) -> None:
        ray = self._ray
        try:
            # a generator's own end is not known here: Ray marks it finished once cancelled, while the
            # worker may still be blocked in the call, so it is forced regardless (a no-op if it ended)
            ready = [] if isinstance(ref, ray.ObjectRefGenerator) else ray.wait([ref], timeout=0, fetch_local=False)[0]
            if not ready:
                ray.cancel(ref, force=True, recursive=True)
        except Exception:  # noqa: BLE001, S110 - Ray shut down or the task is gone
            pass

    @property
    def closed(self) -> bool:
        """Whether :meth:`shutdown` was called."""
        return self._closed

    def forget(self, call: _Call) -> None:
        self._live.pop(id(call), None)

    @property
    def running(self) -> int:
        """Tasks submitted by this executor that have not completed yet."""
        return len(self._live)

    def shutdown(self) -> None:
        """Cancel this executor's tasks still running, forget the shared values, and stop Ray if this
        executor started it. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._waiter.close()
        for call in list(self._live.values()):
            ref = call.ref
            if ref is not None:
                self._force(ref)
        self._live.clear()
        self.shared.clear()
        self._remotes.clear()
        if self._started and self._ray.is_initialized():
            self._ray.shutdown()

    def __repr__(self) -> str:
        return f"RayExecutor(started={self._started}, running={self.running})"
