//! Running a graph from Rust: `Operon::builder(json).op("name", f).build()?.run(inputs)`.
//! Ops are Rust functions over JSON values, called inline in FIFO order.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use rustc_hash::FxHashMap;
use serde_json::{Map, Value};

pub use crate::error::panic_message;
use crate::error::{EngineError, Result};
use crate::graph::schema;
use crate::ops::{binding_problems, Inputs, Outputs, RustOp, SharedOp};
use crate::plan::{self, Builtin, Const, ConstId, Forward, OpId, OpKind, Plan, RefSource, TransformPlan, Until, VarId};
use crate::run::frames::{forwarded, FrameLog};
pub use crate::run::frames::{group_frames, Frame};
use crate::scheduler::contexts::render;
use crate::scheduler::{
    absent_variable, choose_branch, eval_until, resolve_input, suggest_key, CtxId, ErrorMode, Host, Outcome, Resolved,
    RunState, Segment, UntilError,
};
use crate::value::{apply_json, json_type};

/// What a run produced.
#[derive(Debug, Default)]
pub struct RunOutput {
    /// Frames grouped by key in frame order: one value stays a scalar, several become a list.
    pub outputs: Map<String, Value>,
    /// Every frame in order.
    pub frames: Vec<Frame>,
    /// Errors of failed ops (with [`ErrorMode::Continue`] only).
    pub errors: Vec<EngineError>,
    /// Loops that stopped because they reached `max_iterations`: `(loop full name, context)`.
    pub loops_at_max: Vec<(String, Vec<String>)>,
}

/// Builds an [`Operon`] from a graph document and Rust op implementations.
pub struct OperonBuilder {
    json: String,
    ops: FxHashMap<String, SharedOp>,
}

impl OperonBuilder {
    /// Registers the implementation of every op whose `func_name` (or name) is `name`.
    pub fn op(mut self, name: &str, f: impl RustOp + 'static) -> Self {
        self.ops.insert(name.to_string(), Arc::new(f));
        self
    }

    /// Parses and compiles the document and binds every op to an implementation.
    pub fn build(self) -> Result<Operon> {
        let doc = schema::parse(&self.json)?;
        // Binding problems are collected before compiling so that an invalid graph reports them too.
        let mut problems = binding_problems(&doc, &self.ops);
        let plan = match plan::compile(&doc) {
            Ok(plan) => plan,
            Err(EngineError::Invalid { graph, problems: mut found }) => {
                found.extend(problems);
                return Err(EngineError::Invalid { graph, problems: found });
            }
            Err(e) => return Err(e),
        };
        problems.extend(crate::value::unsupported_constants(&plan));
        if !problems.is_empty() {
            return Err(EngineError::Invalid { graph: plan.name.clone(), problems });
        }
        let impls = plan
            .ops
            .iter()
            .map(|op| {
                if op.kind.is_builtin() {
                    return None;
                }
                self.ops.get(&op.func_name).or_else(|| self.ops.get(&op.name)).cloned()
            })
            .collect();
        Ok(Operon { plan: Arc::new(plan), impls })
    }
}

/// A compiled graph with its Rust ops, ready to run any number of times.
pub struct Operon {
    plan: Arc<Plan>,
    impls: Vec<Option<SharedOp>>,
}

impl Operon {
    /// Starts building an engine from a graph document (schema 1.0).
    pub fn builder(json: impl Into<String>) -> OperonBuilder {
        OperonBuilder { json: json.into(), ops: FxHashMap::default() }
    }

    /// The compiled plan.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Runs the graph once; the first op error fails the run.
    pub fn run(&self, inputs: Value) -> Result<RunOutput> {
        self.run_with(inputs, ErrorMode::Raise)
    }

