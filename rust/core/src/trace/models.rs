//! What a [`super::Tracer`] receives: one [`TraceData`] per run, a flat list of [`TraceNode`]s
//! (a root node for the run, a node per context a stream item or a loop iteration opened, a
//! span per op execution) whose parents are given by key. The shapes, field names and serde form
//! are the published crate's, so that tracers written for it read them unchanged.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One node of a run's trace: the run itself (`node_type == "trace"`), a context (`kind` is
/// `"stream_context"` for a stream item or a collected consumer, `"loop_iter"` for a loop
/// iteration), or one execution of an op (`op_name` is set).
///
/// An op execution's node carries in `metadata`: `"status"` (`"ok"`, `"error"` or `"cancelled"`:
/// the run stopped before the call came back), `"error"` (the op's error, in words, when it
/// failed), `"context"` (the context path, `["main", "[0]"]`) and, for a generator, `"items"` (how
/// many items it yielded). [`TraceNode::status`], [`TraceNode::error`] and
/// [`TraceNode::context`] read them.
#[doc = include_str!("../../doc/trace/models/TraceNode.md")]
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TraceNode {
    /// The node's key, unique in its trace.
    pub trace_key: String,
    /// The key of its parent (`None` for the root).
    #[serde(default)]
    pub parent_trace_key: Option<String>,
    /// The op's full name (`"g.inner.op"`); `None` for the root and context nodes.
    #[serde(default)]
    pub op_name: Option<String>,
    /// A short label: the op's short name, a context's last segment (`"[0]"`, `"loop_1"`), the
    /// graph's name for the root.
    pub display_name: String,
    /// `"trace"` (the root) or `"span"`.
    pub node_type: String,
    /// `"graph"` (the root), `"batch"` (an op), `"generator"` (a generator op),
    /// `"stream_context"` or `"loop_iter"` (contexts).
    pub kind: String,
    /// The op's inputs (not recorded by this engine: always empty).
    #[serde(default)]
    pub inputs: Map<String, Value>,
    /// The op's outputs (not recorded by this engine: always empty).
    #[serde(default)]
    pub outputs: Map<String, Value>,
    /// When the execution started (RFC 3339, UTC).
    #[serde(default)]
    pub start_time: Option<String>,
    /// When it ended (RFC 3339, UTC); `None` when the run stopped before it came back.
    #[serde(default)]
    pub end_time: Option<String>,
    /// How long it took, in milliseconds.
    #[serde(default)]
    pub duration_ms: Option<f64>,
    /// Status, error, context path and item count (see the type's documentation).
    #[serde(default)]
    pub metadata: Map<String, Value>,
    /// The model of an LLM call (not set by this engine).
    #[serde(default)]
    pub model: Option<String>,
    /// Token usage of an LLM call (not set by this engine).
    #[serde(default)]
    pub usage: Option<Value>,
    /// Cost of an LLM call (not set by this engine).
    #[serde(default)]
    pub cost: Option<f64>,
    /// Reasoning text of an LLM call (not set by this engine).
    #[serde(default)]
    pub thinking_content: Option<String>,
}

impl Default for TraceNode {
    fn default() -> Self {
        TraceNode {
            trace_key: String::new(),
            parent_trace_key: None,
            op_name: None,
            display_name: String::new(),
            node_type: "span".into(),
            kind: "batch".into(),
            inputs: Map::new(),
            outputs: Map::new(),
            start_time: None,
            end_time: None,
            duration_ms: None,
            metadata: Map::new(),
            model: None,
            usage: None,
            cost: None,
            thinking_content: None,
        }
    }
}

impl TraceNode {
    /// `"ok"`, `"error"` or `"cancelled"` for an op execution and for the root; `None` for a
    /// context node.
    #[doc = include_str!("../../doc/trace/models/TraceNode.status.md")]
    pub fn status(&self) -> Option<&str> {
        self.metadata.get("status").and_then(Value::as_str)
    }

    /// The error of a failed execution (or of a failed run, on the root), in words.
    #[doc = include_str!("../../doc/trace/models/TraceNode.error.md")]
    pub fn error(&self) -> Option<&str> {
        self.metadata.get("error").and_then(Value::as_str)
    }

    /// The context path the op ran in (`["main", "[0]"]`); empty for the root.
    #[doc = include_str!("../../doc/trace/models/TraceNode.context.md")]
    pub fn context(&self) -> Vec<&str> {
        match self.metadata.get("context") {
            Some(Value::Array(path)) => path.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        }
    }

    /// True for the node of an op execution.
    #[doc = include_str!("../../doc/trace/models/TraceNode.is_op.md")]
    pub fn is_op(&self) -> bool {
        self.op_name.is_some()
    }
}

/// Counts over a whole run.
#[doc = include_str!("../../doc/trace/models/TraceSummary.md")]
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct TraceSummary {
    /// Op executions (spans) in the trace, before any sampling or filter.
    #[serde(default)]
    pub total_ops: u32,
    /// Frames the run emitted.
    #[serde(default)]
    pub total_records: u32,
    /// From the start of the run to its end, in milliseconds.
    #[serde(default)]
    pub total_duration_ms: f64,
    /// Generator executions.
    #[serde(default)]
    pub stream_count: u32,
    /// Items the generators yielded.
    #[serde(default)]
    pub total_yields: u32,
    /// Loop iterations, over every loop.
    #[serde(default)]
    pub loop_iterations: u32,
    /// Op executions that failed.
    #[serde(default)]
    pub error_count: u32,
}

/// The trace of one run, handed to [`super::Tracer::flush`] once the run is over.
#[doc = include_str!("../../doc/trace/models/TraceData.md")]
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct TraceData {
    /// The run's request id (made up, a UUID, when the run was started without one).
    pub request_id: String,
    /// The graph's name.
    pub workflow_name: String,
    /// The run's user id (made up when not given).
    #[serde(default)]
    pub user_id: Option<String>,
    /// The run's session id (made up when not given).
    #[serde(default)]
    pub session_id: Option<String>,
    /// The tracer's tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Counts over the run.
    #[serde(default)]
    pub summary: TraceSummary,
    /// The root node first, then contexts and op executions in the order they started.
    #[serde(default)]
    pub nodes: Vec<TraceNode>,
}

impl TraceData {
    /// The nodes of op executions (the spans), in the order they started.
    #[doc = include_str!("../../doc/trace/models/TraceData.spans.md")]
    pub fn spans(&self) -> impl Iterator<Item = &TraceNode> {
        self.nodes.iter().filter(|n| n.is_op())
    }

    /// The root node (the run).
    #[doc = include_str!("../../doc/trace/models/TraceData.root.md")]
    pub fn root(&self) -> Option<&TraceNode> {
        self.nodes.iter().find(|n| n.node_type == "trace")
    }
}
