//! Random DAG cases for the property tests: ops with hard and soft edges, disabled and failing ops,
//! refs with transforms, and mapped or forwarded outputs; and the graph document of a case.

use serde_json::{json, Map, Value};

use super::Rng;

/// Every op outputs its sum modulo this, so values stay small.
pub const MODULUS: i64 = 1_000_003;

/// The transform a ref applies to the value it reads.
#[derive(Debug, Clone, Copy)]
pub enum Transform {
    None,
    Add(i64),
    Mul(i64),
    RSub(i64),
}

impl Transform {
    /// The transform applied to `v`.
    pub fn apply(self, v: i64) -> i64 {
        match self {
            Transform::None => v,
            Transform::Add(k) => v + k,
            Transform::Mul(k) => v * k,
            Transform::RSub(k) => k - v,
        }
    }

    /// The transform as a ref of the document lists it.
    pub fn json(self) -> Value {
        match self {
            Transform::None => json!([]),
            Transform::Add(k) => json!([["add", [k]]]),
            Transform::Mul(k) => json!([["mul", [k]]]),
            Transform::RSub(k) => json!([["rsub", [k]]]),
        }
    }
}

/// What an op forwards: nothing, every output (it is an exit), or its output mapped to a graph output.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Forwarding {
    Nothing,
    All,
    Mapped,
}

/// One op of a case. It outputs `v`: its constant plus what it reads, modulo [`MODULUS`].
#[derive(Debug)]
pub struct OpSpec {
    pub constant: i64,
    pub enabled: bool,
    pub fails: bool,
    /// Reads the graph input `x` (default 5 when absent or null).
    pub reads_x: bool,
    /// `(op, transform)`: reads that op's `v` (default 0 when absent).
    pub reads: Vec<(usize, Transform)>,
    pub forwarding: Forwarding,
}

/// A random graph of ops and the graph input it runs with.
#[derive(Debug)]
pub struct Case {
    pub ops: Vec<OpSpec>,
    /// `(from, to, soft)` in declaration order.
    pub edges: Vec<(usize, usize, bool)>,
    pub entries: Vec<usize>,
    pub x: Value,
}

fn random_transform(rng: &mut Rng) -> Transform {
    match rng.below(5) {
        0 => Transform::Add(rng.range(-5, 5)),
        1 => Transform::Mul(rng.range(-2, 3)),
        2 => Transform::RSub(rng.range(0, 9)),
        _ => Transform::None,
    }
}

/// The edges ordered by their target, so that each op's sources are complete before it is reached.
fn sorted_by_target(edges: &[(usize, usize, bool)]) -> Vec<(usize, usize, bool)> {
    let mut sorted = edges.to_vec();
    sorted.sort_by_key(|e| e.1);
    sorted
}

/// The case of a seed.
pub fn random_case(seed: u64) -> Case {
    let mut rng = Rng(seed);
    let n = 1 + rng.below(60);
    let (edges, entries) = random_wiring(&mut rng, n);
    // Bit i of upstream[j]: a path of edges leads from op i to op j (edges go from lower to higher index).
    let mut upstream = vec![0u64; n];
    for &(i, j, _) in &sorted_by_target(&edges) {
        upstream[j] |= upstream[i] | (1 << i);
    }
    let mut ops: Vec<OpSpec> = upstream.iter().enumerate().map(|(j, &up)| random_op(&mut rng, &edges, j, up)).collect();
    if ops.iter().all(|o| o.forwarding == Forwarding::Nothing) {
        ops[n - 1].forwarding = Forwarding::All;
    }
    // The graph input x: null, absent (marked "absent"), or a number.
    let x = match rng.below(4) {
        0 => json!(null),
        1 => json!("absent"),
        _ => json!(rng.range(-50, 50)),
    };
    Case { ops, edges, entries, x }
}

