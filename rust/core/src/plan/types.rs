//! The plan's data types.

use serde_json::Value;

pub use super::refs::{Binding, ConstId, Forward, InputPlan, OpId, Operand, RefPlan, RefSource, TransformPlan, VarId};


/// A constant of the document: a JSON value, a whole number too large for JSON, or a host object
/// supplied beside the document.
#[doc = include_str!("../../doc/plan/types/Const.md")]
#[derive(Debug, Clone, PartialEq)]
pub enum Const {
    /// A plain JSON value.
    Json(Value),
    /// A whole number beyond 64 bits (an integer literal of a loop's `until`), as its decimal digits
    /// (no sign, no leading zeros). Hosts with integers of any size turn it into one; JSON cannot hold it.
    Int(String),
    /// Index into the host objects list given with the document (`{"$host": i}`).
    Host(u32),
}

/// How an op is executed.
#[doc = include_str!("../../doc/plan/types/OpKind.md")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    /// Called inline by the driver.
    Sync,
    /// An async function: awaited concurrently.
    Async,
    /// A sync function run on a worker thread.
    Cpu,
    /// A sync generator.
    SyncGen,
    /// An async generator.
    AsyncGen,
    /// A branch: evaluates its cases and runs one target (built in, no host call).
    Branch,
    /// The entry of a nested graph: its outputs are the nested graph's inputs.
    GraphEnter,
    /// The end of a nested graph: its outputs are what the nested ops forwarded.
    GraphExit,
    /// The entry of a loop: opens the first iteration's context, where the body runs.
    LoopEnter,
    /// The end of one iteration of a loop: decides whether another one runs. It runs in the
    /// iteration's context once every op there has settled, and finishes in the loop's own.
    LoopExit,
    /// An op whose outputs the engine computes from its inputs (a parser, a prompt).
    Transform,
}

impl OpKind {
    /// True for ops the engine runs itself (no host function).
    #[doc = include_str!("../../doc/plan/types/OpKind.is_builtin.md")]
    #[inline]
    pub fn is_builtin(self) -> bool {
        matches!(
            self,
            OpKind::Branch
                | OpKind::GraphEnter
                | OpKind::GraphExit
                | OpKind::LoopEnter
                | OpKind::LoopExit
                | OpKind::Transform
        )
    }
}

/// One case of a compiled branch.
#[doc = include_str!("../../doc/plan/types/CasePlan.md")]
#[derive(Debug, Clone, PartialEq)]
pub struct CasePlan {
    /// The condition.
    pub condition: RefPlan,
    /// The op it runs.
    pub target: OpId,
    /// The condition as text (`matched`).
    pub text: String,
}

/// What a built-in op does.
#[doc = include_str!("../../doc/plan/types/Builtin.md")]
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Builtin {
    /// Nothing: a host function.
    #[default]
    None,
    /// A branch: the first case whose condition holds wins, else the default.
    Branch {
        /// The cases in order.
        cases: Vec<CasePlan>,
        /// The default target.
        default: Option<OpId>,
        /// Every target (cases, then the default): the ones not taken are skipped.
        candidates: Vec<OpId>,
    },
    /// The end of a nested graph: the forwarding of each nested op that feeds its outputs.
    Exit(Vec<(OpId, Forward)>),
    /// The end of a loop's iteration.
    Loop(LoopPlan),
    /// A parser op: text into fields.
    Parser(Box<crate::textops::parser::ParserSpec>),
    /// A prompt op: a template into chat messages.
    Prompt(Box<crate::textops::prompt::PromptSpec>),
}

/// How a loop decides to stop.
#[doc = include_str!("../../doc/plan/types/Until.md")]
#[derive(Debug, Clone, PartialEq)]
pub enum Until {
    /// No condition: the loop runs `max_iterations` times.
    Never,
    /// An expression over the loop's variables (its inputs, updated with each iteration's outputs).
    Expr {
        /// The parsed expression.
        cond: super::until::Cond,
        /// Its text, for messages.
        text: String,
        /// The variables it reads.
        names: Vec<VarId>,
    },
    /// A host callable given the loop's variables.
    Host(ConstId),
}

/// A compiled loop (on its `LoopExit` op; its `LoopEnter` is the op just before).
#[doc = include_str!("../../doc/plan/types/LoopPlan.md")]
#[derive(Debug, Clone, PartialEq)]
pub struct LoopPlan {
    /// The stop condition, checked after each iteration.
    pub until: Until,
    /// Iterations never exceed this.
    pub max_iterations: u32,
    /// The forwarding of each body op that feeds the loop's outputs.
    pub sources: Vec<(OpId, Forward)>,
    /// Every op inside the loop (nested graphs and loops included).
    pub body: Vec<OpId>,
}

