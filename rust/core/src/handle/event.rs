//! [`FrameEvent`]: a frame as the Rust API's streaming handle gives it.

use serde_json::{Map, Value};
use smallvec::SmallVec;

/// A context path, starting with `"main"` (`"[i]"` for item `i` of a stream, `"loop_i"` for
/// iteration `i` of a loop). The type the published crate uses for it, so that code that builds
/// or compares one compiles unchanged; it derefs to `[String]`.
#[doc = include_str!("../../doc/handle/event/ContextId.md")]
pub type ContextId = SmallVec<[String; 4]>;

/// One frame: an op's outputs bound to graph outputs, as they arrive.
///
/// ```
/// use operonx::FrameEvent;
///
/// fn describe(f: &FrameEvent) -> String {
///     format!("{} in {}: {:?}", f.op, f.context.join("/"), f.data)
/// }
/// # let _ = describe;
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct FrameEvent {
    /// The op's short name.
    pub op: String,
    /// Where it ran.
    pub context: ContextId,
    /// Its forwarded outputs, under their graph-output names.
    pub data: Map<String, Value>,
}

impl From<crate::run::Frame> for FrameEvent {
    fn from(f: crate::run::Frame) -> Self {
        FrameEvent { op: f.op, context: SmallVec::from_vec(f.context), data: f.data }
    }
}
