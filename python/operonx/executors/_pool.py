"""The machinery of :class:`~operonx.executors.ProcessExecutor`: its workers, its queue of jobs, and
the one reader thread per pool that takes every reply, hands each worker its next jobs at once, and
wakes each event loop once per batch of replies (``call_soon_threadsafe``).

A busy worker is given short jobs ahead, up to ``DEPTH`` of them and ``BACKLOG`` seconds of work by
each function's average, so it does not wait for this process between two jobs; a worker left with
nothing takes back a job another holds but has not started. A job a worker holds but has not started is cancelled by a message (the worker drops it); one
it runs, by killing the worker. A worker that dies fails the job it was running (it said it had
started it), and the jobs it held but had not started go back to the queue."""

from __future__ import annotations

import itertools
import multiprocessing
import os
import selectors
import socket
import threading
import time
from collections import deque
from typing import Any, Callable

from operonx.executors._worker import main as worker_main
from operonx.executors._jobs import (
    CANCELLED, DONE, LONG, QUEUED, RUNNING, SENT, STOLEN, Fn, Job, Worker, deliver, died_error, how_died,
    kill_process, reply_value,
)
from operonx.executors._transfer import CANCEL, ERROR, ITEM, JOB, READY, REPLY, SKIPPED, STARTED, STREAM, Channel

__all__ = ["DEPTH", "Pool"]

#: workers in a row that die before they are ready, after which the pool stops starting more
_START_FAILURES = 3
#: most jobs a worker holds at once (on a 1000-op fan-out of trivial ops, holding 2 cost 50 us/op of
#: this process's CPU, 8 cost 42, 16 cost 36: fewer wake-ups per reply)
DEPTH = 16
#: most work a busy worker is given ahead (seconds, by the average time of each function's calls): a
#: worker holds many short calls, but never a long one behind another
BACKLOG = 0.002
#: the largest job a busy worker is sent ahead (bytes): what it has not read yet stays far below what
#: its socket buffers, so a send to a busy worker never waits (a larger job waits for an idle worker,
#: which is reading)
AHEAD_BYTES = 8192

Out = list[tuple[Job, int, Any]]


