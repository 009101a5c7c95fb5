//! Running a graph from Rust: `Operon::builder(json).op("name", f).build()?.run(inputs)`.
//! Ops are Rust functions over JSON values, called inline in FIFO order.

use std::sync::Arc;

use rustc_hash::FxHashMap;
use serde_json::{Map, Value};

use crate::drivers::inline;
use crate::drivers::spare::Spare;
pub use crate::drivers::inline::RunOutput;
pub use crate::error::panic_message;
use crate::error::{OperonError, Result};
use crate::graph::schema;
use crate::ops::{bind, binding_problems, AsyncFn, Implementation, Registry, RustGen, RustOp};
use crate::plan::{self, Plan};
use crate::run::Facts;
pub use crate::run::Frame;
use crate::scheduler::ErrorMode;
use crate::value::json_type;
#[cfg(feature = "tokio")]
use crate::{drivers::tokio::Job, handle::ExecutionHandle, trace::RunIds, trace::Tracer};

/// Builds an [`Operon`] from a graph document and Rust op implementations.
pub struct OperonBuilder {
    json: String,
    impls: FxHashMap<String, Implementation>,
    auto_register: bool,
}

impl OperonBuilder {
    /// Registers the implementation of every op whose `func_name` (or name) is `name`: a function
    /// of the op's inputs, by value, returning its outputs (an object; `null` is no output).
    pub fn op<F>(mut self, name: impl Into<String>, f: F) -> Self
    where
        F: Fn(Map<String, Value>) -> Result<Value, OperonError> + Send + Sync + 'static,
    {
        self.impls.insert(name.into(), Implementation::Map(Arc::new(f)));
        self
    }

    /// Registers an op over borrowed inputs (the fast path: no map is built for the call).
    pub fn op_ref(mut self, name: impl Into<String>, f: impl RustOp + 'static) -> Self {
        self.impls.insert(name.into(), Implementation::Op(Arc::new(f)));
        self
    }

    /// Registers an async op: each call returns a future of the op's outputs. Async ops run on
    /// the tokio driver.
    pub fn op_async<F, Fut>(mut self, name: impl Into<String>, f: F) -> Self
    where
        F: Fn(Map<String, Value>) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<Value, OperonError>> + Send + 'static,
    {
        self.impls.insert(name.into(), Implementation::Async(Arc::new(AsyncFn(f))));
        self
    }

    /// Registers the implementation of every generator op whose `func_name` (or name) is `name`:
    /// each call returns the iterator of its items.
    pub fn gen(mut self, name: impl Into<String>, f: impl RustGen + 'static) -> Self {
        self.impls.insert(name.into(), Implementation::Gen(Arc::new(f)));
        self
    }

    /// Registers every [`#[op]`](crate::op) function of the program: `build()` also binds ops to
    /// them, by their bare name
    /// (`double`), their module-qualified name without the crate (`math::double`, as the
    /// published crate names them) or their full name (`my_crate::math::double`). A name
    /// registered with [`op`](Self::op) and its kin wins over an `#[op]` function's. `build()`
    /// refuses, with a problem naming the candidates, an op calling a bare name that several
    /// `#[op]` functions have (`ambiguous_op`), and two `#[op]` functions with one full name
    /// (`duplicate_op`).
    ///
    /// ```
    /// use operonx::{op, Operon, OperonError};
    /// use serde_json::{json, Value};
    ///
    /// #[op]
    /// fn add(a: i64, b: i64) -> Value {
    ///     json!({"sum": a + b})
    /// }
    ///
    /// let doc = json!({
    ///     "schema_version": "1.0", "type": "graph", "name": "g",
    ///     "ops": {"add": {"type": "code", "func_name": "add", "inputs": {
    ///         "a": {"required": true, "ref": {"source": "g", "var": "a"}},
    ///         "b": {"required": true, "ref": {"source": "g", "var": "b"}}}}},
    ///     "edges": [], "entries": ["add"], "exits": ["add"]
    /// });
    /// let engine = Operon::builder(doc.to_string()).auto_register().build()?;
    /// assert_eq!(engine.run(json!({"a": 2, "b": 3}))?.outputs["sum"], json!(5));
    /// # Ok::<(), OperonError>(())
    /// ```
    pub fn auto_register(mut self) -> Self {
        self.auto_register = true;
        self
    }

    /// Parses and compiles the document and binds every op to an implementation. A refusal is a
    /// typed [`OperonError`] naming what is wrong; a bug of the engine met on the way is an
    /// [`OperonError::Internal`], never a panic.
    pub fn build(self) -> Result<Operon> {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.build_now())) {
            Ok(built) => built,
            Err(panic) => Err(OperonError::Internal(format!("building the engine panicked: {}", panic_message(&*panic)))),
        }
    }

    fn build_now(self) -> Result<Operon> {
        let doc = schema::parse(&self.json)?;
        // Binding problems are collected before compiling so that an invalid graph reports them too.
        let registry = Registry::new(self.impls, self.auto_register);
        let mut problems = binding_problems(&doc, &registry);
        let plan = match plan::compile(&doc) {
            Ok(plan) => plan,
            Err(OperonError::Invalid { graph, problems: mut found }) => {
                found.extend(problems);
                return Err(OperonError::Invalid { graph, problems: found });
            }
            Err(e) => return Err(e),
        };
        problems.extend(crate::value::unsupported_constants(&plan));
        if !problems.is_empty() {
            return Err(OperonError::Invalid { graph: plan.name.clone(), problems });
        }
        let impls = bind(&plan, &registry).into();
        let facts = Arc::new(Facts::new(&plan));
        Ok(Operon { plan: Arc::new(plan), facts, impls, spare: Spare::default() })
    }
}

