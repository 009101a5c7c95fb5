//! Running a graph from Rust: `Operon::builder(json).op("name", f).build()?.run(inputs)`.
//! Ops are Rust functions over JSON values, called inline in FIFO order.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use rustc_hash::FxHashMap;
use serde_json::{Map, Value};

use crate::error::{EngineError, Problem, Result};
use crate::graph::schema;
use crate::ops::{Inputs, Outputs, RustOp, SharedOp};
use crate::plan::{self, Builtin, Const, ConstId, Forward, OpId, OpKind, Plan, RefSource, TransformPlan, VarId};
use crate::scheduler::{choose_branch, resolve_input, ErrorMode, Host, Outcome, Resolved, RunState, ROOT_CONTEXT};
use crate::value::apply_json;

/// One result of an op bound to a graph output.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// The op's short name.
    pub op: String,
    /// The context path, starting with `"main"`.
    pub context: Vec<String>,
    /// The forwarded outputs under their graph-output names.
    pub data: Map<String, Value>,
}

/// What a run produced.
#[derive(Debug, Default)]
pub struct RunOutput {
    /// Frames grouped by key in frame order: one value stays a scalar, several become a list.
    pub outputs: Map<String, Value>,
    /// Every frame in order.
    pub frames: Vec<Frame>,
    /// Errors of failed ops (with [`ErrorMode::Continue`] only).
    pub errors: Vec<EngineError>,
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
        let mut problems = Vec::new();
        let mut graphs = vec![&doc];
        while let Some(g) = graphs.pop() {
            for (name, op) in &g.ops.0 {
                match op.kind.as_str() {
                    "graph" => graphs.extend(op.graph.as_deref()),
                    "code" => {
                        if op.is_generator {
                            problems.push(Problem::new("unsupported", format!("op '{name}' is a generator; Rust generator ops are not supported")).op(name));
                        }
                        let func_name = op.func_name.as_deref().unwrap_or(name);
                        if !self.ops.contains_key(func_name) && !self.ops.contains_key(name.as_str()) {
                            problems.push(
                                Problem::new("unknown_op", format!("no Rust implementation registered for op '{name}' (function '{func_name}')"))
                                    .op(name)
                                    .target(func_name),
                            );
                        }
                    }
                    _ => {}
                }
            }
        }
        let plan = match plan::compile(&doc) {
            Ok(plan) => plan,
            Err(EngineError::Invalid { graph, problems: mut found }) => {
                found.extend(problems);
                return Err(EngineError::Invalid { graph, problems: found });
            }
            Err(e) => return Err(e),
        };
        if let Some(c) = plan.consts.iter().find(|c| matches!(c, Const::Host(_))) {
            problems.push(Problem::new("invalid", format!("the document holds a host object ({c:?}); a graph run from Rust holds JSON values only")));
        }
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
        let mut state = RunState::new(plan);
        let mut host = JsonHost { plan, inputs, records: vec![None; plan.ops.len()], arrivals: vec![0; plan.ops.len()], clock: 0 };
        let mut out = RunOutput::default();
        // Rust ops are never generators, so every instance runs in the root context.
        while let Some((op, ctx)) = state.pop_ready() {
            let outcome = match self.run_op(&mut host, op) {
                Ok(None) => Outcome::Skipped,
                Ok(Some(outputs)) => {
                    emit(plan, op, &outputs, &mut out);
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
        out.outputs = group_frames(&out.frames);
        Ok(out)
    }

    fn run_op(&self, host: &mut JsonHost<'_>, op: OpId) -> Result<Option<Outputs>> {
        let plan = host.plan;
        let p = &plan.ops[op as usize];
        if !p.enabled {
            return Ok(None);
        }
        let fail = |message: String| EngineError::OpFailed {
            graph: plan.name.clone(),
            op: p.full_name.clone(),
            context: vec![ROOT_CONTEXT.to_string()],
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
                        context: vec![ROOT_CONTEXT.to_string()],
                    })
                }
                Err(e) => return Err(fail(format!("input '{}': {e}", input.name))),
            }
        }
        match (&p.builtin, p.kind) {
            (_, OpKind::GraphEnter) => return Ok(Some(pairs.into_iter().collect())),
            (Builtin::Exit(sources), _) => {
                // What the inner ops forwarded, in the order it arrived: a later forward of a key wins.
                let mut order: Vec<&(OpId, Forward)> = sources.iter().filter(|(src, _)| host.records[*src as usize].is_some()).collect();
                order.sort_by_key(|(src, _)| host.arrivals[*src as usize]);
                let mut outputs = Outputs::new();
                for (src, forward) in order {
                    if let Some(record) = &host.records[*src as usize] {
                        outputs.extend(forwarded(plan, forward, record));
                    }
                }
                return Ok(Some(outputs));
            }
            (Builtin::Branch { cases, default, .. }, _) => {
                // The conditions read the branch's inputs from its own record.
                host.records[op as usize] = Some(pairs.into_iter().collect());
                let (chosen, matched) = choose_branch(host, cases, *default);
                let name = |o: Option<OpId>| o.map(|o| Value::from(plan.ops[o as usize].name.clone())).unwrap_or(Value::Null);
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

/// The text of a caught panic.
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

fn emit(plan: &Plan, op: OpId, outputs: &Outputs, out: &mut RunOutput) {
    let p = &plan.ops[op as usize];
    if !p.forward.emits() {
        return;
    }
    let data = forwarded(plan, &p.forward, outputs);
    out.frames.push(Frame { op: p.name.clone(), context: vec![ROOT_CONTEXT.to_string()], data });
}

/// The outputs a forwarding spec passes on, under their graph-output names.
fn forwarded(plan: &Plan, forward: &Forward, outputs: &Outputs) -> Map<String, Value> {
    match forward {
        Forward::Nothing => Map::new(),
        Forward::All => outputs.iter().filter(|(k, _)| !k.starts_with('$')).map(|(k, v)| (k.clone(), v.clone())).collect(),
        Forward::Mapped(pairs) => pairs
            .iter()
            .filter_map(|&(from, to)| Some((plan.var(to).to_string(), outputs.get(plan.var(from))?.clone())))
            .collect(),
    }
}

/// Groups frames by key in frame order: a key seen once keeps its value, a key seen more often a list.
pub fn group_frames(frames: &[Frame]) -> Map<String, Value> {
    let mut grouped: Map<String, Value> = Map::new();
    let mut counts: FxHashMap<String, usize> = FxHashMap::default();
    for frame in frames {
        for (k, v) in &frame.data {
            let n = counts.entry(k.clone()).or_insert(0);
            *n += 1;
            match (*n, grouped.get_mut(k)) {
                (1, _) => {
                    grouped.insert(k.clone(), v.clone());
                }
                (2, Some(first)) => *first = Value::Array(vec![first.take(), v.clone()]),
                (_, Some(Value::Array(list))) => list.push(v.clone()),
                _ => {}
            }
        }
    }
    grouped
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

    fn constant(&mut self, c: ConstId) -> Value {
        match &self.plan.consts[c as usize] {
            Const::Json(v) => v.clone(),
            Const::Host(_) => Value::Null, // refused at build time
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

    fn transform(&mut self, t: &TransformPlan, value: Value, args: Vec<Value>, _kw: Vec<(&str, Value)>) -> Result<Value, String> {
        apply_json(t.kind, value, &args)
    }
}
