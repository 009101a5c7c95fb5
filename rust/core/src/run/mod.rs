//! What a run produces, written once for every driver.
//!
//! A driver (the Rust inline driver in [`crate::engine`], the Python asyncio driver in the
//! bindings) owns a [`Run`] and decides only *where and when* an op's call runs. Everything that
//! decides *what* the run produces lives here: resolving inputs, built-in ops (nested graphs'
//! entries and ends, branches, loop entries), loop iterations and `until`, the value store, frames
//! and superseded loop frames, the result grouping, the wording of failures, and cancel.
//!
//! The layer is generic over a driver's value model: a [`Model`] names the types (a Python object,
//! a JSON value...) and a [`Runtime`] implements the few operations the semantics need on them.

pub mod attempts;
pub mod buffer;
pub mod cache;
pub mod cancel;
pub mod eval;
pub mod facts;
pub mod failure;
pub mod frames;
pub mod values;
pub mod waiters;

mod builtins;
mod loops;
mod prepare;
mod record;
mod scope;
mod step;
mod textops;
mod trace;

pub use attempts::Retry;
pub use cache::{OpCache, DEFAULT_CACHE_SIZE};
pub use cancel::CancelToken;
pub use eval::{
    absent_variable, choose_branch, eval_ref, eval_until, resolve_input, suggest_key, Host, Resolved, UntilError,
};
pub use facts::Facts;
pub use failure::OpFailure;
pub use frames::{group, Frame};
pub use loops::LoopStats;
pub use step::{Args, Phase, Run};
pub use trace::SPAN_KEY;

use crate::error::OperonError;
use crate::plan::{ConstId, Forward, OpId, TransformPlan, VarId};

/// The types of a driver's value model.
#[doc = include_str!("../../doc/run/Model.md")]
pub trait Model: 'static {
    /// A value: an op's outputs (a mapping), an input, a constant, a frame's data.
    type Value;
    /// What evaluating a ref, a transform or an op can raise.
    type Error;
    /// What a run keeps of an op that failed (listed with `errors="continue"`, or the run's error).
    type Failure;
    /// Something a consumer awaits (the next frame, a value, the end), woken through [`Runtime::wake`].
    type Waker;
}

/// Keys the run semantics read or write themselves.
#[doc = include_str!("../../doc/run/Key.md")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// `"$tags"`: the tags an op's outputs carry.
    Tags,
    /// `"anchor"`: a branch's forced target.
    Anchor,
    /// `"target"`: the op a branch chose.
    Target,
    /// `"matched"`: the text of the case a branch took.
    Matched,
}

impl Key {
    /// The key's text.
    #[doc = include_str!("../../doc/run/Key.name.md")]
    pub fn name(self) -> &'static str {
        match self {
            Key::Tags => "$tags",
            Key::Anchor => "anchor",
            Key::Target => "target",
            Key::Matched => "matched",
        }
    }
}

/// The `(key, value)` entries of a mapping, in order.
#[doc = include_str!("../../doc/run/Entries.md")]
pub type Entries<M> = smallvec::SmallVec<[(<M as Model>::Value, <M as Model>::Value); 4]>;