/// How an edge carries work from its source's context to its target's.
#[doc = include_str!("../../doc/plan/types/EdgeKind.md")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeKind {
    /// Both ops run in the same context: the target's count drops when the source finishes.
    Same,
    /// The source is a generator: each item opens a context where the target runs.
    Item,
    /// The target runs once in the source's context + `__collect__`: after a generator ends, or
    /// after each run of a per-item op.
    Collect,
    /// From a loop's entry to its end: orders them, carries no count (the end runs when an
    /// iteration settles) and carries a skip (a skipped loop never runs).
    Loop,
    /// The source runs in an ancestor of the target's context: the target waits until it is done.
    Gate,
}

/// A successor edge.
#[doc = include_str!("../../doc/plan/types/Edge.md")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edge {
    /// The successor op.
    pub dst: OpId,
    /// Soft: one soft predecessor of a group is enough.
    pub soft: bool,
    /// How the edge carries work between contexts.
    pub kind: EdgeKind,
}


/// One compiled op.
#[doc = include_str!("../../doc/plan/types/OpPlan.md")]
#[derive(Debug, Clone)]
pub struct OpPlan {
    /// Short name.
    pub name: String,
    /// Dotted path from the root graph.
    pub full_name: String,
    /// The function's name (Rust implementations are looked up by it).
    pub func_name: String,
    /// How it runs.
    pub kind: OpKind,
    /// Disabled ops are skipped.
    pub enabled: bool,
    /// Inputs in signature order.
    pub inputs: Vec<InputPlan>,
    /// Which outputs are forwarded.
    pub forward: Forward,
    /// The host object to call, when the document carries one.
    pub callable: Option<ConstId>,
    /// Depth of the contexts the op runs in (0: the root; one more per generator or collect above).
    pub depth: u16,
    /// For ops that run per item: how many of one stream's items may run at once (`None`: any).
    pub item_cap: Option<u32>,
    /// What a built-in op does.
    pub builtin: Builtin,
    /// How its calls are made (delay, retries, timeout, cache); `None` for a plain call.
    pub calls: Option<Box<super::CallPolicy>>,
}

impl OpPlan {
    /// True for both kinds of generator.
    #[doc = include_str!("../../doc/plan/types/OpPlan.is_gen.md")]
    #[inline]
    pub fn is_gen(&self) -> bool {
        matches!(self.kind, OpKind::SyncGen | OpKind::AsyncGen)
    }

    /// True for ops whose successors run in child contexts they open: generators (one per item)
    /// and loop entries (one per iteration).
    #[doc = include_str!("../../doc/plan/types/OpPlan.opens_contexts.md")]
    #[inline]
    pub fn opens_contexts(&self) -> bool {
        self.is_gen() || self.kind == OpKind::LoopEnter
    }

    /// Depth of the contexts holding the op's values: a generator's items, and a loop's variables
    /// in each iteration, live one level below it.
    #[doc = include_str!("../../doc/plan/types/OpPlan.value_depth.md")]
    #[inline]
    pub fn value_depth(&self) -> u16 {
        self.depth + u16::from(self.opens_contexts())
    }
}

/// A compiled graph.
#[doc = include_str!("../../doc/plan/types/Plan.md")]
#[derive(Debug, Clone)]
pub struct Plan {
    /// Short name of the graph.
    pub name: String,
    /// Full name of the graph.
    pub full_name: String,
    /// Cap on in-flight async and cpu ops.
    pub concurrency: Option<u32>,
    /// The ops, by id.
    pub ops: Vec<OpPlan>,
    /// CSR offsets: successors of op `i` are `succ[succ_offsets[i]..succ_offsets[i + 1]]`.
    pub succ_offsets: Vec<u32>,
    /// Successor edges in declaration order.
    pub succ: Vec<Edge>,
    /// Per op: hard predecessors in its own context, plus one when it has soft ones there.
    pub initial_counts: Vec<u32>,
    /// Per op: the number of soft predecessors in its own context.
    pub soft_preds: Vec<u32>,
    /// CSR offsets into [`Plan::gates`].
    pub gate_offsets: Vec<u32>,
    /// Per op: predecessors that run in an ancestor context and must be done there first.
    pub gates: Vec<OpId>,
    /// Per entry of [`Plan::gates`]: the edge is soft (the gate belongs to its op's soft group: a
    /// skipped one does not skip the op, and a done one lets it run).
    pub soft_gates: Vec<bool>,
    /// Ops started first, in wiring order.
    pub entries: Vec<OpId>,
    /// Interned variable names.
    pub vars: Vec<String>,
    /// Constants.
    pub consts: Vec<Const>,
    /// Graph input names read by the ops, in first-use order.
    pub graph_inputs: Vec<VarId>,
    /// Graph output names forwarded by the ops, in first-use order.
    pub graph_outputs: Vec<VarId>,
    /// The root graph is a loop: ops 0 and 1 are its entry and end, and every run input is one of
    /// its variables.
    pub root_loop: bool,
    /// Per op: the predecessor signals one instance receives in its context (hard and soft edges
    /// from ops that can run); its waiting state is dropped after the last one.
    pub signals: Vec<u32>,
    /// Per op: whether it can run at all (an entry reaches it, its hard predecessors can run, and
    /// one of its soft ones can); one that cannot is never signalled.
    pub runnable: Vec<bool>,
    /// Per op: finishing it in the root context only counts down its successors (see
    /// [`Plan::plain_settles`]): it gates nothing, is no generator nor branch, and each successor
    /// is a hard edge in the same context to an op that can run, has no gates and is no nested
    /// graph's end.
    pub plain_settle: Vec<bool>,
}