class Pool:
    """Workers, queue and reader thread. ``lock`` guards the workers' and jobs' states."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.lock = threading.Lock()
        self.workers: list[Worker] = []
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
            w = self.pick(job)
            if w is None:
                self.queue.append(job)
                self.queued += 1
            else:
                self.send(w, job)

    def cancel(self, job: Job) -> None:
        """Drops ``job`` if it is queued or held, not started; kills its worker if it runs there."""
        with self.lock:
            state, w = job.state, job.worker
            if state == QUEUED:
                job.state = CANCELLED
                self.queued -= 1
            elif state == SENT and w is not None:
                job.state = CANCELLED
                try:
                    w.conn.send(JOB.pack(job.id, 0, 0, CANCEL))
                except OSError:
                    pass
            elif state == STOLEN:
                job.state = CANCELLED  # its worker was told to drop it already
            elif state == RUNNING and w is not None:
                job.state = CANCELLED
                self.kill(w)
        if job.future is not None and not job.future.done():
            job.future.cancel()

    def busy(self) -> int:
        with self.lock:
            return sum(1 for w in self.workers if w.inflight and not w.gone)

    def pids(self) -> list[int]:
        with self.lock:
            return [w.proc.pid for w in self.workers]

    # -- lock held -----------------------------------------------------------------------------------

    def pick(self, job: Job) -> Worker | None:
        """An idle worker, else the least loaded one with room for ``job``, else ``None``."""
        best, least = None, 0.0
        for w in self.workers:
            if w.ready and not w.gone:
                if not w.inflight:
                    return w
                if self.room(w, job) and (best is None or w.backlog() < least):
                    best, least = w, w.backlog()
        return best

    def room(self, w: Worker, job: Job) -> bool:
        """Whether ``w`` may be sent ``job`` now: it is idle, or ``job`` is short, small, of a function
        it has, and fits in its backlog."""
        if not w.inflight:
            return True
        cost = LONG if job.fn.avg is None else job.fn.avg
        return (
            len(w.inflight) < DEPTH and len(job.args) <= AHEAD_BYTES and job.fn.key in w.fns
            and w.backlog() + cost <= BACKLOG
        )

    def send(self, w: Worker, job: Job) -> None:
        fn = job.fn
        flags = STREAM if job.stream is not None else 0
        if fn.key in w.fns:
            data = JOB.pack(job.id, fn.key, 0, flags) + job.args
        else:
            data = JOB.pack(job.id, fn.key, len(fn.payload), flags) + fn.payload + job.args
        try:
            w.conn.send(data)
        except OSError:  # the worker died: the job goes back to the queue; the reader replaces the worker
            w.gone = True
            self.queue.appendleft(job)
            self.queued += 1
            return
        job.state, job.worker = SENT, w
        w.inflight.append(job)
        w.fns.add(fn.key)

    def fill(self, w: Worker) -> None:
        """Gives ``w`` queued jobs while it has room."""
        queue = self.queue
        while queue and not w.gone:
            job = queue[0]
            if job.state != QUEUED:
                queue.popleft()
            elif self.room(w, job):
                queue.popleft()
                self.queued -= 1
                self.send(w, job)
            else:
                return

    def kill(self, w: Worker) -> None:
        w.gone = w.killed = True
        kill_process(w.proc)

    def add(self, w: Worker) -> None:
        self.workers.append(w)
        self.selector.register(w.conn.sock, selectors.EVENT_READ, w)

    # -- workers -------------------------------------------------------------------------------------

    def spawn(self) -> Worker:
        ctx = multiprocessing.get_context("spawn")
        mine, child = socket.socketpair()
        proc = ctx.Process(target=worker_main, args=(child,), daemon=True, name="operonx-process-worker")
        try:
            proc.start()
        finally:
            child.close()
        return Worker(proc, Channel(mine))

    # -- the reader thread ---------------------------------------------------------------------------

    def read(self) -> None:
        selector = self.selector
        while True:
            out: Out = []
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
                    alive = w.conn.fill()
                except OSError:
                    alive = False
                for data in w.conn.messages():
                    self.reply(w, data, out)
                if not alive:
                    self.died(w, out)
            if out:
                deliver(out)

    def reply(self, w: Worker, data: bytes, out: Out) -> None:
        job_id, kind = REPLY.unpack_from(data)
        with self.lock:
            if kind == READY:
                self.ready(w)
                return
            job = w.holds(job_id)
            if job is None:
                return
            if kind == STARTED:
                w.running = job
                job.started = time.monotonic()
                if job.state == CANCELLED:  # cancelled while on its way: stop it now
                    self.kill(w)
                else:
                    job.state = RUNNING  # a job being taken back had started: it stays
                return
            if kind != ITEM:
                self.finished(w, job, kind)
            if job.state == CANCELLED or kind == SKIPPED:
                return
        out.append((job, kind, reply_value(kind, data)))

    def finished(self, w: Worker, job: Job, kind: int) -> None:
        """``job`` left ``w`` (answered, or dropped there); ``w`` takes queued or held work."""
        w.inflight.remove(job)
        if w.running is job:
            w.running = None
            if kind != SKIPPED:
                job.fn.took(time.monotonic() - job.started)
        if job.state == STOLEN:  # dropped by its worker: back to the queue, for an idle worker
            job.state, job.worker = QUEUED, None
            self.queue.appendleft(job)
            self.queued += 1
            for other in self.workers:
                if not other.inflight:
                    self.fill(other)
        elif job.state != CANCELLED:
            job.state = DONE
        if self.closed:
            return
        self.fill(w)
        if not w.inflight and not self.queue:
            self.steal(w)

    def steal(self, idle: Worker) -> None:
        """Takes back, for ``idle``, the last job not started of the worker holding the most."""
        victim, most = None, 1
        for w in self.workers:
            if w is not idle and not w.gone and len(w.inflight) > most:
                victim, most = w, len(w.inflight)
        if victim is None:
            return
        job = victim.inflight[-1]
        if job.state != SENT:
            return
        try:
            victim.conn.send(JOB.pack(job.id, 0, 0, CANCEL))
        except OSError:
            return
        job.state = STOLEN

    def ready(self, w: Worker) -> None:
        w.ready = True
        self.start_failures = 0
        self.ready_count += 1
        if self.ready_count >= self.size:
            self.all_ready.set()
        if not self.closed:
            self.fill(w)

    def died(self, w: Worker, out: Out) -> None:
        self.selector.unregister(w.conn.sock)
        w.conn.close()
        w.proc.join(5)
        with self.lock:
            if w in self.workers:
                self.workers.remove(w)
            self.orphans(w, out)
            if not w.ready and not w.killed:
                self.start_failures += 1
                if self.start_failures >= _START_FAILURES:
                    self.broken = (
                        f"the process pool's workers fail to start ({how_died(w.proc)}; their error is printed above). "
                        f"A script whose ops run on processes must start its runs under "
                        f"`if __name__ == \"__main__\":`"
                    )
                    out.extend(self.fail_queued(RuntimeError(self.broken)))
            if self.closed or self.broken:
                return
            for other in self.workers:
                self.fill(other)
        fresh = self.spawn()
        with self.lock:
            if self.closed:
                kill_process(fresh.proc)
                return
            self.add(fresh)

    def orphans(self, w: Worker, out: Out) -> None:
        """The jobs a dead worker held: the one it ran fails, the others go back to the queue."""
        back = []
        for job in w.inflight:
            if job.state == RUNNING:
                job.state = DONE
                out.append((job, ERROR, died_error(w.proc)))
            elif job.state in (SENT, STOLEN):
                job.state, job.worker = QUEUED, None
                back.append(job)
        w.inflight.clear()
        self.queue.extendleft(reversed(back))
        self.queued += len(back)

    def fail_queued(self, err: BaseException) -> Out:
        """Empties the queue (lock held); the jobs that were waiting, each failing with ``err``."""
        failed: Out = [(j, ERROR, err) for j in self.queue if j.state == QUEUED]
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
                held = [j for j in w.inflight if j.state in (SENT, RUNNING, STOLEN)]
                for job in held:
                    job.state = DONE
                    failed.append((job, ERROR, err))
                if held:
                    self.kill(w)
                else:
                    try:
                        w.conn.send(b"")
                    except OSError:
                        pass
            workers = list(self.workers)
            self.workers.clear()
        deliver(failed)
        os.write(self.wake[1], b"x")
        if self.reader is not None and self.reader is not threading.current_thread():
            self.reader.join(5)
        for w in workers:
            w.proc.join(1 if wait else 0.2)
            if w.proc.is_alive():
                kill_process(w.proc)
                w.proc.join(1)
            w.conn.close()
        self.selector.close()
        for fd in self.wake:
            os.close(fd)
