//! [`Signal`]: how a run wakes a consumer of the Rust API. A consumer that finds nothing to take
//! makes a signal and registers it with the run's [`crate::run::waiters::Waiters`] under the run's lock, in the
//! same critical section as its check; the run fires it (with a value, for a `wait_for`) under the
//! same lock. A frame pushed between a check and a wait is therefore always seen. Std only: any
//! executor can wait on a signal.

use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

/// A one-shot wake-up, with an optional value, shared by a run and one waiting consumer.
#[doc = include_str!("../../doc/json/signal/Signal.md")]
#[derive(Debug, Default)]
pub struct Signal<V> {
    state: Mutex<State<V>>,
}

#[derive(Debug)]
struct State<V> {
    fired: bool,
    value: Option<V>,
    waker: Option<Waker>,
}

impl<V> Default for State<V> {
    fn default() -> Self {
        State { fired: false, value: None, waker: None }
    }
}

impl<V> Signal<V> {
    /// A signal not yet fired, shared between the run and the consumer.
    #[doc = include_str!("../../doc/json/signal/Signal.new.md")]
    pub fn new() -> Arc<Self> {
        Arc::new(Signal { state: Mutex::new(State::default()) })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State<V>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Fires the signal (the first call wins), waking the consumer's task if it waits.
    #[doc = include_str!("../../doc/json/signal/Signal.fire.md")]
    pub fn fire(&self, value: Option<V>) {
        let waker = {
            let mut s = self.state();
            if s.fired {
                return;
            }
            s.fired = true;
            s.value = value;
            s.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// True once fired.
    #[doc = include_str!("../../doc/json/signal/Signal.is_fired.md")]
    pub fn is_fired(&self) -> bool {
        self.state().fired
    }

    /// Ready with the value it was fired with (taken once), else registers the task to wake.
    #[doc = include_str!("../../doc/json/signal/Signal.poll_fired.md")]
    pub fn poll_fired(&self, cx: &mut Context<'_>) -> Poll<Option<V>> {
        let mut s = self.state();
        if s.fired {
            return Poll::Ready(s.value.take());
        }
        match &mut s.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            slot => *slot = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// True when the consumer gave up (only the run holds the signal any more).
    #[doc = include_str!("../../doc/json/signal/Signal.is_abandoned.md")]
    pub fn is_abandoned(this: &Arc<Self>) -> bool {
        Arc::strong_count(this) == 1
    }
}

/// Waits for a signal to fire; resolves with its value.
#[doc = include_str!("../../doc/json/signal/Fired.md")]
#[derive(Debug)]
pub struct Fired<V>(pub Arc<Signal<V>>);

impl<V> std::future::Future for Fired<V> {
    type Output = Option<V>;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<V>> {
        self.0.poll_fired(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::Signal;
    use std::sync::Arc;

    #[test]
    fn the_first_fire_wins_and_an_abandoned_signal_is_seen() {
        let s = Signal::new();
        let run_side = Arc::clone(&s);
        s.fire(Some(1));
        s.fire(Some(2));
        assert!(s.is_fired());
        drop(s);
        assert!(Signal::is_abandoned(&run_side));
    }
}