impl Plan {
    /// The successors of an op.
    #[doc = include_str!("../../doc/plan/types/Plan.successors.md")]
    #[inline]
    pub fn successors(&self, op: OpId) -> &[Edge] {
        let i = op as usize;
        &self.succ[self.succ_offsets[i] as usize..self.succ_offsets[i + 1] as usize]
    }

    /// Which ops settle plainly ([`Plan::plain_settle`]), from the rest of the plan.
    #[doc = include_str!("../../doc/plan/types/Plan.plain_settles.md")]
    pub fn plain_settles(&self) -> Vec<bool> {
        let n = self.ops.len();
        let mut gate_source = vec![false; n];
        for &g in &self.gates {
            gate_source[g as usize] = true;
        }
        (0..n)
            .map(|i| {
                let op = &self.ops[i];
                !gate_source[i]
                    && !op.is_gen()
                    && !matches!(op.builtin, Builtin::Branch { .. })
                    && self.successors(i as OpId).iter().all(|e| {
                        let d = e.dst as usize;
                        e.kind == EdgeKind::Same
                            && !e.soft
                            && self.runnable[d]
                            && self.ops[d].kind != OpKind::GraphExit
                            && self.gates_of(e.dst).is_empty()
                    })
            })
            .collect()
    }

    /// The gate predecessors of an op.
    #[doc = include_str!("../../doc/plan/types/Plan.gates_of.md")]
    #[inline]
    pub fn gates_of(&self, op: OpId) -> &[OpId] {
        let i = op as usize;
        &self.gates[self.gate_offsets[i] as usize..self.gate_offsets[i + 1] as usize]
    }

    /// Whether each gate of an op (as [`Plan::gates_of`] lists them) is a soft edge.
    #[doc = include_str!("../../doc/plan/types/Plan.soft_gates_of.md")]
    #[inline]
    pub fn soft_gates_of(&self, op: OpId) -> &[bool] {
        let i = op as usize;
        &self.soft_gates[self.gate_offsets[i] as usize..self.gate_offsets[i + 1] as usize]
    }

    /// True when an op has a soft gate: its soft group then reaches into an outer context.
    #[doc = include_str!("../../doc/plan/types/Plan.has_soft_gate.md")]
    #[inline]
    pub fn has_soft_gate(&self, op: OpId) -> bool {
        self.soft_gates_of(op).contains(&true)
    }

    /// True when some op is a generator (runs then open item contexts).
    #[doc = include_str!("../../doc/plan/types/Plan.has_streams.md")]
    pub fn has_streams(&self) -> bool {
        self.ops.iter().any(OpPlan::is_gen)
    }

    /// The name of a variable.
    #[doc = include_str!("../../doc/plan/types/Plan.var.md")]
    #[inline]
    pub fn var(&self, v: VarId) -> &str {
        &self.vars[v as usize]
    }

    /// Finds an op by full name or short name.
    #[doc = include_str!("../../doc/plan/types/Plan.find_op.md")]
    pub fn find_op(&self, name: &str) -> Option<OpId> {
        self.ops.iter().position(|o| o.full_name == name || o.name == name).map(|i| i as OpId)
    }

    /// True when some op needs an event loop or a worker thread (or waits for a timer: a delay, a
    /// retry, a time limit).
    #[doc = include_str!("../../doc/plan/types/Plan.has_async.md")]
    pub fn has_async(&self) -> bool {
        self.ops.iter().any(|o| !matches!(o.kind, OpKind::Sync) || o.calls.as_ref().is_some_and(|c| c.needs_timer()))
    }
}
