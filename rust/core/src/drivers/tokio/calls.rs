//! Calls in flight on the tokio driver: an async op's future, polled by the driver's task, or a
//! `bound="cpu"` op's job on a blocking thread. A panic in either becomes the op's failure.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::task::JoinHandle;

use crate::drivers::step::{BlockingCall, Outcome};
use crate::error::panic_message;
use crate::ops::OpFuture;
use crate::plan::OpId;
use crate::run::{CancelToken, OpFailure};
use crate::scheduler::CtxId;

/// What came back of a call: the op instance and its outcome (`None`: a blocking job that never
/// started because the run had stopped).
pub type Landed = (OpId, CtxId, Option<Outcome>);

/// Where a call in flight runs.
enum Running {
    /// An async op's future, polled by the driver (dropped with it).
    Future(OpFuture),
    /// A job on tokio's blocking pool.
    Blocking(JoinHandle<Option<Outcome>>),
}

/// One call in flight, resolving to what came back of it.
pub struct InFlight {
    op: OpId,
    ctx: CtxId,
    running: Running,
}

impl InFlight {
    /// An async op's call.
    pub fn future(op: OpId, ctx: CtxId, future: OpFuture) -> Self {
        InFlight { op, ctx, running: Running::Future(future) }
    }

    /// A cpu op's call, started on the blocking pool of the current runtime; the job checks the
    /// run's token first and does not call the op once the run stopped. `Err` when there is no
    /// runtime to run it.
    pub fn blocking(op: OpId, ctx: CtxId, call: Box<BlockingCall>, token: CancelToken) -> Result<Self, Outcome> {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            let message = "a bound=\"cpu\" op runs on tokio's blocking pool: await the run inside a tokio runtime";
            return Err(Err(OpFailure::Raised(message.into())));
        };
        let job = runtime.spawn_blocking(move || (!token.is_cancelled()).then(|| call.run()));
        Ok(InFlight { op, ctx, running: Running::Blocking(job) })
    }
}

impl Future for InFlight {
    type Output = Landed;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Landed> {
        let this = self.get_mut();
        let outcome = match &mut this.running {
            Running::Future(f) => match catch_unwind(AssertUnwindSafe(|| f.as_mut().poll(cx))) {
                Ok(Poll::Pending) => return Poll::Pending,
                Ok(Poll::Ready(result)) => {
                    Some(result.map(crate::json::RunValue::Json).map_err(|e| OpFailure::Raised(e.to_string())))
                }
                Err(panic) => Some(Err(OpFailure::Panicked(panic_message(&*panic)))),
            },
            Running::Blocking(job) => match Pin::new(job).poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(outcome)) => outcome,
                Poll::Ready(Err(e)) => Some(Err(OpFailure::Raised(format!("its blocking job ended: {e}")))),
            },
        };
        Poll::Ready((this.op, this.ctx, outcome))
    }
}

