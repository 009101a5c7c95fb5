//! Futures the loop thread resolves itself, whose awaiting task may be resumed in the same loop
//! turn: the pump of an async generator op takes an LLM stream's next chunk from the drain that
//! received it, instead of asyncio waking the generator's task one turn later.
//!
//! A producer on the loop thread (the LLM bridge) *offers* each pending future it hands out. The
//! pump of an async generator sees the future come up from the generator's `await`; when it is
//! the one offered, the pump *claims* it with a way to resume itself (`resumer()`) and parks its
//! task on a future of its own instead. When the producer resolves the future it calls
//! [`Claim::wake`], which resumes the pump at once. A future nobody claims stays an ordinary
//! future: the task awaiting it is woken by asyncio as usual.

use std::cell::RefCell;
use std::sync::{Arc, Mutex, PoisonError};

use pyo3::prelude::*;

thread_local! {
    /// The last future offered on this thread, with its claim.
    static OFFERED: RefCell<Option<(Py<PyAny>, Arc<Claim>)>> = const { RefCell::new(None) };
}

/// Who resumes when an offered future is resolved: nobody, until a pump claims it.
#[derive(Default)]
pub(crate) struct Claim {
    taker: Mutex<Option<Taker>>,
}

struct Taker {
    /// Called with no arguments, on the loop thread, once the future is resolved.
    resumer: Py<PyAny>,
    /// The future the claimant's task waits on meanwhile: resolved (the task then resumes the
    /// claimant itself) if `resumer` fails.
    park: Py<PyAny>,
}

impl Claim {
    /// Called by the producer after resolving the claimed future: resumes the claimant now. A
    /// claimant that cannot be resumed (it is running) is left to its task, woken next turn.
    pub(crate) fn wake(&self, py: Python<'_>) {
        let taker = self.taker.lock().unwrap_or_else(PoisonError::into_inner).take();
        let Some(Taker { resumer, park }) = taker else { return };
        if resumer.bind(py).call0().is_err() {
            let _ = crate::frames::resolve(py, park.bind(py), py.None().into_bound(py));
        }
    }

    /// Makes `resumer` the one [`Claim::wake`] calls; `park` is what its task waits on meanwhile.
    pub(crate) fn hold(&self, resumer: Py<PyAny>, park: Py<PyAny>) {
        *self.taker.lock().unwrap_or_else(PoisonError::into_inner) = Some(Taker { resumer, park });
    }

    /// The claimant gives up (its task was cancelled or closed): the future wakes nobody.
    pub(crate) fn revoke(&self) {
        drop(self.taker.lock().unwrap_or_else(PoisonError::into_inner).take());
    }
}

/// Offers pending `future`, which the caller will resolve on this thread and then call
/// [`Claim::wake`] on the claim returned.
pub(crate) fn offer(future: &Bound<'_, PyAny>) -> Arc<Claim> {
    let claim = Arc::new(Claim::default());
    OFFERED.with(|slot| *slot.borrow_mut() = Some((future.clone().unbind(), Arc::clone(&claim))));
    claim
}

/// The claim of `yielded` when it is the future last offered on this thread (it can be claimed
/// once).
pub(crate) fn offered(yielded: &Bound<'_, PyAny>) -> Option<Arc<Claim>> {
    OFFERED.with(|slot| {
        let mut slot = slot.borrow_mut();
        match slot.as_ref() {
            Some((future, _)) if future.as_ptr() == yielded.as_ptr() => slot.take().map(|(_, claim)| claim),
            _ => None,
        }
    })
}