/// A compiled graph with its Rust ops, ready to run any number of times.
pub struct Operon {
    plan: Arc<Plan>,
    facts: Arc<Facts>,
    impls: Arc<[Option<Implementation>]>,
    /// The last run's buffers, for the next run.
    spare: Spare,
}

impl Operon {
    /// Starts building an engine from a graph document (schema 1.0).
    pub fn builder(json: impl Into<String>) -> OperonBuilder {
        OperonBuilder { json: json.into(), impls: FxHashMap::default(), auto_register: false }
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
        let inputs = run_inputs(plan, inputs)?;
        if self.impls.iter().any(|i| matches!(i, Some(Implementation::Async(_)))) {
            return Err(OperonError::Usage(format!(
                "graph '{}' has async ops: run it with Operon::run_json_async or Operon::start",
                plan.name
            )));
        }
        inline::run(&self.spare, (&self.plan, &self.facts), &self.impls, inputs, mode)
    }
}

/// The inputs of a run: an object (`null` is an empty one), else a [`OperonError::RunInputs`] error.
fn run_inputs(plan: &Plan, inputs: Value) -> Result<Value> {
    match inputs {
        Value::Null => Ok(Value::Object(Default::default())),
        Value::Object(_) => Ok(inputs),
        other => Err(OperonError::RunInputs { graph: plan.name.clone(), found: json_type(&other).into() }),
    }
}

/// Running on tokio: async ops, `bound="cpu"` ops on the blocking pool, streaming handles
/// ([`crate::drivers::tokio`]).
#[cfg(feature = "tokio")]
impl Operon {
    fn job(&self, inputs: Value, mode: ErrorMode, ids: RunIds, tracers: Vec<Arc<dyn Tracer>>) -> Job<'_> {
        Job { plan: &self.plan, facts: &self.facts, impls: &self.impls, spare: &self.spare, inputs, mode, ids, tracers }
    }

    /// Starts a run on the current tokio runtime and returns its streaming handle (dropping the
    /// handle cancels the run). The ids are handed to the tracers with the run's summary;
    /// `tracer_override` are the run's tracers. Outside a tokio runtime, a
    /// [`OperonError::Usage`] error.
    pub fn start(
        &self,
        inputs: Map<String, Value>,
        user_id: Option<String>,
        session_id: Option<String>,
        request_id: Option<String>,
        tracer_override: Option<Vec<Arc<dyn Tracer>>>,
    ) -> Result<ExecutionHandle> {
        let ids = RunIds { user_id, session_id, request_id };
        let job = self.job(Value::Object(inputs), ErrorMode::Raise, ids, tracer_override.unwrap_or_default());
        crate::drivers::tokio::spawn(job)
    }

    /// [`Operon::start`] with inputs as a JSON value (an object) and an error mode.
    pub fn start_with(&self, inputs: Value, mode: ErrorMode) -> Result<ExecutionHandle> {
        let inputs = run_inputs(&self.plan, inputs)?;
        crate::drivers::tokio::spawn(self.job(inputs, mode, RunIds::default(), Vec::new()))
    }

    /// Runs the graph once in the calling task and returns its result: the frames grouped by key,
    /// a key seen once as its value, several as a list. The first op error fails the run. A graph
    /// of sync ops runs to its end in the first poll (nothing is spawned).
    pub async fn run_json_async(
        &self,
        inputs: Map<String, Value>,
        user_id: Option<String>,
        session_id: Option<String>,
        request_id: Option<String>,
    ) -> Result<Value> {
        let ids = RunIds { user_id, session_id, request_id };
        crate::drivers::tokio::run_result(self.job(Value::Object(inputs), ErrorMode::Raise, ids, Vec::new())).await
    }

    /// [`Operon::run_json_async`] with inputs as a JSON value and an error mode, returning
    /// everything the run produced (as [`Operon::run_with`] does).
    pub async fn run_async_with(&self, inputs: Value, mode: ErrorMode) -> Result<RunOutput> {
        let inputs = run_inputs(&self.plan, inputs)?;
        crate::drivers::tokio::run_output(self.job(inputs, mode, RunIds::default(), Vec::new())).await
    }

    /// [`Operon::run_json_async`], blocking the calling thread (on a new current-thread tokio
    /// runtime when the graph has async or cpu ops). Called inside a tokio runtime (where blocking
    /// would stall it) it is a [`OperonError::Usage`] error: await `run_json_async` there.
    pub fn run_json(
        &self,
        inputs: Map<String, Value>,
        user_id: Option<String>,
        session_id: Option<String>,
        request_id: Option<String>,
    ) -> Result<Value> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(OperonError::Usage(format!(
                "Operon::run_json on graph '{}' blocks the thread, and it was called inside a tokio runtime: use \
                 `engine.run_json_async(inputs, user_id, session_id, request_id).await` there",
                self.plan.name
            )));
        }
        let ids = RunIds { user_id, session_id, request_id };
        crate::drivers::tokio::block_on(self.job(Value::Object(inputs), ErrorMode::Raise, ids, Vec::new()))
    }
}
