"""The machinery of :class:`~operonx.executors.ProcessExecutor`: its workers, its queue of jobs, and
the one reader thread per pool that takes every reply, hands each idle worker its next job at once,
and wakes each event loop once per batch of replies (``call_soon_threadsafe``)."""

from __future__ import annotations

import itertools
import multiprocessing
import os
import selectors
import signal
import threading
from collections import deque
from typing import Any, Callable

from operonx.executors._worker import main as worker_main
from operonx.executors._contract import WorkerDiedError
from operonx.executors._jobs import CANCELLED, DONE, QUEUED, RUNNING, Fn, Job, Worker, deliver, reply_value
from operonx.executors._transfer import ERROR, ITEM, JOB, READY, REPLY, STREAM

__all__ = ["Pool"]

#: workers in a row that die before they are ready, after which the pool stops starting more
_START_FAILURES = 3


class Pool:
    """Workers, queue and reader thread. ``lock`` guards the workers' and jobs' states."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.lock = threading.Lock()
        self.workers: list[Worker] = []
        self.idle: list[Worker] = []
        self.queue: deque[Job] = deque()
        self.queued = 0
        self.fns: dict[int, Fn] = {}
        self.ids = itertools.count(1)
        self.keys = itertools.count(1)
        self.started = self.closed = False
        self.broken: str | None = None
        self.start_failures = 0
        self.ready_count = 0
        self.all_ready = threading.Event()
        self.selector: Any = None
        self.wake: tuple[int, int] = (-1, -1)
        self.reader: threading.Thread | None = None

    # -- the caller's side (event loop threads) -------------------------------------------------------

    def function(self, fn: Callable[..., Any]) -> Fn:
        got = self.fns.get(id(fn))
        if got is None or got.fn is not fn:
            got = self.fns[id(fn)] = Fn(fn, next(self.keys))
        return got

    def start(self) -> None:
        with self.lock:
            if self.started or self.closed:
                return
            self.started = True
            self.selector = selectors.DefaultSelector()
            self.wake = os.pipe()
            os.set_blocking(self.wake[0], False)
            self.selector.register(self.wake[0], selectors.EVENT_READ, None)
            for _ in range(self.size):
                self.add(self.spawn())
            self.reader = threading.Thread(target=self.read, name="operonx-process-pool", daemon=True)
            self.reader.start()

    def wait_ready(self, timeout: float | None) -> bool:
        return self.all_ready.wait(timeout)

    def put(self, job: Job) -> None:
        if not self.started:
            self.start()
        with self.lock:
            if self.closed or self.broken:
                raise RuntimeError(self.broken or "the process executor is shut down")
            job.id = next(self.ids)
            if self.idle:
                self.send(self.idle.pop(), job)
            else:
                self.queue.append(job)
                self.queued += 1

    def cancel(self, job: Job) -> None:
        """Drops ``job`` if it is queued; kills its worker if it runs (the reader replaces it)."""
        with self.lock:
            if job.state == QUEUED:
                job.state = CANCELLED
                self.queued -= 1
            elif job.state == RUNNING:
                job.state = CANCELLED
                w = job.worker
                if w is not None and w.job is job:
                    w.killed = True
                    _kill(w.proc)
        if job.future is not None and not job.future.done():
            job.future.cancel()

    def busy(self) -> int:
        with self.lock:
            return sum(1 for w in self.workers if w.job is not None)

    def pids(self) -> list[int]:
        with self.lock:
            return [w.proc.pid for w in self.workers]

    # -- lock held -----------------------------------------------------------------------------------

    def send(self, w: Worker, job: Job) -> None:
        fn = job.fn
        flags = STREAM if job.stream is not None else 0
        if fn.key in w.fns:
            data = JOB.pack(job.id, fn.key, 0, flags) + job.args
        else:
            data = JOB.pack(job.id, fn.key, len(fn.payload), flags) + fn.payload + job.args
        job.state, job.worker, w.job = RUNNING, w, job
        try:
            w.conn.send_bytes(data)
        except OSError:  # the worker died: the job never started; the reader replaces the worker
            job.state, job.worker, w.job = QUEUED, None, None
            self.queue.appendleft(job)
            self.queued += 1
            return
        w.fns.add(fn.key)

    def next_job(self, w: Worker) -> None:
        queue = self.queue
        while queue:
            job = queue.popleft()
            if job.state == QUEUED:
                self.queued -= 1
                self.send(w, job)
                return
        self.idle.append(w)

    def add(self, w: Worker) -> None:
        self.workers.append(w)
        self.selector.register(w.conn, selectors.EVENT_READ, w)

    # -- workers -------------------------------------------------------------------------------------

    def spawn(self) -> Worker:
        ctx = multiprocessing.get_context("spawn")
        conn, child = ctx.Pipe()
        proc = ctx.Process(target=worker_main, args=(child,), daemon=True, name="operonx-process-worker")
        proc.start()
        child.close()
        return Worker(proc, conn)

    # -- the reader thread ---------------------------------------------------------------------------

    def read(self) -> None:
        selector = self.selector
        while True:
            out: list[tuple[Job, int, Any]] = []
            for key, _ in selector.select():
                w = key.data
                if w is None:
                    try:
                        os.read(self.wake[0], 512)
                    except BlockingIOError:
                        pass
                    if self.closed:
                        return
                    continue
                try:
                    data = w.conn.recv_bytes()
                except (EOFError, OSError):
                    self.died(w, out)
                    continue
                self.reply(w, data, out)
            if out:
                deliver(out)

    def reply(self, w: Worker, data: bytes, out: list[tuple[Job, int, Any]]) -> None:
        job_id, kind = REPLY.unpack_from(data)
        with self.lock:
            if kind == READY:
                w.ready = True
                self.start_failures = 0
                self.ready_count += 1
                if self.ready_count >= self.size:
                    self.all_ready.set()
                if not self.closed:
                    self.next_job(w)
                return
            job = w.job
            if job is None or job.id != job_id:
                return
            if kind != ITEM:
                w.job = None
                if job.state == RUNNING:
                    job.state = DONE
                if not self.closed:
                    self.next_job(w)
            if job.state == CANCELLED:
                return
        out.append((job, kind, reply_value(kind, data)))

    def died(self, w: Worker, out: list[tuple[Job, int, Any]]) -> None:
        self.selector.unregister(w.conn)
        w.conn.close()
        w.proc.join(5)
        with self.lock:
            if w in self.workers:
                self.workers.remove(w)
            if w in self.idle:
                self.idle.remove(w)
            job, w.job = w.job, None
            if job is not None and job.state == RUNNING:
                job.state = DONE
                out.append((job, ERROR, _died(w.proc)))
            if not w.ready and not w.killed:
                self.start_failures += 1
                if self.start_failures >= _START_FAILURES:
                    self.broken = (
                        f"the process pool's workers fail to start ({_how(w.proc)}; their error is printed above). "
                        f"A script whose ops run on processes must start its runs under "
                        f"`if __name__ == \"__main__\":`"
                    )
                    out.extend(self.fail_queued(RuntimeError(self.broken)))
            if self.closed or self.broken:
                return
        fresh = self.spawn()
        with self.lock:
            if self.closed:
                _kill(fresh.proc)
                return
            self.add(fresh)

    def fail_queued(self, err: BaseException) -> list[tuple[Job, int, Any]]:
        """Empties the queue (lock held); the jobs that were waiting, each failing with ``err``."""
        failed = [(j, ERROR, err) for j in self.queue if j.state == QUEUED]
        for j, _, _ in failed:
            j.state = DONE
        self.queue.clear()
        self.queued = 0
        return failed

    # -- shutdown ------------------------------------------------------------------------------------

    def shutdown(self, wait: bool) -> None:
        err = RuntimeError("the process executor was shut down")
        with self.lock:
            if self.closed:
                return
            self.closed = True
            if not self.started:
                return
            failed = self.fail_queued(err)
            for w in self.workers:
                job = w.job
                if job is not None and job.state == RUNNING:
                    job.state = DONE
                    failed.append((job, ERROR, err))
                    w.killed = True
                    _kill(w.proc)
                else:
                    try:
                        w.conn.send_bytes(b"")
                    except OSError:
                        pass
            workers = list(self.workers)
            self.workers.clear()
            self.idle.clear()
        deliver(failed)
        os.write(self.wake[1], b"x")
        if self.reader is not None and self.reader is not threading.current_thread():
            self.reader.join(5)
        for w in workers:
            w.proc.join(1 if wait else 0.2)
            if w.proc.is_alive():
                _kill(w.proc)
                w.proc.join(1)
            w.conn.close()
        self.selector.close()
        for fd in self.wake:
            os.close(fd)


def _how(proc: Any) -> str:
    code = proc.exitcode
    if code is None:
        return "its exit status is unknown"
    if code < 0:
        try:
            return f"killed by signal {-code} ({signal.Signals(-code).name})"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with code {code}"


def _died(proc: Any) -> BaseException:
    return WorkerDiedError(
        f"the worker process (pid {proc.pid}) running this call died: {_how(proc)}", proc.pid, proc.exitcode
    )


def _kill(proc: Any) -> None:
    try:
        proc.kill()
    except (OSError, ValueError, AttributeError):
        pass
