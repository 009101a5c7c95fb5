//! Facts about a plan that every run of it reads: computed once per engine.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use smallvec::SmallVec;

use crate::plan::{Binding, Builtin, EdgeKind, OpId, Operand, Plan, RefPlan, RefSource};

/// Per-op facts of a plan the run semantics need at each step.
#[doc = include_str!("../../doc/run/facts/Facts.md")]
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
    /// Per op: a JSON object of its parameter names, each `null`, in order: the inputs of a call
    /// by value are a copy of it with the values set (made on first use, by the Rust drivers only).
    input_maps: OnceLock<Vec<serde_json::Map<String, serde_json::Value>>>,
    /// Per op: the ops whose outputs it alone reads (see [`Facts::sole_reads`]).
    sole_reads: Vec<SmallVec<[OpId; 1]>>,
    /// Per op: nothing reads its outputs (see [`Facts::unread`]).
    unread: Vec<bool>,
}

impl Facts {
    /// Reads the facts off a plan.
    #[doc = include_str!("../../doc/run/facts/Facts.new.md")]
    pub fn new(plan: &Plan) -> Self {
        let n = plan.ops.len();
        let mut f = Facts {
            collects: vec![false; n],
            item_readers: vec![false; n],
            feeds_exit: vec![false; n],
            loop_sink: vec![None; n],
            loops_of: vec![SmallVec::new(); n],
            input_names: OnceLock::new(),
            input_maps: OnceLock::new(),
            sole_reads: Vec::new(),
            unread: Vec::new(),
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
        let reads = reads(plan);
        f.sole_reads = sole_reads(plan, &f, &reads);
        f.unread = (0..n)
            .map(|i| {
                let op = &plan.ops[i];
                reads[i].0 == 0
                    && !op.kind.is_builtin()
                    && !(f.collects[i] || f.item_readers[i] || f.feeds_exit[i] || f.loop_sink[i].is_some())
            })
            .collect();
        f
    }

    /// True when nothing reads op `op`'s outputs once it has emitted its frame: a code op no ref
    /// reads, whose outputs feed no nested graph's end, loop, or consumer of its items.
    #[doc = include_str!("../../doc/run/facts/Facts.unread.md")]
    #[inline]
    pub fn unread(&self, op: OpId) -> bool {
        self.unread[op as usize]
    }

    /// The ops whose outputs op `op` alone reads, in the context it runs in: once it is called,
    /// nothing reads them again, and a driver may let them go ([`crate::run::Run::release_reads`]).
    /// Such a source is a code op (not a generator) of the reader's depth that neither feeds a
    /// nested graph's end nor a loop's, and exactly one ref of the whole plan reads it (an input of
    /// `op`, not over a collect edge).
    #[doc = include_str!("../../doc/run/facts/Facts.sole_reads.md")]
    #[inline]
    pub fn sole_reads(&self, op: OpId) -> &[OpId] {
        &self.sole_reads[op as usize]
    }
}

/// Per op: how many refs of the plan read it (a collected read counts as two), and the last
/// op that does.
fn reads(plan: &Plan) -> Vec<(u32, OpId)> {
    let mut reads = vec![(0u32, 0 as OpId); plan.ops.len()];
    let mut note = |r: &RefPlan, by: OpId| note_ref(&mut reads, r, by);
    for (id, op) in plan.ops.iter().enumerate() {
        for input in &op.inputs {
            match &input.binding {
                Binding::Ref(r) => note(r, id as OpId),
                Binding::AnyOf(refs) => refs.iter().for_each(|r| note(r, id as OpId)),
                Binding::Unbound | Binding::Literal(_) => {}
            }
        }
        if let Builtin::Branch { cases, .. } = &op.builtin {
            cases.iter().for_each(|c| note(&c.condition, id as OpId));
        }
    }
    reads
}

/// [`Facts::sole_reads`] of every op.
fn sole_reads(plan: &Plan, f: &Facts, reads: &[(u32, OpId)]) -> Vec<SmallVec<[OpId; 1]>> {
    let mut sole = vec![SmallVec::new(); plan.ops.len()];
    for (src, &(count, reader)) in reads.iter().enumerate() {
        let (s, r) = (&plan.ops[src], &plan.ops[reader as usize]);
        let plain = |o: &crate::plan::OpPlan| !o.kind.is_builtin() && !o.is_gen() && o.value_depth() == o.depth;
        if count == 1 && plain(s) && plain(r) && s.depth == r.depth && !f.feeds_exit[src] && f.loop_sink[src].is_none()
        {
            sole[reader as usize].push(src as OpId);
        }
    }
    sole
}

/// Counts the reads of ref `r` (and of the refs among its transforms' operands) by op `by`.
fn note_ref(reads: &mut [(u32, OpId)], r: &RefPlan, by: OpId) {
    if let RefSource::Op(src) = r.source {
        let (count, reader) = &mut reads[src as usize];
        *count += if r.collect { 2 } else { 1 };
        *reader = by;
    }
    for t in &r.transforms {
        for operand in t.args.iter().chain(t.kwargs.iter().map(|(_, a)| a)) {
            if let Operand::Ref(inner) = operand {
                note_ref(reads, inner, by);
            }
        }
    }
}

impl Facts {
    /// The parameter names of op `op` of `plan` (the plan these facts were read off), shared.
    #[doc = include_str!("../../doc/run/facts/Facts.input_names.md")]
    pub fn input_names(&self, plan: &Plan, op: OpId) -> &Arc<[String]> {
        let all = self.input_names.get_or_init(|| {
            // ops of the same parameters share one list: a driver's buffer, named by the last
            // op it called, is then named alike for the next (no reference count changes)
            let mut shared: HashMap<Vec<&str>, Arc<[String]>> = HashMap::new();
            plan.ops
                .iter()
                .map(|o| {
                    let names: Vec<&str> = o.inputs.iter().map(|i| i.name.as_str()).collect();
                    let list = shared.entry(names).or_insert_with(|| o.inputs.iter().map(|i| i.name.clone()).collect());
                    Arc::clone(list)
                })
                .collect()
        });
        &all[op as usize]
    }

    /// The parameter names of op `op` of `plan` as a JSON object whose values are `null`, in
    /// order: copying it makes no hash of a name (an insert would make one per name).
    #[doc = include_str!("../../doc/run/facts/Facts.input_map.md")]
    pub fn input_map(&self, plan: &Plan, op: OpId) -> &serde_json::Map<String, serde_json::Value> {
        let all = self.input_maps.get_or_init(|| {
            plan.ops
                .iter()
                .map(|o| o.inputs.iter().map(|i| (i.name.clone(), serde_json::Value::Null)).collect())
                .collect()
        });
        &all[op as usize]
    }
}
