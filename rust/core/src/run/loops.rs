//! Loops: each iteration runs the body in its own context (`loop_n`); the outputs its ops forward
//! are gathered as they arrive; once every op of the iteration has settled, the loop's end op
//! checks `until` and either opens the next iteration (its outputs over the loop's variables) or
//! ends the loop with them. Frames of iterations that were not the last are superseded: they
//! streamed, but the run's result is the last iteration's.

use rustc_hash::FxHashMap;

use crate::plan::{Builtin, LoopPlan, OpId, Plan, Until};
use crate::scheduler::{CtxId, Outcome, Path, Segment};

use super::eval::{absent_variable, eval_until, UntilError};

use super::record::forward_into;
use super::scope::Scope;
use super::{Model, OpFailure, Run, Runtime};

/// What the runs of one loop did.
#[doc = include_str!("../../doc/run/loops/LoopStats.md")]
#[derive(Debug, Default, Clone, Copy)]
pub struct LoopStats {
    /// Times the loop ran to its end.
    pub runs: u64,
    /// Iterations over all runs.
    pub iterations: u64,
    /// Runs that stopped at `max_iterations` with `until` still false.
    pub reached_max: u64,
}

/// The per-run loop bookkeeping.
#[derive(Debug)]
pub(super) struct Loops<V> {
    /// Per open iteration: the outputs its body forwarded so far.
    outputs: FxHashMap<CtxId, V>,
    /// Per open iteration: the absolute index of its first frame.
    starts: FxHashMap<CtxId, usize>,
    /// Per loop (its end op).
    stats: FxHashMap<OpId, LoopStats>,
    /// Loops that stopped at `max_iterations`: end op and the loop's context.
    at_max: Vec<(OpId, Path)>,
}

impl<V> Loops<V> {
    /// True when no loop ran (nothing to reset).
    #[inline]
    pub(super) fn is_empty(&self) -> bool {
        self.outputs.is_empty() && self.starts.is_empty() && self.stats.is_empty() && self.at_max.is_empty()
    }
}

impl<V> Default for Loops<V> {
    fn default() -> Self {
        Loops {
            outputs: FxHashMap::default(),
            starts: FxHashMap::default(),
            stats: FxHashMap::default(),
            at_max: Vec::new(),
        }
    }
}

impl<V> Loops<V> {
    /// Forgets the open iterations of a run that stopped.
    pub fn clear(&mut self) {
        self.outputs.clear();
        self.starts.clear();
    }

    pub fn stats(&self) -> impl Iterator<Item = (OpId, &LoopStats)> {
        self.stats.iter().map(|(op, s)| (*op, s))
    }

    pub fn at_max(&self) -> &[(OpId, Path)] {
        &self.at_max
    }
}

fn loop_plan(plan: &Plan, exit: OpId) -> &LoopPlan {
    match &plan.ops[exit as usize].builtin {
        Builtin::Loop(lp) => lp,
        _ => unreachable!("op {exit} is not the end of a loop"),
    }
}

impl<M: Model> Run<M> {
    /// Opens iteration `n` of the loop entered by `enter` in `ctx`, with the loop's variables `vars`.
    pub(super) fn start_iteration<R: Runtime<M>>(
        &mut self,
        rt: &mut R,
        enter: OpId,
        ctx: CtxId,
        n: u32,
        vars: M::Value,
    ) {
        let plan = self.plan_arc();
        let iteration = self.state.open_iteration(enter, ctx, n);
        let last = rt.copy(&vars);
        self.values.put(enter, iteration, vars, last);
        self.loops.starts.insert(iteration, self.frames.total());
        self.state.begin_iteration(&plan, enter, iteration);
        self.free_contexts();
    }

    /// Adds what body op `op` forwards to the outputs of its loop's current iteration.
    pub(super) fn forward_to_loop<R: Runtime<M>>(
        &mut self,
        rt: &mut R,
        op: OpId,
        ctx: CtxId,
        out: &M::Value,
    ) -> Result<(), M::Error> {
        let Some((exit, i)) = self.facts().loop_sink[op as usize] else {
            return Ok(());
        };
        let plan = self.plan_arc();
        let depth = plan.ops[exit as usize].depth + 1;
        let Some(iteration) = self.state.contexts().ancestor(ctx, depth) else {
            return Ok(());
        };
        let acc = self.loops.outputs.entry(iteration).or_insert_with(|| rt.map());
        forward_into(rt, &loop_plan(&plan, exit).sources[i].1, out, acc)
    }

