//! [`TraceFilter`]: which nodes of a trace a tracer keeps (the published crate's settings).

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::models::TraceNode;

/// Which nodes of a trace a tracer keeps, applied before [`super::Tracer::flush`] when the
/// tracer's [`super::Tracer::trace_filter`] returns one. A removed node's children move up to its
/// nearest kept ancestor; context nodes left with no child are removed too.
///
/// ```
/// use operonx::core::tracing::{TraceFilter, TraceNode};
///
/// let filter = TraceFilter { exclude_ops: vec!["noisy".into()], ..TraceFilter::default() };
/// let nodes = vec![
///     TraceNode { trace_key: "root".into(), node_type: "trace".into(), ..TraceNode::default() },
///     TraceNode { trace_key: "a".into(), parent_trace_key: Some("root".into()), op_name: Some("g.noisy".into()), ..TraceNode::default() },
///     TraceNode { trace_key: "b".into(), parent_trace_key: Some("root".into()), op_name: Some("g.useful".into()), ..TraceNode::default() },
/// ];
/// let kept = filter.apply(nodes);
/// assert_eq!(kept.iter().map(|n| n.trace_key.as_str()).collect::<Vec<_>>(), ["root", "b"]);
/// ```
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TraceFilter {
    /// Removes op nodes with no output other than `null` (this engine records no outputs: with
    /// it set, every op node is removed).
    #[serde(default)]
    pub skip_empty: bool,
    /// Removes op nodes with one of these names (full, short or display name).
    #[serde(default)]
    pub exclude_ops: Vec<String>,
    /// When not empty, keeps only the op nodes with one of these names.
    #[serde(default)]
    pub include_ops: Vec<String>,
    /// Removes nodes of these kinds (`"stream_context"`, `"loop_iter"`, `"generator"`...).
    #[serde(default)]
    pub exclude_kinds: Vec<String>,
    /// Node types never removed (by default the root, `"trace"`, and `"generation"`).
    #[serde(default = "protected")]
    pub protected_types: Vec<String>,
    /// Inputs and outputs longer than this (as JSON text) are shortened; 0 keeps them whole.
    #[serde(default)]
    pub max_io_size: usize,
    /// The direct children of op nodes with one of these names are kept whatever the filter says.
    #[serde(default)]
    pub preserve_children_of: Vec<String>,
}

fn protected() -> Vec<String> {
    vec!["trace".into(), "generation".into()]
}

impl Default for TraceFilter {
    fn default() -> Self {
        TraceFilter {
            skip_empty: false,
            exclude_ops: Vec::new(),
            include_ops: Vec::new(),
            exclude_kinds: Vec::new(),
            protected_types: protected(),
            max_io_size: 0,
            preserve_children_of: Vec::new(),
        }
    }
}

/// Kinds of the nodes of contexts (removed when nothing is left under them).
const CONTEXT_KINDS: [&str; 3] = ["stream_context", "loop_iter", "labeled_iter"];

impl TraceFilter {
    /// A filter from its settings as a JSON object; settings it does not know, or of the wrong
    /// type, give the default filter (as the published crate does).
    #[doc = include_str!("../../doc/trace/filter/TraceFilter.from_value.md")]
    pub fn from_value(v: &Value) -> Self {
        serde_json::from_value(v.clone()).unwrap_or_default()
    }

    /// The nodes this filter keeps, re-parented onto kept ancestors, their inputs and outputs
    /// shortened to `max_io_size`.
    #[doc = include_str!("../../doc/trace/filter/TraceFilter.apply.md")]
    pub fn apply(&self, nodes: Vec<TraceNode>) -> Vec<TraceNode> {
        let parent_of: HashMap<String, Option<String>> =
            nodes.iter().map(|n| (n.trace_key.clone(), n.parent_trace_key.clone())).collect();
        let preserving: HashSet<&str> = nodes
            .iter()
            .filter(|n| n.is_op() && names_match(n, &self.preserve_children_of))
            .map(|n| n.trace_key.as_str())
            .collect();
        let removed: HashSet<String> = nodes
            .iter()
            .filter(|n| !n.parent_trace_key.as_deref().is_some_and(|p| preserving.contains(p)))
            .filter(|n| self.removes(n))
            .map(|n| n.trace_key.clone())
            .collect();
        let mut kept: Vec<TraceNode> = nodes.into_iter().filter(|n| !removed.contains(&n.trace_key)).collect();
        for node in &mut kept {
            while let Some(p) = node.parent_trace_key.as_ref().filter(|p| removed.contains(*p)) {
                node.parent_trace_key = parent_of.get(p).cloned().flatten();
            }
        }
        let mut kept = drop_empty_contexts(kept);
        if self.max_io_size > 0 {
            for node in &mut kept {
                for (_, v) in node.inputs.iter_mut().chain(node.outputs.iter_mut()) {
                    shorten(v, self.max_io_size);
                }
            }
        }
        kept
    }

    /// True when the filter removes `node` (its own settings only; children are not looked at).
    fn removes(&self, node: &TraceNode) -> bool {
        if self.protected_types.contains(&node.node_type) {
            return false;
        }
        if self.exclude_kinds.contains(&node.kind) {
            return true;
        }
        if !node.is_op() {
            return false;
        }
        (!self.exclude_ops.is_empty() && names_match(node, &self.exclude_ops))
            || (!self.include_ops.is_empty() && !names_match(node, &self.include_ops))
            || (self.skip_empty && node.outputs.values().all(Value::is_null))
    }
}

/// True when one of `names` is the node's full, short or display name.
fn names_match(node: &TraceNode, names: &[String]) -> bool {
    let full = node.op_name.as_deref().unwrap_or_default();
    let short = full.rsplit('.').next().unwrap_or(full);
    names.iter().any(|n| n == full || n == short || *n == node.display_name)
}

/// Removes context nodes with no child left, until none is left.
fn drop_empty_contexts(mut nodes: Vec<TraceNode>) -> Vec<TraceNode> {
    loop {
        let parents: HashSet<String> = nodes.iter().filter_map(|n| n.parent_trace_key.clone()).collect();
        let before = nodes.len();
        nodes.retain(|n| !CONTEXT_KINDS.contains(&n.kind.as_str()) || parents.contains(&n.trace_key));
        if nodes.len() == before {
            return nodes;
        }
    }
}

/// Shortens a value longer than `max` as JSON text: a text to its first `max` bytes (on a
/// character boundary) with a note of its length, a list or an object to a note of its size.
fn shorten(v: &mut Value, max: usize) {
    let short = match &*v {
        Value::String(s) if s.len() > max => {
            let mut cut = max;
            while !s.is_char_boundary(cut) {
                cut -= 1;
            }
            format!("{}...<truncated {} chars>", &s[..cut], s.len())
        }
        Value::Array(items) if v.to_string().len() > max => format!("<array len={}>", items.len()),
        Value::Object(map) if v.to_string().len() > max => format!("<dict len={}>", map.len()),
        _ => return,
    };
    *v = Value::String(short);
}
