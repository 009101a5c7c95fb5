//! The workloads: their documents, inputs and expected answers.
//!
//! Ops (see [`crate::ops`]): `inc` reads `x` and outputs `x + 1`; `add` reads `x`, `y` and
//! outputs `x = x + y`; `sum` outputs `x` = the sum of all its inputs; `count` is a generator
//! reading `n` and giving the items `{"i": 0}` … `{"i": n - 1}`.

use serde_json::{json, Map, Value};

use crate::docs::{Graph, GraphDoc, Src};

/// Ops of the 1000-op chain (W1) and of the build (B).
pub const CHAIN_OPS: usize = 1000;
/// Parallel ops of the fan-out (W2).
pub const FANOUT_WIDTH: usize = 1000;
/// Items of the stream (W5), unless told otherwise.
pub const STREAM_ITEMS: u64 = 100_000;

/// `n0000 → n0001 → … → n{n-1}`; op i reads op i-1's `x`, the first reads the graph's `x`.
pub fn chain(n: usize) -> GraphDoc {
    let mut g = Graph::new("chain", &["x"], &["x"]);
    let name = |i: usize| format!("n{i:04}");
    for i in 0..n {
        let prev = (i > 0).then(|| name(i - 1));
        let src = match &prev {
            Some(p) => Src::Op(p, "x"),
            None => Src::Parent("x"),
        };
        g.op(&name(i), "inc", &[("x", src)], &["x"]);
        match &prev {
            Some(p) => g.edge(p, &name(i)),
            None => g.entry(&name(i)),
        }
    }
    g.exit(&name(n - 1), "x");
    g.finish()
}

/// `src → (f0000 … f{n-1}) → join`: every `f` reads `src`'s `x`; `join` (op `sum`) reads all
/// n of them, as inputs `x0000` … `x{n-1}`, and has a hard edge from each.
pub fn fanout(n: usize) -> GraphDoc {
    let mut g = Graph::new("fanout", &["x"], &["x"]);
    g.op("src", "inc", &[("x", Src::Parent("x"))], &["x"]);
    g.entry("src");
    let fans: Vec<String> = (0..n).map(|i| format!("f{i:04}")).collect();
    for f in &fans {
        g.op(f, "inc", &[("x", Src::Op("src", "x"))], &["x"]);
        g.edge("src", f);
    }
    let vars: Vec<String> = (0..n).map(|i| format!("x{i:04}")).collect();
    let reads: Vec<(&str, Src<'_>)> = vars.iter().zip(&fans).map(|(v, f)| (v.as_str(), Src::Op(f, "x"))).collect();
    g.op("join", "sum", &reads, &["x"]);
    for f in &fans {
        g.edge(f, "join");
    }
    g.exit("join", "x");
    g.finish()
}

/// `a → (b, c) → d → e`; `d` (op `add`) reads `b`'s `x` as `x` and `c`'s as `y`.
pub fn diamond() -> GraphDoc {
    let mut g = Graph::new("diamond", &["x"], &["x"]);
    g.op("a", "inc", &[("x", Src::Parent("x"))], &["x"]);
    g.op("b", "inc", &[("x", Src::Op("a", "x"))], &["x"]);
    g.op("c", "inc", &[("x", Src::Op("a", "x"))], &["x"]);
    g.op("d", "add", &[("x", Src::Op("b", "x")), ("y", Src::Op("c", "x"))], &["x"]);
    g.op("e", "inc", &[("x", Src::Op("d", "x"))], &["x"]);
    g.entry("a");
    for (from, to) in [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d"), ("d", "e")] {
        g.edge(from, to);
    }
    g.exit("e", "x");
    g.finish()
}

/// One generator op, `count`, reading the graph's `n`, wired to END: each item is one frame
/// for the caller. `bound` is `io` in the documents: with `sync`, 0.7.1 runs the generator
/// inline in the scheduler's task, which posts every item, then the op's end, to its own
/// 8192-slot event queue before it starts draining it, so a run of 8192 items or more never
/// ends (8191 do: `peer-bench --only W5 --stream-bound sync --stream-items 8192` shows it).
pub fn stream(bound: &'static str) -> GraphDoc {
    let mut g = Graph::new("stream", &["n"], &["i"]);
    let op = g.op("count", "count", &[("n", Src::Parent("n"))], &["i"]);
    op.is_generator = true;
    op.bound = bound;
    g.entry("count");
    g.exit("count", "i");
    g.finish()
}

/// A workload's document, file name and run.
pub struct Workload {
    /// `W1`, `W2`, `W3` or `W5`.
    pub id: &'static str,
    /// The file `--dump-docs` writes it to.
    pub file: &'static str,
    pub doc: GraphDoc,
    pub inputs: Map<String, Value>,
    /// The document's text when it was read from a file rather than generated.
    pub text: Option<String>,
}

impl Workload {
    /// The document as the JSON text the builder reads.
    pub fn json(&self) -> String {
        match &self.text {
            Some(text) => text.clone(),
            None => serde_json::to_string(&self.doc).expect("a document serializes"),
        }
    }
}

fn inputs(key: &str, value: Value) -> Map<String, Value> {
    Map::from_iter([(key.to_string(), value)])
}

/// Every workload, in the order they are measured; the stream gives `items` items.
pub fn all(stream_bound: &'static str, items: u64) -> Vec<Workload> {
    vec![
        Workload { id: "W1", file: "W1.json", doc: chain(CHAIN_OPS), inputs: inputs("x", json!(0)), text: None },
        Workload { id: "W2", file: "W2.json", doc: fanout(FANOUT_WIDTH), inputs: inputs("x", json!(0)), text: None },
        Workload { id: "W3", file: "W3.json", doc: diamond(), inputs: inputs("x", json!(0)), text: None },
        Workload {
            id: "W5",
            file: "stream.json",
            doc: stream(stream_bound),
            inputs: inputs("n", json!(items)),
            text: None,
        },
    ]
}

/// The answer of one run of W1, W2 or W3 for `x = 0`: the graph's `x`.
pub fn expected_x(id: &str) -> Option<i64> {
    match id {
        "W1" => Some(CHAIN_OPS as i64),
        "W2" => Some(2 * FANOUT_WIDTH as i64), // src 1, every f 2, join their sum
        "W3" => Some(5),                       // a 1, b = c = 2, d 4, e 5
        _ => None,
    }
}
