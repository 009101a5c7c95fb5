//! Which Rust implementation runs each op of a document: registered by `func_name` or by op name.

use rustc_hash::FxHashMap;

use super::SharedOp;
use crate::error::Problem;
use crate::graph::schema::GraphDoc;

/// Problems of binding `doc`'s code ops (nested graphs included) to the registered `ops`: an op with
/// no implementation, or a generator op (Rust ops cannot be generators).
pub(crate) fn binding_problems(doc: &GraphDoc, ops: &FxHashMap<String, SharedOp>) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut graphs = vec![doc];
    while let Some(g) = graphs.pop() {
        for (name, op) in &g.ops.0 {
            match op.kind.as_str() {
                "graph" => graphs.extend(op.graph.as_deref()),
                "code" => {
                    if op.is_generator {
                        problems.push(
                            Problem::new(
                                "unsupported",
                                format!("op '{name}' is a generator; Rust generator ops are not supported"),
                            )
                            .op(name),
                        );
                    }
                    let func_name = op.func_name.as_deref().unwrap_or(name);
                    if !ops.contains_key(func_name) && !ops.contains_key(name.as_str()) {
                        problems.push(
                            Problem::new(
                                "unknown_op",
                                format!("no Rust implementation registered for op '{name}' (function '{func_name}')"),
                            )
                            .op(name)
                            .target(func_name),
                        );
                    }
                }
                _ => {}
            }
        }
    }
    problems
}