/// Random edges between `n` ops (from a lower to a higher index, so there is no cycle) and the entries,
/// both shuffled.
fn random_wiring(rng: &mut Rng, n: usize) -> (Vec<(usize, usize, bool)>, Vec<usize>) {
    let density = [3, 10, 25, 60][rng.below(4)];
    let soft_share = [0, 30, 70, 100][rng.below(4)];
    let mut edges = Vec::new();
    let mut has_pred = vec![false; n];
    for (j, has) in has_pred.iter_mut().enumerate() {
        for i in 0..j {
            if rng.percent(density) {
                edges.push((i, j, rng.percent(soft_share)));
                *has = true;
            }
        }
    }
    // Every op is reached from START (else the graph is refused): an op with no predecessor is an entry,
    // or sometimes gets one earlier op as its predecessor (which START reaches, by induction).
    let mut entries = Vec::new();
    for (j, &has) in has_pred.iter().enumerate() {
        if has {
            continue;
        }
        if j == 0 || rng.percent(85) {
            entries.push(j);
        } else {
            edges.push((rng.below(j), j, rng.percent(soft_share)));
        }
    }
    rng.shuffle(&mut edges);
    rng.shuffle(&mut entries);
    (edges, entries)
}

/// Op `j`, which reads each of its predecessors and sometimes another op of `up` (bit i: op i is
/// upstream of it).
fn random_op(rng: &mut Rng, edges: &[(usize, usize, bool)], j: usize, up: u64) -> OpSpec {
    let mut reads: Vec<(usize, Transform)> =
        edges.iter().filter(|e| e.1 == j).map(|e| (e.0, random_transform(rng))).collect();
    // Sometimes read an op upstream that is not a predecessor (only upstream ops may be read).
    if up != 0 && rng.percent(15) {
        let k = rng.below(j);
        if up & (1 << k) != 0 && !reads.iter().any(|r| r.0 == k) {
            reads.push((k, random_transform(rng)));
        }
    }
    rng.shuffle(&mut reads);
    let forwarding = match rng.below(10) {
        0..=4 => Forwarding::Mapped,
        5..=6 => Forwarding::All,
        _ => Forwarding::Nothing,
    };
    OpSpec {
        constant: rng.range(-100, 100),
        enabled: !rng.percent(7),
        fails: rng.percent(7),
        reads_x: rng.percent(30),
        reads,
        forwarding,
    }
}

/// The graph document of a case: graph `g` of ops `op0`, `op1`, ... all calling the op `node`.
pub fn document(case: &Case) -> Value {
    let mut ops = Map::new();
    for (j, spec) in case.ops.iter().enumerate() {
        let mut inputs = Map::new();
        inputs.insert("id".into(), json!({"required": true, "literal": j}));
        inputs.insert("c".into(), json!({"required": true, "literal": spec.constant}));
        if spec.fails {
            inputs.insert("fail".into(), json!({"required": false, "default": false, "literal": true}));
        }
        if spec.reads_x {
            inputs.insert("gx".into(), json!({"required": false, "default": 5, "ref": {"source": "g", "var": "x"}}));
        }
        for &(i, t) in &spec.reads {
            inputs.insert(
                format!("p{i}"),
                json!({"required": false, "default": 0,
                    "ref": {"source": format!("g.op{i}"), "var": "v", "transforms": t.json(), "is_output": false}}),
            );
        }
        let outputs = match spec.forwarding {
            Forwarding::Mapped => {
                json!({"v": {"required": false, "ref": {"source": "g", "var": format!("o{j}")}}})
            }
            _ => json!({"v": {"required": false}}),
        };
        ops.insert(
            format!("op{j}"),
            json!({"type": "code", "func_name": "node", "bound": "sync", "enabled": spec.enabled,
                "inputs": inputs, "outputs": outputs}),
        );
    }
    let edges: Vec<Value> = case
        .edges
        .iter()
        .map(|&(a, b, soft)| json!({"from": format!("op{a}"), "to": format!("op{b}"), "soft": soft}))
        .collect();
    let entries: Vec<String> = case.entries.iter().map(|j| format!("op{j}")).collect();
    let exits: Vec<String> =
        (0..case.ops.len()).filter(|&j| case.ops[j].forwarding == Forwarding::All).map(|j| format!("op{j}")).collect();
    json!({
        "schema_version": "1.0", "type": "graph", "name": "g", "full_name": "g",
        "ops": ops, "edges": edges, "entries": entries, "exits": exits,
    })
}

/// The run inputs of a case.
pub fn graph_inputs(case: &Case) -> Value {
    if case.x == json!("absent") {
        json!({"y": 1})
    } else {
        json!({"x": case.x})
    }
}
