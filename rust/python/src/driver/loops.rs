//! Loops in a Python run: each iteration runs the body in its own context (`loop_n`), the outputs
//! its ops forward are gathered as they arrive, and once every op of the iteration has settled the
//! loop's end op checks `until` and either starts the next iteration (its outputs over the loop's
//! variables) or ends the loop with them.

use operonx::plan::{Builtin, LoopPlan, OpId, Until};
use operonx::scheduler::{eval_until, CtxId, Outcome, Segment, UntilError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyDictMethods};
use rustc_hash::FxHashMap;

use super::{forward_into, OpFailure, PyHost, RunCore};
use crate::engine::PyEngine;

/// What the runs of one loop did, for `"$state".loops`.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct LoopStats {
    /// Times the loop ran to its end.
    pub runs: u64,
    /// Iterations over all runs.
    pub iterations: u64,
    /// Runs that stopped at `max_iterations` with `until` still false.
    pub reached_max: u64,
}

/// The per-run loop bookkeeping of a [`RunCore`].
#[derive(Default)]
pub(crate) struct Loops {
    /// Per open iteration: the outputs its body forwarded so far.
    outputs: FxHashMap<CtxId, Py<PyDict>>,
    /// Per open iteration: the absolute index of its first frame.
    starts: FxHashMap<CtxId, usize>,
    /// Per loop (its end op).
    pub stats: FxHashMap<OpId, LoopStats>,
}

impl Loops {
    /// Forgets the iterations of a run that stopped.
    pub fn clear(&mut self) {
        self.outputs.clear();
        self.starts.clear();
    }
}

fn loop_plan(eng: &PyEngine, exit: OpId) -> &LoopPlan {
    match &eng.plan.ops[exit as usize].builtin {
        Builtin::Loop(lp) => lp,
        _ => unreachable!("op {exit} is not the end of a loop"),
    }
}

impl RunCore {
    /// Opens iteration `n` of the loop entered by `enter` in `ctx`, with the loop's variables `vars`.
    pub(crate) fn start_iteration(
        &mut self,
        py: Python<'_>,
        eng: &PyEngine,
        enter: OpId,
        ctx: CtxId,
        n: u32,
        vars: Py<PyAny>,
    ) {
        let iteration = self.state.open_iteration(enter, ctx, n);
        self.values.put(py, enter, iteration, vars);
        self.loops.starts.insert(iteration, self.frames.total());
        self.state.begin_iteration(&eng.plan, enter, iteration);
        self.free_contexts();
    }

    /// Adds what body op `op` forwards to the outputs of its loop's current iteration.
    pub(crate) fn forward_to_loop(
        &mut self,
        py: Python<'_>,
        eng: &PyEngine,
        op: OpId,
        ctx: CtxId,
        out: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let Some((exit, i)) = eng.loop_sink[op as usize] else {
            return Ok(());
        };
        let depth = eng.plan.ops[exit as usize].depth + 1;
        let Some(iteration) = self.state.contexts().ancestor(ctx, depth) else {
            return Ok(());
        };
        let acc = self.loops.outputs.entry(iteration).or_insert_with(|| PyDict::new(py).unbind());
        forward_into(py, eng, &loop_plan(eng, exit).sources[i].1, out, acc.bind(py))
    }

