//! [`Run`]: one run of a plan. A driver pops ready op instances, asks [`Run::prepare`] for each
//! (inputs resolved, built-in ops run here), calls the op when it is handed back, and reports the
//! outcome with [`Run::complete`] (or each item of a generator with [`Run::item`]).

use std::sync::Arc;

use smallvec::SmallVec;

use super::buffer::FrameBuffer;
use super::waiters::Waiters;
use crate::plan::{OpId, Plan};
use crate::scheduler::{CtxId, ErrorMode, Outcome, RunState};

use super::loops::{LoopStats, Loops};
use super::values::Values;
use super::{CancelToken, Facts, Model, OpFailure, Runtime};

/// Where a run is in its life.
#[doc = include_str!("../../doc/run/step/Phase.md")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Created; nothing has run yet.
    Created,
    /// Started and not over.
    Running,
    /// Every op that could run has run.
    Finished,
    /// An op failed (with `errors="raise"`) or the run was stopped by a fatal error.
    Failed,
    /// Cancelled: what arrived stays readable, nothing new starts.
    Cancelled,
}

/// The arguments of one op call, in the order of its inputs.
#[doc = include_str!("../../doc/run/step/Args.md")]
pub type Args<V> = SmallVec<[V; 8]>;

/// One run of a plan: its scheduler state, the values and frames it produced, its errors.
#[doc = include_str!("../../doc/run/step/Run.md")]
pub struct Run<M: Model> {
    pub(super) plan: Arc<Plan>,
    pub(super) facts: Arc<Facts>,
    pub(super) state: RunState,
    pub(super) mode: ErrorMode,
    pub(super) phase: Phase,
    inputs: M::Value,
    pub(super) values: Values<M::Value>,
    pub(super) frames: FrameBuffer<M::Value>,
    pub(super) waiters: Waiters<M::Waker>,
    pub(super) errors: Vec<M::Failure>,
    pub(super) failure: Option<M::Failure>,
    pub(super) tags: Vec<M::Value>,
    pub(super) loops: Loops<M::Value>,
    pub(super) token: Option<CancelToken>,
    /// Op runs so far: calls handed to the driver and branches taken, counted once per loop
    /// iteration and per stream item they ran in.
    pub(super) op_runs: u64,
    /// The op executions recorded for the run's tracers (`None`: no tracer, nothing kept).
    pub(super) spans: Option<Box<crate::trace::SpanLog>>,
}

impl<M: Model> Run<M> {
    /// A run of `plan` over `inputs` (a mapping); with `retain`, frames are kept for the result
    /// after they are consumed.
    #[doc = include_str!("../../doc/run/step/Run.new.md")]
    pub fn new(plan: Arc<Plan>, facts: Arc<Facts>, inputs: M::Value, mode: ErrorMode, retain: bool) -> Self {
        Run {
            state: RunState::new(&plan),
            values: Values::new(plan.ops.len()),
            plan,
            facts,
            mode,
            phase: Phase::Created,
            inputs,
            frames: FrameBuffer::new(retain),
            waiters: Waiters::default(),
            errors: Vec::new(),
            failure: None,
            tags: Vec::new(),
            loops: Loops::default(),
            token: None,
            op_runs: 0,
            spans: None,
        }
    }

    /// Makes this run, parked by [`Run::park`] (or over), a fresh run of `plan`, as [`Run::new`]
    /// would make it, keeping its buffers: a run of the same plan allocates none of them.
    #[doc = include_str!("../../doc/run/step/Run.restart.md")]
    pub fn restart(&mut self, plan: &Arc<Plan>, facts: &Arc<Facts>, inputs: M::Value, mode: ErrorMode, retain: bool) {
        // every field is named, so a field added later cannot be forgotten here
        let Run {
            plan: own_plan,
            facts: own_facts,
            state,
            mode: own_mode,
            phase,
            inputs: own_inputs,
            values,
            frames,
            waiters,
            errors,
            failure,
            tags,
            loops,
            token,
            op_runs,
            spans,
        } = self;
        state.reset(plan);
        values.reset(plan.ops.len());
        frames.reset(retain);
        // the same plan again (the usual case) costs no reference count change
        if !Arc::ptr_eq(own_plan, plan) {
            *own_plan = Arc::clone(plan);
        }
        if !Arc::ptr_eq(own_facts, facts) {
            *own_facts = Arc::clone(facts);
        }
        *own_mode = mode;
        *phase = Phase::Created;
        *own_inputs = inputs;
        if !waiters.is_empty() {
            *waiters = Waiters::default();
        }
        errors.clear();
        *failure = None;
        tags.clear();
        if !loops.is_empty() {
            *loops = Loops::default();
        }
        *token = None;
        *op_runs = 0;
        *spans = None;
    }

