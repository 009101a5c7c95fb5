//! What the published form's adjacency must say when it is where a graph's edges come from: a graph
//! with ops nothing leads to needs edges, and `initial_ready_count`, when given, must agree with the
//! edges (else the published engine would have run the graph otherwise than these edges do).

use rustc_hash::{FxHashMap, FxHashSet};

use super::Compiler;
use crate::error::Problem;
use crate::graph::EdgeOrigin;

/// How many op names a message lists before it says how many more there are.
const LISTED: usize = 5;

impl<'d> Compiler<'d> {
    /// Checks every graph of the document (nested ones included).
    pub(super) fn check_adjacency(&mut self) {
        for si in 0..self.scopes.len() {
            self.check_edges_given(si);
            self.check_ready_counts(si);
        }
        self.check_root_input_values();
    }

    /// The published engine gives a root graph input its `literal`, else its `default`, when the run
    /// does not; this engine reads a root input's `literal` only as a loop's initial value. So a
    /// published-form root (edges from `compiled_adj`) that is not a loop and gives an input such a
    /// value is refused rather than run without it.
    fn check_root_input_values(&mut self) {
        let doc = self.doc;
        if doc.edge_origin == EdgeOrigin::Edges || doc.loop_config.is_some() {
            return;
        }
        for (name, p) in &doc.inputs.0 {
            let Some((key, value)) = [("literal", &p.literal), ("default", &p.default)].into_iter().find(|(_, v)| !v.is_null())
            else {
                continue;
            };
            self.problem(
                Problem::new(
                    "unsupported",
                    format!(
                        "graph input '{name}' of graph '{}' has the {key} {value}, which the published engine gives it \
                         when a run does not; this engine does not: give the value in the run inputs, or as the \
                         default of the op parameters that read it",
                        doc.name
                    ),
                )
                .target(name),
            );
        }
    }

    /// A graph with neither `edges` nor `compiled_adj` is refused when it has an op that is not an
    /// entry: nothing would ever lead to it.
    fn check_edges_given(&mut self, si: usize) {
        let doc = self.scopes[si].doc;
        if doc.edge_origin != EdgeOrigin::Missing {
            return;
        }
        let entries: FxHashSet<&str> = doc.entries.iter().map(String::as_str).collect();
        let waiting: Vec<&str> = doc.ops.keys().filter(|k| !entries.contains(k)).collect();
        let Some(first) = waiting.first() else {
            return;
        };
        let graph = self.scopes[si].full.clone();
        self.problem(
            Problem::new(
                "no_edges",
                format!(
                    "graph '{graph}' has neither \"edges\" nor \"compiled_adj\", so nothing leads to its ops that \
                     are not entries ({}); give the graph's edges",
                    listing(&waiting)
                ),
            )
            .op(first),
        );
    }

    /// When the edges come from `compiled_adj` (or there are none), each op's `initial_ready_count`
    /// must be its count of hard predecessors, plus one if it has soft ones; an op that has
    /// predecessors must have a count.
    fn check_ready_counts(&mut self, si: usize) {
        let doc = self.scopes[si].doc;
        let Some(counts) = doc.initial_ready_count.as_ref().filter(|_| doc.edge_origin != EdgeOrigin::Edges) else {
            return;
        };
        let graph = self.scopes[si].full.clone();
        let mut seen = FxHashSet::default();
        let mut hard: FxHashMap<&str, i64> = FxHashMap::default();
        let mut soft: FxHashSet<&str> = FxHashSet::default();
        for e in doc.edges.iter().filter(|e| seen.insert((e.from.as_str(), e.to.as_str(), e.soft))) {
            if e.soft {
                soft.insert(e.to.as_str());
            } else {
                *hard.entry(e.to.as_str()).or_default() += 1;
            }
        }
        let ops: FxHashSet<&str> = doc.ops.keys().collect();
        let counts: FxHashMap<&str, i64> = counts.0.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        for name in doc.initial_ready_count.iter().flat_map(|c| c.keys()).filter(|k| !ops.contains(k)) {
            self.problem(
                Problem::new(
                    "unknown_op",
                    format!("initial_ready_count names op '{name}', which is not in graph '{graph}'"),
                )
                .target(name),
            );
        }
        for name in doc.ops.keys() {
            let (h, s) = (hard.get(name).copied().unwrap_or(0), soft.contains(name));
            let want = h + i64::from(s);
            let found = counts.get(name).copied();
            if found == Some(want) || (found.is_none() && want == 0) {
                continue;
            }
            let preds = format!(
                "{h} hard predecessor{}{}",
                if h == 1 { "" } else { "s" },
                if s { " and soft ones" } else { "" }
            );
            let message = match found {
                None => format!(
                    "initial_ready_count of graph '{graph}' has no count for op '{name}', which compiled_adj gives \
                     {preds}: give it {want}"
                ),
                Some(c) => format!(
                    "initial_ready_count of graph '{graph}' gives op '{name}' {c}, but compiled_adj gives it {preds}, \
                     so its count is {want}"
                ),
            };
            self.problem(Problem::new("invalid", message).op(name));
        }
    }
}

/// `'a', 'b' and 3 more`.
fn listing(names: &[&str]) -> String {
    let shown: Vec<String> = names.iter().take(LISTED).map(|n| format!("'{n}'")).collect();
    match names.len().saturating_sub(LISTED) {
        0 => shown.join(", "),
        more => format!("{} and {more} more", shown.join(", ")),
    }
}
