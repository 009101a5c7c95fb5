//! Helpers shared by the integration tests.
#![allow(dead_code)] // each test crate uses its own part of it

use std::sync::{Arc, Mutex};

use operonx::ops::{Inputs, Outputs};
use operonx::plan::until::Sink;
use operonx::plan::{Const, ConstId, VarId};
use operonx::OperonBuilder;
use serde_json::{json, Map, Value};

pub mod random_dag;

/// Collects what the `until` parser finds: variable names and constants, by id.
#[derive(Default)]
pub struct Found(pub Vec<String>, pub Vec<Const>);

impl Sink for Found {
    fn var(&mut self, name: &str) -> VarId {
        self.0.push(name.to_string());
        (self.0.len() - 1) as VarId
    }
    fn constant(&mut self, value: Const) -> ConstId {
        self.1.push(value);
        (self.1.len() - 1) as ConstId
    }
}

/// SplitMix64: small, deterministic, good enough for test cases.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn percent(&mut self, p: usize) -> bool {
        self.below(100) < p
    }

    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo + 1) as u64) as i64
    }

    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            v.swap(i, self.below(i + 1));
        }
    }
}

/// The names of the ops that ran, in the order they ran.
pub type Log = Arc<Mutex<Vec<String>>>;

/// A document named `g` whose ops take no inputs; `edges` are `(from, to, soft)`.
pub fn doc(ops: &[&str], edges: &[(&str, &str, bool)], entries: &[&str], exits: &[&str]) -> Value {
    let ops: Map<String, Value> = ops.iter().map(|n| (n.to_string(), json!({"type": "code"}))).collect();
    let edges: Vec<Value> = edges.iter().map(|(a, b, soft)| json!({"from": a, "to": b, "soft": soft})).collect();
    json!({
        "schema_version": "1.0", "type": "graph", "name": "g", "full_name": "g",
        "ops": ops, "edges": edges, "entries": entries, "exits": exits,
    })
}

/// Registers, for each name, an op that appends its name to `log` and outputs `{"<name>": true}`.
pub fn recording(mut b: OperonBuilder, names: &[&str], log: &Log) -> OperonBuilder {
    for &name in names {
        let log = log.clone();
        let owned = name.to_string();
        b = b.op_ref(name, move |_: &Inputs| -> Result<Outputs, String> {
            log.lock().unwrap().push(owned.clone());
            Ok(Outputs::from_iter([(owned.clone(), json!(true))]))
        });
    }
    b
}

/// An op that outputs `outputs` (a JSON object) whatever its inputs.
pub fn fixed(outputs: Value) -> impl Fn(&Inputs) -> Result<Outputs, String> + Send + Sync {
    move |_: &Inputs| Ok(outputs.as_object().unwrap().clone().into())
}