    /// Lets go of everything the run produced (values, frames, errors, waiters; its inputs become
    /// `none`) and keeps its buffers, for [`Run::restart`].
    #[doc = include_str!("../../doc/run/step/Run.park.md")]
    pub fn park(&mut self, none: M::Value) {
        self.values.reset(0);
        self.frames.reset(false);
        self.inputs = none;
        if !self.waiters.is_empty() {
            self.waiters = Waiters::default();
        }
        self.errors.clear();
        self.failure = None;
        self.tags.clear();
        if !self.loops.is_empty() {
            self.loops = Loops::default();
        }
        self.token = None;
        self.op_runs = 0;
        self.spans = None;
        self.phase = Phase::Finished;
    }

    /// The plan being run.
    #[doc = include_str!("../../doc/run/step/Run.plan.md")]
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The plan, shared (for a driver that reads it while the run changes).
    #[doc = include_str!("../../doc/run/step/Run.plan_shared.md")]
    pub fn plan_shared(&self) -> &Arc<Plan> {
        &self.plan
    }

    /// The plan, shared (to read it while the run changes).
    pub(super) fn plan_arc(&self) -> Arc<Plan> {
        Arc::clone(&self.plan)
    }

    /// The facts, shared.
    pub(super) fn facts_arc(&self) -> Arc<Facts> {
        Arc::clone(&self.facts)
    }

    /// Facts of the plan.
    #[doc = include_str!("../../doc/run/step/Run.facts.md")]
    pub fn facts(&self) -> &Facts {
        &self.facts
    }

    /// The scheduler state.
    #[doc = include_str!("../../doc/run/step/Run.state.md")]
    pub fn state(&self) -> &RunState {
        &self.state
    }

    /// The scheduler state, for a driver's own bookkeeping (concurrency slots, generators).
    #[doc = include_str!("../../doc/run/step/Run.state_mut.md")]
    pub fn state_mut(&mut self) -> &mut RunState {
        &mut self.state
    }

    /// The run's inputs.
    #[doc = include_str!("../../doc/run/step/Run.inputs.md")]
    pub fn inputs(&self) -> &M::Value {
        &self.inputs
    }

    /// The values ops produced.
    #[doc = include_str!("../../doc/run/step/Run.values.md")]
    pub fn values(&self) -> &Values<M::Value> {
        &self.values
    }

    /// The frames.
    #[doc = include_str!("../../doc/run/step/Run.frames.md")]
    pub fn frames(&self) -> &FrameBuffer<M::Value> {
        &self.frames
    }

    /// The frames, for consumers (cursor, drain).
    #[doc = include_str!("../../doc/run/step/Run.frames_mut.md")]
    pub fn frames_mut(&mut self) -> &mut FrameBuffer<M::Value> {
        &mut self.frames
    }

    /// Consumers waiting on the run.
    #[doc = include_str!("../../doc/run/step/Run.waiters_mut.md")]
    pub fn waiters_mut(&mut self) -> &mut Waiters<M::Waker> {
        &mut self.waiters
    }

    /// Where the run is in its life.
    #[doc = include_str!("../../doc/run/step/Run.phase.md")]
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// True once the run started.
    #[doc = include_str!("../../doc/run/step/Run.is_started.md")]
    pub fn is_started(&self) -> bool {
        self.phase != Phase::Created
    }

    /// True once the run is over (finished, failed or cancelled).
    #[doc = include_str!("../../doc/run/step/Run.is_over.md")]
    pub fn is_over(&self) -> bool {
        matches!(self.phase, Phase::Finished | Phase::Failed | Phase::Cancelled)
    }

    /// Marks the run as started.
    #[doc = include_str!("../../doc/run/step/Run.start.md")]
    pub fn start(&mut self) {
        if self.phase == Phase::Created {
            self.phase = Phase::Running;
        }
    }

    /// Marks a run with no work left as finished.
    #[doc = include_str!("../../doc/run/step/Run.finish.md")]
    pub fn finish(&mut self) {
        if !self.is_over() {
            self.phase = Phase::Finished;
            self.stop();
        }
    }

    /// True when failed ops are listed and the run goes on (`errors="continue"`).
    #[doc = include_str!("../../doc/run/step/Run.lists_errors.md")]
    pub fn lists_errors(&self) -> bool {
        self.mode == ErrorMode::Continue
    }

    /// The failures listed with `errors="continue"`, in the order they happened.
    #[doc = include_str!("../../doc/run/step/Run.errors.md")]
    pub fn errors(&self) -> &[M::Failure] {
        &self.errors
    }

    /// Takes the run's error, once it failed.
    #[doc = include_str!("../../doc/run/step/Run.take_failure.md")]
    pub fn take_failure(&mut self) -> Option<M::Failure> {
        self.failure.take()
    }