    /// Runs the graph once with the given error mode.
    pub fn run_with(&self, inputs: Value, mode: ErrorMode) -> Result<RunOutput> {
        let plan = &*self.plan;
        let inputs = match inputs {
            Value::Null => Value::Object(Default::default()),
            Value::Object(_) => inputs,
            other => return Err(EngineError::RunInputs { graph: plan.name.clone(), found: json_type(&other).into() }),
        };
        let mut state = RunState::new(plan);
        let mut host =
            JsonHost { plan, inputs, records: vec![None; plan.ops.len()], arrivals: vec![0; plan.ops.len()], clock: 0 };
        let mut out = RunOutput::default();
        let mut frames = FrameLog::default();
        // Rust ops are never generators: instances run in the root context or in loop iterations,
        // one iteration of a loop at a time, so one record per op is enough.
        while let Some((op, ctx)) = state.pop_ready() {
            let context = || render(&state.contexts().path(ctx));
            if plan.ops[op as usize].kind == OpKind::LoopExit {
                match self.end_iteration(&mut host, &mut state, &mut frames, op, ctx) {
                    Ok(Some(capped)) => out.loops_at_max.push((plan.ops[op as usize].full_name.clone(), capped)),
                    Ok(None) => {}
                    Err(e) if mode == ErrorMode::Continue => {
                        out.errors.push(e);
                        let parent = state.contexts().parent(ctx);
                        state.end_loop(plan, op - 1, parent, Outcome::Skipped);
                        state.end_iteration(ctx);
                    }
                    Err(e) => return Err(e),
                }
                continue;
            }
            let outcome = match self.run_op(&mut host, op, &context) {
                Ok(None) => Outcome::Skipped,
                Ok(Some(mut outputs)) if plan.ops[op as usize].kind == OpKind::LoopEnter => {
                    if plan.root_loop && op == 0 {
                        // Every run input is a variable of a root loop; given ones override initial values.
                        let mut vars = host.inputs.as_object().cloned().unwrap_or_default();
                        vars.append(&mut outputs);
                        outputs = vars;
                    }
                    host.records[op as usize] = Some(outputs);
                    start_iteration(&mut host, &mut state, &mut frames, op, ctx, 0);
                    continue;
                }
                Ok(Some(outputs)) => {
                    frames.emit(plan, op, &context, &outputs);
                    host.records[op as usize] = Some(outputs);
                    host.clock += 1;
                    host.arrivals[op as usize] = host.clock;
                    if let Builtin::Branch { cases, default, .. } = &plan.ops[op as usize].builtin {
                        let (chosen, _) = choose_branch(&mut host, cases, *default);
                        state.finish_branch(plan, op, ctx, chosen);
                        continue;
                    }
                    Outcome::Done
                }
                Err(e) if mode == ErrorMode::Continue => {
                    out.errors.push(e);
                    Outcome::Skipped
                }
                Err(e) => return Err(e),
            };
            state.finish(plan, op, ctx, outcome);
        }
        out.outputs = group_frames(&frames.kept());
        out.frames = frames.into_frames();
        Ok(out)
    }

    /// The end of one iteration of a loop (running in the iteration's context `ctx`): computes
    /// its outputs and either starts the next iteration or ends the loop. Returns the loop's
    /// context when it stopped at `max_iterations`.
    fn end_iteration(
        &self,
        host: &mut JsonHost<'_>,
        state: &mut RunState,
        frames: &mut FrameLog,
        exit: OpId,
        ctx: CtxId,
    ) -> Result<Option<Vec<String>>> {
        let plan = host.plan;
        let p = &plan.ops[exit as usize];
        let Builtin::Loop(lp) = &p.builtin else {
            return Ok(None);
        };
        let enter = exit - 1;
        let parent = state.contexts().parent(ctx);
        let Segment::Loop(n) = state.contexts().segment(ctx) else {
            return Ok(None);
        };
        let outputs = collect_forwards(host, &lp.sources);
        let mut vars = host.records[enter as usize].take().unwrap_or_default();
        vars.extend(outputs.iter().map(|(k, v)| (k.clone(), v.clone())));
        host.records[enter as usize] = Some(vars);
        let context = render(&state.contexts().path(ctx));
        let done = match &lp.until {
            Until::Never => false,
            Until::Host(_) => false, // refused at build time
            Until::Expr { cond, text, .. } => eval_until(host, cond, enter).map_err(|e| {
                let message = match e {
                    UntilError::Absent(var) => absent_variable(plan, text, var),
                    UntilError::Host(e) => format!("until {text:?} raised: {e}"),
                };
                EngineError::OpFailed {
                    graph: plan.name.clone(),
                    op: p.full_name.clone(),
                    context: context.clone(),
                    message,
                }
            })?,
        };
        frames.emit(plan, exit, &|| context.clone(), &outputs);
        let since = frames.close_iteration(ctx);
        let last = done || n + 1 >= lp.max_iterations;
        if last {
            host.records[exit as usize] = Some(outputs);
            state.end_loop(plan, enter, parent, Outcome::Done);
            state.end_iteration(ctx);
            return Ok((!done).then(|| context[..context.len() - 1].to_vec()));
        }
        frames.supersede(lp, exit, since);
        start_iteration(host, state, frames, enter, parent, n + 1);
        state.end_iteration(ctx);
        Ok(None)
    }

