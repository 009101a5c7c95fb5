//! Handing traces to tracers off the runs' tasks: one engine-wide thread (started with the first
//! trace) builds each run's [`super::TraceData`] and calls every tracer's
//! [`super::Tracer::flush`], in the order the runs ended. A run never waits for a tracer, and a
//! trace handed over is flushed even when the tokio runtime of its run shuts down.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, OnceLock};
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

/// The tracers' thread's queue; `None` when the thread could not be started (traces are then
/// flushed on the run's thread).
fn queue() -> Option<&'static Sender<Job>> {
    static QUEUE: OnceLock<Option<Sender<Job>>> = OnceLock::new();
    QUEUE
        .get_or_init(|| {
            let (tx, rx) = mpsc::channel::<Job>();
            let worker = move || {
                for job in rx {
                    match job {
                        Job::Trace(tracers, finished) => flush_all(&tracers, &finished),
                        Job::Run(work) => run_guarded(work),
                        Job::Barrier(done) => drop(done.send(())),
                    }
                }
            };
            std::thread::Builder::new().name("operonx-traces".into()).spawn(worker).ok().map(|_| tx)
        })
        .as_ref()
}

/// Hands the trace of a run that is over to `tracers`, off the calling thread.
#[doc = include_str!("../../doc/trace/deliver/deliver.md")]
pub fn deliver(tracers: Vec<Arc<dyn Tracer>>, finished: Finished) {
    let job = Job::Trace(tracers, Box::new(finished));
    let job = match queue() {
        Some(q) => match q.send(job) {
            Ok(()) => return,
            Err(mpsc::SendError(job)) => job,
        },
        None => job,
    };
    if let Job::Trace(tracers, finished) = job {
        flush_all(&tracers, &finished);
    }
}

/// Runs `work` on the tracers' thread, after the traces and jobs handed over before it (on the
/// calling thread when that thread could not be started). A panic in it is logged and lost.
#[doc = include_str!("../../doc/trace/deliver/deliver_job.md")]
pub fn deliver_job(work: Box<dyn FnOnce() + Send>) {
    let job = match queue() {
        Some(q) => match q.send(Job::Run(work)) {
            Ok(()) => return,
            Err(mpsc::SendError(job)) => job,
        },
        None => Job::Run(work),
    };
    if let Job::Run(work) = job {
        run_guarded(work);
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
    if q.send(Job::Barrier(tx)).is_err() {
        return true;
    }
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