    /// The end op of a loop, run in an iteration's context once everything there has settled:
    /// checks `until`, then opens the next iteration or ends the loop.
    pub(super) fn end_iteration<R: Runtime<M>>(
        &mut self,
        rt: &mut R,
        exit: OpId,
        iteration: CtxId,
    ) -> Result<(), OpFailure<M::Error>> {
        let plan = self.plan_arc();
        let lp = loop_plan(&plan, exit);
        let enter = exit - 1;
        let contexts = self.state.contexts();
        let parent = contexts.parent(iteration);
        let Segment::Loop(n) = contexts.segment(iteration) else {
            return Ok(());
        };
        let outputs = match self.loops.outputs.remove(&iteration) {
            Some(o) => o,
            None => rt.map(),
        };
        // The loop's variables after this iteration: its outputs over what it started with.
        let mut vars = rt.map();
        if let Some(before) = self.values.get(enter, iteration) {
            rt.update(&mut vars, before, false).map_err(OpFailure::Raised)?;
        }
        rt.update(&mut vars, &outputs, false).map_err(OpFailure::Raised)?;
        let kept = rt.copy(&vars);
        self.values.set(enter, iteration, kept);
        let done = self.until_holds(rt, &lp.until, enter, iteration, &vars)?;
        let last = done || n + 1 >= lp.max_iterations;
        let since = self.loops.starts.remove(&iteration).unwrap_or(0);
        if !last {
            self.next_iteration(rt, exit, iteration, since, &outputs, vars).map_err(OpFailure::Raised)?;
            return Ok(());
        }
        // a loop's record is always kept (never moved into a frame: only code ops are)
        if let Some(out) = self.record(rt, exit, iteration, outputs)? {
            self.store(rt, exit, parent, out);
        }
        let stats = self.loops.stats.entry(exit).or_default();
        stats.runs += 1;
        stats.iterations += u64::from(n) + 1;
        stats.reached_max += u64::from(!done);
        if !done {
            let path = self.state.contexts().path(parent);
            self.loops.at_max.push((exit, path));
        }
        self.state.end_loop(&plan, enter, parent, Outcome::Done);
        self.state.end_iteration(iteration);
        self.free_contexts();
        Ok(())
    }

    /// An iteration that was not the last: its frame streams, its frames are superseded (the
    /// run's outputs will be the last iteration's), and the next one opens with `vars`.
    fn next_iteration<R: Runtime<M>>(
        &mut self,
        rt: &mut R,
        exit: OpId,
        iteration: CtxId,
        since: usize,
        outputs: &M::Value,
        vars: M::Value,
    ) -> Result<(), M::Error> {
        let plan = self.plan_arc();
        let forward = &plan.ops[exit as usize].forward;
        if forward.emits() {
            let mut data = rt.map();
            forward_into(rt, forward, outputs, &mut data)?;
            self.emit(rt, exit, iteration, data)?;
        }
        let path = self.state.contexts().path(iteration);
        let facts = self.facts_arc();
        self.frames.supersede(since, &path, |op| op == exit || facts.loops_of[op as usize].contains(&exit));
        let Segment::Loop(n) = self.state.contexts().segment(iteration) else {
            return Ok(());
        };
        let parent = self.state.contexts().parent(iteration);
        self.start_iteration(rt, exit - 1, parent, n + 1, vars);
        self.state.end_iteration(iteration);
        self.free_contexts();
        Ok(())
    }

    /// A loop's end op failed under `errors="continue"`: the loop ends as skipped.
    pub(super) fn skip_loop(&mut self, exit: OpId, iteration: CtxId) {
        let plan = self.plan_arc();
        self.loops.outputs.remove(&iteration);
        self.loops.starts.remove(&iteration);
        let parent = self.state.contexts().parent(iteration);
        self.state.end_loop(&plan, exit - 1, parent, Outcome::Skipped);
        self.state.end_iteration(iteration);
    }

    fn until_holds<R: Runtime<M>>(
        &self,
        rt: &mut R,
        until: &Until,
        enter: OpId,
        iteration: CtxId,
        vars: &M::Value,
    ) -> Result<bool, OpFailure<M::Error>> {
        match until {
            Until::Never => Ok(false),
            Until::Host(c) => rt
                .until_callable(*c, vars)
                .map_err(|(what, e)| OpFailure::Until(format!("until {what} raised"), Some(e))),
            Until::Expr { cond, text, .. } => {
                let mut scope = Scope { rt, run: self, ctx: iteration };
                eval_until(&mut scope, cond, enter).map_err(|e| match e {
                    UntilError::Absent(var) => OpFailure::Until(absent_variable(self.plan(), text, var), None),
                    UntilError::Host(e) => OpFailure::Until(format!("until {text:?} raised"), Some(e)),
                })
            }
        }
    }
}