    fn run_op(&self, host: &mut JsonHost<'_>, op: OpId, context: &dyn Fn() -> Vec<String>) -> Result<Option<Outputs>> {
        let plan = host.plan;
        let p = &plan.ops[op as usize];
        if !p.enabled {
            return Ok(None);
        }
        let fail = |message: String| EngineError::OpFailed {
            graph: plan.name.clone(),
            op: p.full_name.clone(),
            context: context(),
            message,
        };
        let mut pairs = Vec::with_capacity(p.inputs.len());
        for input in &p.inputs {
            match resolve_input(host, input) {
                Ok(Resolved::Value(v)) => pairs.push((input.name.clone(), v)),
                Ok(Resolved::Missing) => {
                    return Err(EngineError::MissingInput {
                        graph: plan.name.clone(),
                        op: p.full_name.clone(),
                        input: input.name.clone(),
                        context: context(),
                        suggestion: suggest_key(host, plan, input),
                    })
                }
                Err(e) => return Err(fail(format!("input '{}': {e}", input.name))),
            }
        }
        match (&p.builtin, p.kind) {
            (_, OpKind::GraphEnter | OpKind::LoopEnter) => return Ok(Some(pairs.into_iter().collect())),
            (Builtin::Exit(sources), _) => return Ok(Some(collect_forwards(host, sources))),
            (Builtin::Branch { cases, default, .. }, _) => {
                // The conditions read the branch's inputs from its own record.
                host.records[op as usize] = Some(pairs.into_iter().collect());
                let (chosen, matched) = choose_branch(host, cases, *default);
                let name =
                    |o: Option<OpId>| o.map(|o| Value::from(plan.ops[o as usize].name.clone())).unwrap_or(Value::Null);
                let mut record = host.records[op as usize].take().unwrap_or_default();
                record.insert("target".into(), name(chosen));
                record.insert("matched".into(), matched.map(Value::from).unwrap_or(Value::Null));
                return Ok(Some(record));
            }
            _ => {}
        }
        let inputs = Inputs::new(pairs);
        let Some(f) = &self.impls[op as usize] else {
            return Err(fail("no implementation".into()));
        };
        match catch_unwind(AssertUnwindSafe(|| f.call(&inputs))) {
            Ok(Ok(outputs)) => Ok(Some(outputs)),
            Ok(Err(message)) => Err(fail(message)),
            Err(panic) => Err(fail(format!("panicked: {}", panic_message(&*panic)))),
        }
    }
}

/// Opens iteration `n` of the loop entered by `enter` in `ctx`: the body's records of the last
/// iteration are dropped, and the entry's record (the loop's variables) carries over.
fn start_iteration(
    host: &mut JsonHost<'_>,
    state: &mut RunState,
    frames: &mut FrameLog,
    enter: OpId,
    ctx: CtxId,
    n: u32,
) {
    let plan = host.plan;
    if let Builtin::Loop(lp) = &plan.ops[enter as usize + 1].builtin {
        for &op in &lp.body {
            host.records[op as usize] = None;
        }
    }
    let iteration = state.open_iteration(enter, ctx, n);
    frames.open_iteration(iteration);
    state.begin_iteration(plan, enter, iteration);
}

/// What the ops of a nested graph or loop body forwarded, in the order it arrived: a later
/// forward of a key wins.
fn collect_forwards(host: &JsonHost<'_>, sources: &[(OpId, Forward)]) -> Outputs {
    let mut order: Vec<&(OpId, Forward)> =
        sources.iter().filter(|(src, _)| host.records[*src as usize].is_some()).collect();
    order.sort_by_key(|(src, _)| host.arrivals[*src as usize]);
    let mut outputs = Outputs::new();
    for (src, forward) in order {
        if let Some(record) = &host.records[*src as usize] {
            outputs.extend(forwarded(host.plan, forward, record));
        }
    }
    outputs
}

struct JsonHost<'p> {
    plan: &'p Plan,
    inputs: Value,
    records: Vec<Option<Outputs>>,
    /// When each op's outputs arrived (nested graphs take the latest forward of a key).
    arrivals: Vec<u64>,
    clock: u64,
}

impl Host for JsonHost<'_> {
    type Value = Value;
    type Error = String;

    fn read(&mut self, source: RefSource, var: VarId, _collect: bool) -> Result<Option<Value>, String> {
        let name = self.plan.var(var);
        Ok(match source {
            RefSource::Parent => self.inputs.get(name).cloned(),
            RefSource::Op(op) => self.records[op as usize].as_ref().and_then(|r| r.get(name).cloned()),
        })
    }

    fn keys(&mut self, source: RefSource) -> Vec<String> {
        let record = match source {
            RefSource::Parent => self.inputs.as_object(),
            RefSource::Op(op) => self.records[op as usize].as_ref(),
        };
        record.map(|r| r.keys().cloned().collect()).unwrap_or_default()
    }

    fn constant(&mut self, c: ConstId) -> Value {
        match &self.plan.consts[c as usize] {
            Const::Json(v) => v.clone(),
            Const::Int(_) | Const::Host(_) => Value::Null, // refused at build time
        }
    }

    fn none(&mut self) -> Value {
        Value::Null
    }

    fn is_none(&self, v: &Value) -> bool {
        v.is_null()
    }

    fn truthy(&self, v: &Value) -> Result<bool, String> {
        Ok(crate::value::truthy(v))
    }

    fn transform(
        &mut self,
        t: &TransformPlan,
        value: Value,
        args: Vec<Value>,
        _kw: Vec<(&str, Value)>,
    ) -> Result<Value, String> {
        apply_json(t.kind, value, &args)
    }
}