    /// Takes the failures listed with `errors="continue"`.
    #[doc = include_str!("../../doc/run/step/Run.take_errors.md")]
    pub fn take_errors(&mut self) -> Vec<M::Failure> {
        std::mem::take(&mut self.errors)
    }

    /// The run's error, once it failed.
    #[doc = include_str!("../../doc/run/step/Run.failure.md")]
    pub fn failure(&self) -> Option<&M::Failure> {
        self.failure.as_ref()
    }

    /// How many times ops ran: each call of a code op (a generator's once, its per-item consumers
    /// once per item) and each branch evaluated, in every loop iteration. Built-in plumbing (a
    /// nested graph's or loop's entry and end) is not counted.
    #[doc = include_str!("../../doc/run/step/Run.op_runs.md")]
    pub fn op_runs(&self) -> u64 {
        self.op_runs
    }

    /// The tags ops returned under `$tags`, each once.
    #[doc = include_str!("../../doc/run/step/Run.tags.md")]
    pub fn tags(&self) -> &[M::Value] {
        &self.tags
    }

    /// What the runs of each loop (by its end op) did.
    #[doc = include_str!("../../doc/run/step/Run.loop_stats.md")]
    pub fn loop_stats(&self) -> impl Iterator<Item = (OpId, &LoopStats)> {
        self.loops.stats()
    }

    /// Loops that stopped at `max_iterations` with `until` still false: the loop's end op and the
    /// context the loop ran in.
    #[doc = include_str!("../../doc/run/step/Run.loops_at_max.md")]
    pub fn loops_at_max(&self) -> &[(OpId, crate::scheduler::Path)] {
        self.loops.at_max()
    }

    /// The token executors of this run's calls watch: set once the run stops.
    #[doc = include_str!("../../doc/run/step/Run.token.md")]
    pub fn token(&mut self) -> CancelToken {
        let stopped = self.is_over();
        self.token.get_or_insert_with(|| CancelToken::new(stopped)).clone()
    }

    /// The next ready op instance.
    #[doc = include_str!("../../doc/run/step/Run.pop_ready.md")]
    #[inline]
    pub fn pop_ready(&mut self) -> Option<(OpId, CtxId)> {
        self.state.pop_ready()
    }

    /// Frees the values of contexts that have no work left.
    #[doc = include_str!("../../doc/run/step/Run.free_contexts.md")]
    #[inline(always)]
    pub fn free_contexts(&mut self) {
        // most steps free no context: one test, not a call, per op
        if self.state.contexts().has_freed() {
            self.free_freed();
        }
    }

    /// An op the driver called came back: its return value (for a generator, its end), or why it
    /// failed.
    #[doc = include_str!("../../doc/run/step/Run.complete.md")]
    pub fn complete<R: Runtime<M>>(
        &mut self,
        rt: &mut R,
        op: OpId,
        ctx: CtxId,
        result: Result<M::Value, OpFailure<M::Error>>,
    ) {
        match result {
            Ok(_) if self.plan.ops[op as usize].is_gen() => {
                self.trace_done(rt, op, ctx, None);
                self.state.finish(&self.plan, op, ctx, Outcome::Done);
            }
            Ok(out) => {
                self.trace_done(rt, op, ctx, Some(&out));
                // the usual op: untagged outputs that make no frame and feed no loop are stored as
                // they are (what `record` would give back), not moved through it
                // (first the runtime's test: a runtime that never says plain, the default, pays nothing)
                if rt.plain_outputs(&out)
                    && !self.plan.ops[op as usize].forward.emits()
                    && self.facts.loop_sink[op as usize].is_none()
                {
                    self.store(rt, op, ctx, out);
                    self.state.finish(&self.plan, op, ctx, Outcome::Done);
                    return self.free_contexts();
                }
                match self.record(rt, op, ctx, out) {
                    Ok(out) => {
                        if let Some(out) = out {
                            self.store(rt, op, ctx, out);
                        }
                        self.state.finish(&self.plan, op, ctx, Outcome::Done);
                    }
                    Err(failure) => self.fail_op(rt, op, ctx, failure),
                }
            }
            Err(failure) => self.fail_op(rt, op, ctx, failure),
        }
        self.free_contexts();
    }

    /// Wakes every consumer of a run that is over: they find the frames left, then the end.
    #[doc = include_str!("../../doc/run/step/Run.wake_all.md")]
    pub fn wake_all<R: Runtime<M>>(&mut self, rt: &mut R) -> Result<(), M::Error> {
        for w in self.waiters.take_all() {
            rt.wake(w, None)?;
        }
        Ok(())
    }
}