    /// The end op of a loop, run in an iteration's context once everything there has settled:
    /// checks `until`, then opens the next iteration or ends the loop.
    pub(crate) fn end_iteration(
        &mut self,
        py: Python<'_>,
        eng: &PyEngine,
        exit: OpId,
        iteration: CtxId,
    ) -> Result<(), OpFailure> {
        let plan = &eng.plan;
        let lp = loop_plan(eng, exit);
        let enter = exit - 1;
        let contexts = self.state.contexts();
        let parent = contexts.parent(iteration);
        let Segment::Loop(n) = contexts.segment(iteration) else {
            return Ok(());
        };
        let outputs = match self.loops.outputs.remove(&iteration) {
            Some(o) => o.into_bound(py),
            None => PyDict::new(py),
        };
        // The loop's variables after this iteration: its outputs over what it started with.
        let vars = PyDict::new(py);
        if let Some(before) = self.values.get(enter, iteration) {
            vars.update(before.bind(py).cast::<pyo3::types::PyMapping>().map_err(|e| OpFailure::Raised(e.into()))?)
                .map_err(OpFailure::Raised)?;
        }
        vars.update(outputs.as_mapping()).map_err(OpFailure::Raised)?;
        self.values.set(enter, iteration, vars.clone().into_any().unbind());
        let done = self.until_holds(py, eng, &lp.until, enter, iteration, &vars)?;
        let last = done || n + 1 >= lp.max_iterations;
        let since = self.loops.starts.remove(&iteration).unwrap_or(0);
        if !last {
            // The frame of this iteration streams; the run's outputs will be the last one's.
            let forward = &plan.ops[exit as usize].forward;
            if forward.emits() {
                let data = PyDict::new(py);
                forward_into(py, eng, forward, outputs.as_any(), &data).map_err(OpFailure::Raised)?;
                self.emit(py, eng, exit, iteration, data).map_err(OpFailure::Raised)?;
            }
            let path = self.state.contexts().path(iteration);
            let loops_of = &eng.loops_of;
            self.frames.supersede(since, &path, |op| op == exit || loops_of[op as usize].contains(&exit));
            self.start_iteration(py, eng, enter, parent, n + 1, vars.into_any().unbind());
            self.state.end_iteration(iteration);
            self.free_contexts();
            return Ok(());
        }
        let out = self.record(py, eng, exit, iteration, outputs.into_any())?;
        self.values.put(py, exit, parent, out);
        if eng.feeds_exit[exit as usize] {
            self.values.stamp(exit, parent);
        }
        let stats = self.loops.stats.entry(exit).or_default();
        stats.runs += 1;
        stats.iterations += u64::from(n) + 1;
        stats.reached_max += u64::from(!done);
        self.state.end_loop(plan, enter, parent, Outcome::Done);
        self.state.end_iteration(iteration);
        self.free_contexts();
        Ok(())
    }

    /// A loop's end op failed under `errors="continue"`: the loop ends as skipped.
    pub(crate) fn skip_loop(&mut self, eng: &PyEngine, exit: OpId, iteration: CtxId) {
        self.loops.outputs.remove(&iteration);
        self.loops.starts.remove(&iteration);
        let parent = self.state.contexts().parent(iteration);
        self.state.end_loop(&eng.plan, exit - 1, parent, Outcome::Skipped);
        self.state.end_iteration(iteration);
    }

    fn until_holds(
        &self,
        py: Python<'_>,
        eng: &PyEngine,
        until: &Until,
        enter: OpId,
        iteration: CtxId,
        vars: &Bound<'_, PyDict>,
    ) -> Result<bool, OpFailure> {
        match until {
            Until::Never => Ok(false),
            Until::Host(c) => {
                let f = eng.consts[*c as usize].bind(py);
                let verdict = f.call1((vars.copy().map_err(OpFailure::Raised)?,)).and_then(|v| v.is_truthy());
                verdict.map_err(|e| OpFailure::Until(format!("until {} raised", describe(f)), Some(e)))
            }
            Until::Expr { cond, text, .. } => {
                let mut host = PyHost { py, eng, core: self, ctx: iteration };
                eval_until(&mut host, cond, enter).map_err(|e| match e {
                    UntilError::Absent(var) => {
                        OpFailure::Until(operonx::scheduler::absent_variable(&eng.plan, text, var), None)
                    }
                    UntilError::Host(e) => OpFailure::Until(format!("until {text:?} raised"), Some(e)),
                })
            }
        }
    }
}

fn describe(f: &Bound<'_, PyAny>) -> String {
    f.getattr(pyo3::intern!(f.py(), "__qualname__")).map(|n| n.to_string()).unwrap_or_else(|_| "callable".into())
}
