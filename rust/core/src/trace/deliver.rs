//! Handing traces to tracers off the runs' tasks: one engine-wide thread (started with the first
//! trace) builds each run's [`super::TraceData`] and calls every tracer's
//! [`super::Tracer::flush`], in the order the runs ended, taking the traces handed over in batches.
//! A run never waits for a tracer, and a trace handed over is flushed even when the tokio runtime
//! of its run shuts down.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use super::build::Finished;
use super::Tracer;
use crate::error::panic_message;

/// Work for the tracers' thread.
enum Job {
    /// A run's trace for its tracers.
    Trace(Vec<Arc<dyn Tracer>>, Box<Finished>),
    /// Work of another kind of tracer (the Python package's), run in order with the traces.
    Run(Box<dyn FnOnce() + Send>),
    /// Answers once every job sent before it is done.
    Barrier(mpsc::SyncSender<()>),
}

/// The tracers' thread's queue. Runs hand their traces over without waking the thread while it
/// works or polls (every [`POLL`] while traces keep coming): a burst of short runs costs their
/// loop no system call per run, even when the thread is behind. The thread sleeps for good once a
/// poll finds nothing; the next job, a full queue while it polls or a [`Job::Barrier`] wakes it.
struct Queue {
    jobs: Mutex<Vec<Job>>,
    wake: Condvar,
    /// What the thread does: [`WORKING`], [`POLLING`] or [`ASLEEP`] (set with `jobs` locked).
    state: AtomicU8,
}

/// The thread is taking jobs: nothing wakes it (it takes what is queued when it is done).
const WORKING: u8 = 0;
/// The thread waits at most [`POLL`] for jobs: a full queue wakes it.
const POLLING: u8 = 1;
/// The thread waits until woken: any job wakes it.
const ASLEEP: u8 = 2;

/// How long the tracers' thread waits for more jobs before it sleeps until woken.
const POLL: Duration = Duration::from_millis(2);
/// Jobs queued at which a run wakes the thread even while it polls.
const FULL: usize = 512;

impl Queue {
    fn push(&self, job: Job) {
        let urgent = matches!(job, Job::Barrier(_));
        let queued = {
            let mut jobs = self.jobs.lock().unwrap_or_else(PoisonError::into_inner);
            jobs.push(job);
            jobs.len()
        };
        // a notification costs a system call: none while the thread works (it swaps the queue
        // when it is done, whatever it holds)
        let wake = match self.state.load(Ordering::Acquire) {
            WORKING => false,
            POLLING => queued >= FULL,
            _ => true,
        };
        if urgent || wake {
            self.wake.notify_one();
        }
    }

    /// The jobs queued, swapped with `batch` (empty); waits for some.
    fn take(&self, batch: &mut Vec<Job>) {
        let mut jobs = self.jobs.lock().unwrap_or_else(PoisonError::into_inner);
        if jobs.is_empty() {
            self.state.store(POLLING, Ordering::Release);
            jobs = self.wake.wait_timeout(jobs, POLL).unwrap_or_else(PoisonError::into_inner).0;
            if jobs.is_empty() {
                self.state.store(ASLEEP, Ordering::Release);
                while jobs.is_empty() {
                    jobs = self.wake.wait(jobs).unwrap_or_else(PoisonError::into_inner);
                }
            }
            self.state.store(WORKING, Ordering::Release);
        }
        std::mem::swap(&mut *jobs, batch);
    }

    fn work(&self) {
        let mut batch = Vec::new();
        loop {
            self.take(&mut batch);
            for job in batch.drain(..) {
                match job {
                    Job::Trace(tracers, finished) => flush_all(&tracers, &finished),
                    Job::Run(work) => run_guarded(work),
                    Job::Barrier(done) => drop(done.send(())),
                }
            }
        }
    }
}

/// The tracers' thread's queue; `None` when the thread could not be started (traces are then
/// flushed on the run's thread).
fn queue() -> Option<&'static Queue> {
    static QUEUE: OnceLock<Option<&'static Queue>> = OnceLock::new();
    *QUEUE.get_or_init(|| {
        let queue: &'static Queue =
            Box::leak(Box::new(Queue { jobs: Mutex::new(Vec::new()), wake: Condvar::new(), state: AtomicU8::new(WORKING) }));
        let work = move || {
            lower_priority();
            queue.work();
        };
        let started = std::thread::Builder::new().name("operonx-traces".into()).spawn(work);
        started.ok().map(|_| queue)
    })
}

