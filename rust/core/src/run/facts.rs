//! Facts about a plan that every run of it reads: computed once per engine.

use std::sync::{Arc, OnceLock};

use smallvec::SmallVec;

use crate::plan::{Builtin, EdgeKind, OpId, Plan};

/// Per-op facts of a plan the run semantics need at each step.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// Per op: a generator whose items some op collects.
    pub collects: Vec<bool>,
    /// Per op: a generator whose items some op reads per item.
    pub item_readers: Vec<bool>,
    /// Per op: its outputs feed a nested graph's end (their arrival order matters).
    pub feeds_exit: Vec<bool>,
    /// Per op: the loop end op (and the index among its sources) its outputs are forwarded to.
    pub loop_sink: Vec<Option<(OpId, usize)>>,
    /// Per op: the end ops of the loops it is inside.
    pub loops_of: Vec<SmallVec<[OpId; 2]>>,
    /// Per op: its parameter names, shared by the inputs of its calls (made on first use, by the
    /// Rust drivers only).
    input_names: OnceLock<Vec<Arc<[String]>>>,
}

impl Facts {
    /// Reads the facts off a plan.
    pub fn new(plan: &Plan) -> Self {
        let n = plan.ops.len();
        let mut f = Facts {
            collects: vec![false; n],
            item_readers: vec![false; n],
            feeds_exit: vec![false; n],
            loop_sink: vec![None; n],
            loops_of: vec![SmallVec::new(); n],
            input_names: OnceLock::new(),
        };
        for i in 0..n {
            for e in plan.successors(i as OpId) {
                match e.kind {
                    EdgeKind::Collect => f.collects[i] = true,
                    EdgeKind::Item => f.item_readers[i] = true,
                    _ => {}
                }
            }
        }
        for (id, op) in plan.ops.iter().enumerate() {
            match &op.builtin {
                Builtin::Exit(sources) => {
                    for (src, _) in sources {
                        f.feeds_exit[*src as usize] = true;
                    }
                }
                Builtin::Loop(lp) => {
                    for (i, (src, _)) in lp.sources.iter().enumerate() {
                        f.loop_sink[*src as usize] = Some((id as OpId, i));
                    }
                    for &member in &lp.body {
                        f.loops_of[member as usize].push(id as OpId);
                    }
                }
                _ => {}
            }
        }
        f
    }
}

impl Facts {
    /// The parameter names of op `op` of `plan` (the plan these facts were read off), shared.
    pub fn input_names(&self, plan: &Plan, op: OpId) -> &Arc<[String]> {
        let all = self.input_names.get_or_init(|| {
            plan.ops.iter().map(|o| o.inputs.iter().map(|i| i.name.clone()).collect()).collect()
        });
        &all[op as usize]
    }
}
