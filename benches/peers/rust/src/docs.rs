//! The graph documents of the workloads, in the shape the published crate reads.
//!
//! operonx 0.7.1 schedules from two precomputed tables, not from `edges`: `compiled_adj`
//! (each op's successors as `[name, soft]` pairs) and `initial_ready_count` (each op's number
//! of hard predecessors). A ref names its source by the op's **full name** (`"<graph>.<op>"`,
//! the key of the crate's value store) or by `"__PARENT__"` for a graph input, and an op's
//! output reaches the caller only through an output param whose ref points at `__PARENT__`
//! with `is_output: true`. Every struct and field there is `deny_unknown_fields`, so nothing
//! else may be written. `edges` is written too (the crate accepts and ignores it), so the same
//! text reads as an ordinary schema-1.0 document with `from`/`to` edges.
//!
//! The documents are built as typed values and serialized once: keys come out in the order
//! written here (ops in creation order, inputs in signature order) without turning on
//! serde_json's `preserve_order`, which would change the published crate's own maps.

use serde::ser::{Serialize, SerializeMap, Serializer};

/// The sentinel source of a graph input or of a graph output.
pub const PARENT: &str = "__PARENT__";

/// A JSON object whose keys keep the order they were pushed in.
#[derive(Debug, Clone)]
pub struct Ordered<T>(pub Vec<(String, T)>);

impl<T> Default for Ordered<T> {
    fn default() -> Self {
        Ordered(Vec::new())
    }
}

impl<T: Serialize> Serialize for Ordered<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<T> Ordered<T> {
    fn push(&mut self, key: impl Into<String>, value: T) {
        self.0.push((key.into(), value));
    }

    fn get_mut(&mut self, key: &str) -> Option<&mut T> {
        self.0.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// `{"source": ..., "var": ...}` (plus `"is_output": true` on a graph output).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Ref {
    pub source: String,
    pub var: String,
    #[serde(skip_serializing_if = "is_false")]
    pub is_output: bool,
}

/// One input or output param: `{"required": true, "ref": {...}}`, or `{}` for a plain
/// declared output.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Param {
    #[serde(skip_serializing_if = "is_false")]
    pub required: bool,
    #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<Ref>,
}

/// A `code` op: a registered Rust function called by `func_name`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OpDoc {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub name: String,
    pub full_name: String,
    pub func_name: String,
    /// `sync` runs inline in the scheduler's task; `io` in a task of its own.
    pub bound: &'static str,
    pub is_async: bool,
    /// The function returns a list; each item is one frame, at its own context.
    pub is_generator: bool,
    pub inputs: Ordered<Param>,
    pub outputs: Ordered<Param>,
}

/// `{"from": a, "to": b}`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Edge {
    pub from: String,
    pub to: String,
}

/// A whole document: a root graph of code ops.
#[derive(Debug, Clone, serde::Serialize)]
pub struct GraphDoc {
    pub schema_version: &'static str,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub name: String,
    pub full_name: String,
    pub inputs: Ordered<Param>,
    pub outputs: Ordered<Param>,
    pub ops: Ordered<OpDoc>,
    pub edges: Vec<Edge>,
    pub entries: Vec<String>,
    pub exits: Vec<String>,
    pub initial_ready_count: Ordered<u32>,
    pub compiled_adj: Ordered<Vec<(String, bool)>>,
}

/// Where an input reads from.
#[derive(Debug, Clone, Copy)]
pub enum Src<'a> {
    /// A graph input.
    Parent(&'a str),
    /// An output of an op of the same graph: `(op, var)`.
    Op(&'a str, &'a str),
}

/// Writes a graph op by op; [`Graph::finish`] derives the scheduling tables from the edges.
pub struct Graph {
    doc: GraphDoc,
}

impl Graph {
    /// An empty graph with required inputs and declared outputs.
    pub fn new(name: &str, inputs: &[&str], outputs: &[&str]) -> Self {
        let mut doc = GraphDoc {
            schema_version: "1.0",
            kind: "graph",
            name: name.to_string(),
            full_name: name.to_string(),
            inputs: Ordered::default(),
            outputs: Ordered::default(),
            ops: Ordered::default(),
            edges: Vec::new(),
            entries: Vec::new(),
            exits: Vec::new(),
            initial_ready_count: Ordered::default(),
            compiled_adj: Ordered::default(),
        };
        for var in inputs {
            doc.inputs.push(*var, Param { required: true, reference: None });
        }
        for var in outputs {
            doc.outputs.push(*var, Param::default());
        }
        Graph { doc }
    }

    fn full(&self, op: &str) -> String {
        format!("{}.{}", self.doc.name, op)
    }

    /// Adds a sync code op calling `func`, its inputs read from `reads` (input name, source),
    /// its outputs declared as `outputs`.
    pub fn op(&mut self, name: &str, func: &str, reads: &[(&str, Src<'_>)], outputs: &[&str]) -> &mut OpDoc {
        let mut inputs = Ordered::default();
        for (var, src) in reads {
            let (source, read) = match *src {
                Src::Parent(v) => (PARENT.to_string(), v),
                Src::Op(op, v) => (self.full(op), v),
            };
            let reference = Some(Ref { source, var: read.to_string(), is_output: false });
            inputs.push(*var, Param { required: true, reference });
        }
        let mut outs = Ordered::default();
        for var in outputs {
            outs.push(*var, Param::default());
        }
        let op = OpDoc {
            kind: "code",
            name: name.to_string(),
            full_name: self.full(name),
            func_name: func.to_string(),
            bound: "sync",
            is_async: false,
            is_generator: false,
            inputs,
            outputs: outs,
        };
        self.doc.ops.push(name, op);
        &mut self.doc.ops.0.last_mut().expect("just pushed").1
    }

    /// A hard edge `from → to`.
    pub fn edge(&mut self, from: &str, to: &str) {
        self.doc.edges.push(Edge { from: from.to_string(), to: to.to_string() });
    }

    /// Marks `op` as wired from START.
    pub fn entry(&mut self, op: &str) {
        self.doc.entries.push(op.to_string());
    }

    /// Marks `op` as wired to END, its output `var` becoming the graph's output `var`.
    pub fn exit(&mut self, op: &str, var: &str) {
        self.doc.exits.push(op.to_string());
        let out = self.doc.ops.get_mut(op).expect("exit of a known op");
        let reference = Some(Ref { source: PARENT.to_string(), var: var.to_string(), is_output: true });
        match out.outputs.get_mut(var) {
            Some(param) => param.reference = reference,
            None => out.outputs.push(var, Param { required: false, reference }),
        }
    }

    /// The document, with `initial_ready_count` (hard predecessors per op) and `compiled_adj`
    /// (successors per op, every op listed) filled from the edges.
    pub fn finish(mut self) -> GraphDoc {
        let names: Vec<String> = self.doc.ops.0.iter().map(|(k, _)| k.clone()).collect();
        for name in &names {
            let preds = self.doc.edges.iter().filter(|e| &e.to == name).count();
            self.doc.initial_ready_count.push(name.clone(), preds as u32);
            let succs = self.doc.edges.iter().filter(|e| &e.from == name).map(|e| (e.to.clone(), false)).collect();
            self.doc.compiled_adj.push(name.clone(), succs);
        }
        self.doc
    }
}