/// Makes the calling thread (the tracers') yield to the threads that run ops: its work is never
/// urgent, and a run that hands it a trace must not be preempted by it (on a busy machine the
/// woken thread would otherwise take the run's CPU before the run returns). Linux only.
#[cfg(target_os = "linux")]
fn lower_priority() {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: both calls act on the calling thread only (pid 0 / who 0: on Linux, scheduling
    // policy and nice value are per thread) and read nothing but `param`, which outlives them.
    // A refusal leaves the thread as it was.
    unsafe {
        libc::sched_setscheduler(0, libc::SCHED_BATCH, &param);
        libc::setpriority(libc::PRIO_PROCESS, 0, 10);
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority() {}

/// Hands the trace of a run that is over to `tracers`, off the calling thread.
#[doc = include_str!("../../doc/trace/deliver/deliver.md")]
pub fn deliver(tracers: Vec<Arc<dyn Tracer>>, finished: Finished) {
    match queue() {
        Some(q) => q.push(Job::Trace(tracers, Box::new(finished))),
        None => flush_all(&tracers, &finished),
    }
}

/// Runs `work` on the tracers' thread, after the traces and jobs handed over before it (on the
/// calling thread when that thread could not be started). A panic in it is logged and lost.
#[doc = include_str!("../../doc/trace/deliver/deliver_job.md")]
pub fn deliver_job(work: Box<dyn FnOnce() + Send>) {
    match queue() {
        Some(q) => q.push(Job::Run(work)),
        None => run_guarded(work),
    }
}

fn run_guarded(work: Box<dyn FnOnce() + Send>) {
    if let Err(panic) = catch_unwind(AssertUnwindSafe(work)) {
        tracing::error!(target: "operonx::trace", "a trace job panicked: {}", panic_message(&*panic));
    }
}

/// Waits until every trace handed over before the call has been flushed to its tracers (their
/// `flush` returned), at most `timeout`; false when the time ran out. For a program that exits
/// right after its last run, and for tests.
///
/// A run awaited in place (`run_json`, `run_json_async`, `run`) hands its trace over before it
/// returns; a run started with `start` hands it over just after its consumers see its end, so the
/// trace of a run whose `result()` just returned may not be handed over yet.
///
/// ```
/// assert!(operonx::trace::flush_pending(std::time::Duration::from_secs(5)));
/// ```
pub fn flush_pending(timeout: Duration) -> bool {
    let Some(q) = queue() else { return true };
    let (tx, rx) = mpsc::sync_channel(1);
    q.push(Job::Barrier(tx));
    rx.recv_timeout(timeout).is_ok()
}

/// Builds the run's trace and flushes it to each tracer: with the tracer's tags, the items of
/// each stream cut to its `stream_trace_limit`, its filter applied. A tracer's error or panic is
/// logged (`tracing`, target `operonx::trace`) and does not keep the others from their trace.
fn flush_all(tracers: &[Arc<dyn Tracer>], finished: &Finished) {
    let mut built: Vec<(Option<usize>, super::TraceData)> = Vec::new();
    for tracer in tracers {
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let limit = tracer.stream_trace_limit();
            let i = match built.iter().position(|(l, _)| *l == limit) {
                Some(i) => i,
                None => {
                    built.push((limit, finished.trace(limit)));
                    built.len() - 1
                }
            };
            let mut data = built[i].1.clone();
            data.tags = tracer.tags().to_vec();
            if let Some(filter) = tracer.trace_filter() {
                data.nodes = filter.apply(std::mem::take(&mut data.nodes));
            }
            tracer.flush(&data)
        }));
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::error!(target: "operonx::trace", "tracer '{}' failed to flush a trace: {e}", tracer.name())
            }
            Err(panic) => tracing::error!(
                target: "operonx::trace",
                "tracer '{}' panicked flushing a trace: {}",
                tracer.name(),
                panic_message(&*panic)
            ),
        }
    }
}
