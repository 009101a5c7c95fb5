//! Which Rust implementation runs each op of a document: registered by `func_name` or by op name,
//! a generator op with a generator, any other code op with a function.

use rustc_hash::FxHashMap;

use super::Implementation;
use crate::error::Problem;
use crate::graph::schema::GraphDoc;
use crate::plan::Plan;

/// The implementation registered under an op's `func_name`, else under its name.
fn lookup<'a>(impls: &'a FxHashMap<String, Implementation>, func_name: &str, name: &str) -> Option<&'a Implementation> {
    impls.get(func_name).or_else(|| impls.get(name))
}

/// Problems of binding `doc`'s code ops (nested graphs included) to the registered `impls`: an op
/// with no implementation, or one whose implementation is not of its kind (a generator op needs a
/// generator, any other op a function).
pub(crate) fn binding_problems(doc: &GraphDoc, impls: &FxHashMap<String, Implementation>) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut graphs = vec![doc];
    while let Some(g) = graphs.pop() {
        for (name, op) in &g.ops.0 {
            match op.kind.as_str() {
                "graph" => graphs.extend(op.graph.as_deref()),
                "code" => {
                    let func_name = op.func_name.as_deref().unwrap_or(name);
                    let problem = match (lookup(impls, func_name, name).map(Implementation::is_generator), op.is_generator) {
                        (None, gen) => Problem::new(
                            "unknown_op",
                            format!(
                                "no Rust {} registered for op '{name}' (function '{func_name}')",
                                if gen { "generator (OperonBuilder::gen)" } else { "implementation" }
                            ),
                        ),
                        (Some(false), true) => Problem::new(
                            "invalid",
                            format!(
                                "op '{name}' is a generator but '{func_name}' is registered as a plain op; register a \
                                 generator with OperonBuilder::gen"
                            ),
                        ),
                        (Some(true), false) => Problem::new(
                            "invalid",
                            format!(
                                "op '{name}' is not a generator but '{func_name}' is registered as one (OperonBuilder::gen); \
                                 register a function with OperonBuilder::op"
                            ),
                        ),
                        _ => continue,
                    };
                    problems.push(problem.op(name).target(func_name));
                }
                _ => {}
            }
        }
    }
    problems
}

/// The implementation of each op of `plan` (`None` for built-in ops).
pub(crate) fn bind(plan: &Plan, impls: &FxHashMap<String, Implementation>) -> Vec<Option<Implementation>> {
    plan.ops
        .iter()
        .map(|op| if op.kind.is_builtin() { None } else { lookup(impls, &op.func_name, &op.name).cloned() })
        .collect()
}