/// The operations the run semantics need on a driver's values. Mappings are the values ops return
/// and frames carry; keys are variable names.
#[doc = include_str!("../../doc/run/Runtime.md")]
pub trait Runtime<M: Model> {
    /// Reads variable `var` of a mapping; `None` when absent.
    #[doc = include_str!("../../doc/run/Runtime.get.md")]
    fn get(&mut self, map: &M::Value, var: VarId) -> Result<Option<M::Value>, M::Error>;
    /// Reads key `key` of a mapping; `None` when absent.
    #[doc = include_str!("../../doc/run/Runtime.get_str.md")]
    fn get_str(&mut self, map: &M::Value, key: &str) -> Result<Option<M::Value>, M::Error>;
    /// Reads one of the keys the semantics know of (a runtime may have them ready-made).
    #[doc = include_str!("../../doc/run/Runtime.get_known.md")]
    fn get_known(&mut self, map: &M::Value, key: Key) -> Result<Option<M::Value>, M::Error> {
        self.get_str(map, key.name())
    }
    /// The keys of a mapping (for a "did you mean" hint); empty when it cannot tell.
    #[doc = include_str!("../../doc/run/Runtime.keys.md")]
    fn keys(&mut self, map: &M::Value) -> Vec<String>;
    /// The value of a constant of the plan.
    #[doc = include_str!("../../doc/run/Runtime.constant.md")]
    fn constant(&mut self, c: ConstId) -> M::Value;
    /// The null value (`None`).
    #[doc = include_str!("../../doc/run/Runtime.none.md")]
    fn none(&mut self) -> M::Value;
    /// True for the null value.
    #[doc = include_str!("../../doc/run/Runtime.is_none.md")]
    fn is_none(&self, v: &M::Value) -> bool;
    /// The value's truth.
    #[doc = include_str!("../../doc/run/Runtime.truthy.md")]
    fn truthy(&self, v: &M::Value) -> Result<bool, M::Error>;
    /// Applies one transform to `value` with its operands evaluated.
    #[doc = include_str!("../../doc/run/Runtime.transform.md")]
    fn transform(
        &mut self,
        t: &TransformPlan,
        value: M::Value,
        args: Vec<M::Value>,
        kwargs: Vec<(&str, M::Value)>,
    ) -> Result<M::Value, M::Error>;
    /// Another reference to the same value (a reference count, or a copy).
    #[doc = include_str!("../../doc/run/Runtime.copy.md")]
    fn copy(&mut self, v: &M::Value) -> M::Value;
    /// True when `v`, what an op returned, is outputs [`Runtime::outputs`] would keep as they are
    /// and that carry no `"$tags"`: the run then checks and reads nothing more of them. A runtime
    /// that cannot tell cheaply says no (the default), and the run checks them in full.
    #[doc = include_str!("../../doc/run/Runtime.plain_outputs.md")]
    #[inline]
    fn plain_outputs(&mut self, v: &M::Value) -> bool {
        let _ = v;
        false
    }
    /// True when the run keeps each op's latest outputs for its host to read (Python's `"$state"`).
    /// A runtime whose host never reads them, and whose copies are deep, says no: the run then
    /// makes no copy of each op's outputs for them.
    #[doc = include_str!("../../doc/run/Runtime.keeps_last.md")]
    fn keeps_last(&self) -> bool {
        true
    }
    /// `out` (an op's checked outputs) as the data of its frame, when it is exactly what `forward`
    /// would copy out of it (every key forwarded under its own name, in order): `Err(out)` when it
    /// is not, or when the runtime cannot tell. Asked only for outputs nothing else reads
    /// ([`Facts::unread`]) by a runtime that keeps no latest outputs ([`Runtime::keeps_last`]).
    #[doc = include_str!("../../doc/run/Runtime.forward_whole.md")]
    fn forward_whole(&mut self, forward: &Forward, out: M::Value) -> Result<M::Value, M::Value> {
        let _ = forward;
        Err(out)
    }
    /// A new empty mapping.
    #[doc = include_str!("../../doc/run/Runtime.map.md")]
    fn map(&mut self) -> M::Value;
    /// A list of `items`.
    #[doc = include_str!("../../doc/run/Runtime.list.md")]
    fn list(&mut self, items: Vec<M::Value>) -> Result<M::Value, M::Error>;
    /// Appends to a list made by [`Runtime::list`].
    #[doc = include_str!("../../doc/run/Runtime.push.md")]
    fn push(&mut self, list: &mut M::Value, v: M::Value) -> Result<(), M::Error>;
    /// Sets variable `var` of a mapping.
    #[doc = include_str!("../../doc/run/Runtime.set.md")]
    fn set(&mut self, map: &mut M::Value, var: VarId, v: M::Value) -> Result<(), M::Error>;
    /// Sets one of the keys the semantics know of.
    #[doc = include_str!("../../doc/run/Runtime.set_known.md")]
    fn set_known(&mut self, map: &mut M::Value, key: Key, v: M::Value) -> Result<(), M::Error>;
    /// Copies every entry of `from` into `into`; with `public`, keys starting with `$` are left out.
    #[doc = include_str!("../../doc/run/Runtime.update.md")]
    fn update(&mut self, into: &mut M::Value, from: &M::Value, public: bool) -> Result<(), M::Error>;
    /// The `(key, value)` entries of a mapping, in order.
    #[doc = include_str!("../../doc/run/Runtime.items.md")]
    fn items(&mut self, map: &M::Value) -> Result<Entries<M>, M::Error>;
    /// A new mapping with the entries of `map` (a shallow copy).
    #[doc = include_str!("../../doc/run/Runtime.copy_map.md")]
    fn copy_map(&mut self, map: &M::Value) -> Result<M::Value, M::Error> {
        let mut copy = self.map();
        for (k, v) in self.items(map)? {
            self.set_key(&mut copy, k, v)?;
        }
        Ok(copy)
    }
    /// Reads entry `key` (a key [`Runtime::items`] gave) of a mapping.
    #[doc = include_str!("../../doc/run/Runtime.get_key.md")]
    fn get_key(&mut self, map: &M::Value, key: &M::Value) -> Result<Option<M::Value>, M::Error>;
    /// Sets entry `key` of a mapping.
    #[doc = include_str!("../../doc/run/Runtime.set_key.md")]
    fn set_key(&mut self, map: &mut M::Value, key: M::Value, v: M::Value) -> Result<(), M::Error>;
    /// True when two values are equal (tags are kept once each).
    #[doc = include_str!("../../doc/run/Runtime.same.md")]
    fn same(&mut self, a: &M::Value, b: &M::Value) -> bool;
    /// What an op returned or yielded, as its outputs: a mapping as it is, `None` as an empty
    /// mapping; anything else is refused with its type name.
    #[doc = include_str!("../../doc/run/Runtime.outputs.md")]
    fn outputs(&mut self, v: M::Value) -> Result<M::Value, String>;
    /// The items of an iterable value (an op's `$tags`).
    #[doc = include_str!("../../doc/run/Runtime.iterate.md")]
    fn iterate(&mut self, v: &M::Value) -> Result<Vec<M::Value>, M::Error>;
    /// The mapping of an op's resolved inputs by parameter name (a built-in op's record).
    #[doc = include_str!("../../doc/run/Runtime.record.md")]
    fn record(&mut self, op: OpId, args: &[M::Value]) -> Result<M::Value, M::Error>;
    /// An op's short name as a value (a branch's `target`).
    #[doc = include_str!("../../doc/run/Runtime.op_name.md")]
    fn op_name(&mut self, op: OpId) -> M::Value;
    /// A text as a value (a branch's `matched`).
    #[doc = include_str!("../../doc/run/Runtime.text.md")]
    fn text(&mut self, s: &str) -> M::Value;
    /// A JSON value as a value (the outputs of a built-in text op).
    #[doc = include_str!("../../doc/run/Runtime.json_value.md")]
    fn json_value(&mut self, v: &serde_json::Value) -> Result<M::Value, M::Error>;
    /// A value as JSON when it is one (a built-in text op's inputs); `None` for anything else.
    #[doc = include_str!("../../doc/run/Runtime.to_json.md")]
    fn to_json(&mut self, v: &M::Value) -> Option<serde_json::Value>;
    /// A value's text, when it is one (a branch's `anchor`).
    #[doc = include_str!("../../doc/run/Runtime.text_of.md")]
    fn text_of(&mut self, v: &M::Value) -> Option<String>;
    /// A loop's `until` given as a callable of the host (constant `c`) over the loop's variables.
    /// The error carries a description of the callable.
    #[doc = include_str!("../../doc/run/Runtime.until_callable.md")]
    fn until_callable(&mut self, c: ConstId, vars: &M::Value) -> Result<bool, (String, M::Error)>;
    /// An error in words: its type and message (`"ValueError: boom"`).
    #[doc = include_str!("../../doc/run/Runtime.describe.md")]
    fn describe(&mut self, e: &M::Error) -> String;
    /// True when error `e` is of the error type the plan's constant `class` holds (one of an op's
    /// `retry_on` types). A runtime whose errors have no types says no.
    #[doc = include_str!("../../doc/run/Runtime.is_instance.md")]
    fn is_instance(&mut self, e: &M::Error, class: ConstId) -> bool {
        let _ = (e, class);
        false
    }
    /// Writes a value as JSON text to `out`, for a trace: mappings as objects with their `None`
    /// entries left out, a value JSON has no form for as its text. False when the runtime cannot
    /// (the default: traces then show no values).
    #[doc = include_str!("../../doc/run/Runtime.write_json.md")]
    fn write_json(&mut self, v: &M::Value, out: &mut Vec<u8>) -> bool {
        let _ = (v, out);
        false
    }
    /// True for an error that must end the run as it is, never wrapped nor listed (Python's
    /// `KeyboardInterrupt`, `SystemExit`, `CancelledError`).
    #[doc = include_str!("../../doc/run/Runtime.is_fatal.md")]
    fn is_fatal(&mut self, e: &M::Error) -> bool;
    /// What the run keeps of a failure: the engine error, caused by `cause`.
    #[doc = include_str!("../../doc/run/Runtime.failure.md")]
    fn failure(&mut self, error: OperonError, cause: Option<M::Error>) -> M::Failure;
    /// What the run keeps of a fatal error.
    #[doc = include_str!("../../doc/run/Runtime.fatal.md")]
    fn fatal(&mut self, e: M::Error) -> M::Failure;
    /// Wakes a waiting consumer, with a value for those waiting for one.
    #[doc = include_str!("../../doc/run/Runtime.wake.md")]
    fn wake(&mut self, waker: M::Waker, value: Option<M::Value>) -> Result<(), M::Error>;
    /// True when the consumer behind a waker gave up (its future was cancelled).
    #[doc = include_str!("../../doc/run/Runtime.gone.md")]
    fn gone(&mut self, waker: &M::Waker) -> bool;
}
