//! Running a graph from Rust: `Operon::builder(json).op("name", f).build()?.run(inputs)`.
//! Ops are Rust functions over JSON values, called inline in FIFO order.

use std::path::PathBuf;
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
pub use crate::options::EngineOptions;
use crate::run::Facts;
pub use crate::run::Frame;
use crate::scheduler::ErrorMode;
use crate::trace::Tracer;
use crate::value::json_type;
#[cfg(feature = "tokio")]
use crate::middleware::Middleware;

#[cfg(feature = "tokio")]
mod run_async;

/// Builds an [`Operon`] from a graph document and Rust op implementations.
#[doc = include_str!("../doc/engine/OperonBuilder.md")]
pub struct OperonBuilder {
    json: String,
    impls: FxHashMap<String, Implementation>,
    auto_register: bool,
    tracers: Vec<Arc<dyn Tracer>>,
    #[cfg(feature = "tokio")]
    middleware: Vec<Arc<dyn Middleware>>,
    options: EngineOptions,
}

impl OperonBuilder {
    /// Registers the implementation of every op whose `func_name` (or name) is `name`: a function
    /// of the op's inputs, by value, returning its outputs (an object; `null` is no output).
    #[doc = include_str!("../doc/engine/OperonBuilder.op.md")]
    pub fn op<F>(mut self, name: impl Into<String>, f: F) -> Self
    where
        F: Fn(Map<String, Value>) -> Result<Value, OperonError> + Send + Sync + 'static,
    {
        self.impls.insert(name.into(), Implementation::Map(Arc::new(f)));
        self
    }

    /// Registers an op over borrowed inputs (the fast path: no map is built for the call).
    #[doc = include_str!("../doc/engine/OperonBuilder.op_ref.md")]
    pub fn op_ref(mut self, name: impl Into<String>, f: impl RustOp + 'static) -> Self {
        self.impls.insert(name.into(), Implementation::Op(Arc::new(f)));
        self
    }

    /// Registers an async op: each call returns a future of the op's outputs. Async ops run on
    /// the tokio driver.
    #[doc = include_str!("../doc/engine/OperonBuilder.op_async.md")]
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
    #[doc = include_str!("../doc/engine/OperonBuilder.gen.md")]
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

    /// Adds a tracer: it receives the trace of every run of the engine (see [`crate::trace`]).
    #[doc = include_str!("../doc/engine/OperonBuilder.tracer.md")]
    pub fn tracer(mut self, tracer: Arc<dyn Tracer>) -> Self {
        self.tracers.push(tracer);
        self
    }

    /// Adds a middleware around the runs of [`Operon::run_json_async`] and [`Operon::run_json`]
    /// (see [`crate::middleware`]).
    #[doc = include_str!("../doc/engine/OperonBuilder.middleware.md")]
    #[cfg(feature = "tokio")]
    pub fn middleware(mut self, mw: Arc<dyn Middleware>) -> Self {
        self.middleware.push(mw);
        self
    }

    /// The `resources.yaml` of the engine's resource hub ([`crate::resources`]): `build()` loads it
    /// (`${VAR}` from the environment) and fails naming it when it does not exist or does not parse;
    /// an unset variable is logged and fails the resource when it is used. See
    /// [`crate::options`] for how the options combine.
    #[doc = include_str!("../doc/engine/OperonBuilder.resources.md")]
    pub fn resources(mut self, path: impl Into<PathBuf>) -> Self {
        self.options.set_resources(path.into());
        self
    }

    /// The engine uses this hub (loaded beforehand; an op's closure may hold the same `Arc`).
    #[cfg(feature = "resources")]
    pub fn resource_hub(mut self, hub: Arc<crate::resources::ResourceHub>) -> Self {
        self.options.set_hub(hub);
        self
    }

    /// With `true`, `build()` loads `./.env` of the current directory into the process
    /// environment when there is one (variables the environment already has are kept); a file
    /// that cannot be read fails `build()`. Off by default.
    #[doc = include_str!("../doc/engine/OperonBuilder.load_dotenv.md")]
    pub fn load_dotenv(mut self, enable: bool) -> Self {
        self.options.set_load_dotenv(enable);
        self
    }

    /// The engine's hub is empty, whatever the process-wide hub (a graph with a provider op is
    /// refused by `build()` in any case, for now).
    #[doc = include_str!("../doc/engine/OperonBuilder.no_resources.md")]
    pub fn no_resources(mut self) -> Self {
        self.options.set_no_resources();
        self
    }

    /// Whether the engine's hub (from [`resources`](Self::resources) or
    /// [`resource_hub`](Self::resource_hub)) becomes the process-wide hub read by
    /// `operonx::resources::get` when none is installed yet (true by default).
    #[doc = include_str!("../doc/engine/OperonBuilder.install_global_hub.md")]
    pub fn install_global_hub(mut self, enable: bool) -> Self {
        self.options.set_install_global_hub(enable);
        self
    }

    /// Parses and compiles the document and binds every op to an implementation. A refusal is a
    /// typed [`OperonError`] naming what is wrong; a bug of the engine met on the way is an
    /// [`OperonError::Internal`], never a panic.
    ///
    /// Then applies the options ([`crate::options`]): [`load_dotenv`](Self::load_dotenv) loads
    /// `.env`, and the engine's resource hub is loaded or chosen; a
    /// [`resources`](Self::resources) file that does not exist is an [`OperonError::Config`] error
    /// naming it.
    #[doc = include_str!("../doc/engine/OperonBuilder.build.md")]
    pub fn build(self) -> Result<Operon> {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.build_now())) {
            Ok(built) => built,
            Err(panic) => Err(OperonError::Internal(format!("building the engine panicked: {}", panic_message(&*panic)))),
        }
    }

    fn build_now(mut self) -> Result<Operon> {
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
        #[cfg(feature = "resources")]
        let hub = self.options.apply()?;
        #[cfg(not(feature = "resources"))]
        self.options.apply()?;
        let impls = bind(&plan, &registry).into();
        let facts = Arc::new(Facts::new(&plan));
        Ok(Operon {
            plan: Arc::new(plan),
            facts,
            impls,
            spare: Spare::default(),
            tracers: self.tracers,
            #[cfg(feature = "tokio")]
            middleware: self.middleware,
            options: self.options,
            #[cfg(feature = "resources")]
            hub,
        })
    }
}

/// A compiled graph with its Rust ops, ready to run any number of times.
#[doc = include_str!("../doc/engine/Operon.md")]
pub struct Operon {
    plan: Arc<Plan>,
    facts: Arc<Facts>,
    impls: Arc<[Option<Implementation>]>,
    /// The last run's buffers, for the next run.
    spare: Spare,
    tracers: Vec<Arc<dyn Tracer>>,
    #[cfg(feature = "tokio")]
    middleware: Vec<Arc<dyn Middleware>>,
    options: EngineOptions,
    #[cfg(feature = "resources")]
    hub: Arc<crate::resources::ResourceHub>,
}

impl std::fmt::Debug for Operon {
    /// The graph's name and how many ops, tracers and middleware the engine has.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("Operon");
        d.field("name", &self.plan.name).field("ops", &self.plan.ops.len()).field("tracer_count", &self.tracers.len());
        #[cfg(feature = "tokio")]
        d.field("middleware_count", &self.middleware.len());
        d.finish()
    }
}

impl Operon {
    /// Starts building an engine from a graph document (schema 1.0).
    #[doc = include_str!("../doc/engine/Operon.builder.md")]
    pub fn builder(json: impl Into<String>) -> OperonBuilder {
        OperonBuilder {
            json: json.into(),
            impls: FxHashMap::default(),
            auto_register: false,
            tracers: Vec::new(),
            #[cfg(feature = "tokio")]
            middleware: Vec::new(),
            options: EngineOptions::default(),
        }
    }

    /// An engine of a graph document with no op registered and the default options
    /// (`Operon::builder(json).build()`). Unlike the published crate, whose engine is built and
    /// fails when a run reaches an op with no implementation, `build()` refuses a graph with a
    /// code op that has none, naming it: register ops with [`Operon::builder`], or `#[op]`
    /// functions with [`OperonBuilder::auto_register`].
    #[doc = include_str!("../doc/engine/Operon.new.md")]
    pub fn new(graph_json: &str) -> Result<Operon> {
        Operon::builder(graph_json).build()
    }

    /// The graph's name.
    #[doc = include_str!("../doc/engine/Operon.name.md")]
    pub fn name(&self) -> &str {
        &self.plan.name
    }

    /// How the engine was set up for resources and the environment.
    #[doc = include_str!("../doc/engine/Operon.options.md")]
    pub fn options(&self) -> &EngineOptions {
        &self.options
    }

    /// The engine's resource hub (see [`crate::options`] for where it comes from).
    #[cfg(feature = "resources")]
    pub fn resources(&self) -> &Arc<crate::resources::ResourceHub> {
        &self.hub
    }

    /// The tracers that receive the trace of each run.
    #[doc = include_str!("../doc/engine/Operon.tracers.md")]
    pub fn tracers(&self) -> &[Arc<dyn Tracer>] {
        &self.tracers
    }

    /// Adds a middleware around the runs of [`Operon::run_json_async`] and [`Operon::run_json`]
    /// (after those of the builder).
    #[doc = include_str!("../doc/engine/Operon.use_middleware.md")]
    #[cfg(feature = "tokio")]
    pub fn use_middleware(&mut self, mw: Arc<dyn Middleware>) -> &mut Self {
        self.middleware.push(mw);
        self
    }

    /// The compiled plan.
    #[doc = include_str!("../doc/engine/Operon.plan.md")]
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Runs the graph once; the first op error fails the run.
    #[doc = include_str!("../doc/engine/Operon.run.md")]
    pub fn run(&self, inputs: Value) -> Result<RunOutput> {
        self.run_with(inputs, ErrorMode::Raise)
    }

    /// Runs the graph once with the given error mode.
    #[doc = include_str!("../doc/engine/Operon.run_with.md")]
    pub fn run_with(&self, inputs: Value, mode: ErrorMode) -> Result<RunOutput> {
        let plan = &*self.plan;
        let inputs = run_inputs(plan, inputs)?;
        if self.impls.iter().any(|i| matches!(i, Some(Implementation::Async(_)))) {
            return Err(OperonError::Usage(format!(
                "graph '{}' has async ops: run it with Operon::run_json_async or Operon::start",
                plan.name
            )));
        }
        inline::run(&self.spare, (&self.plan, &self.facts), &self.impls, inputs, mode, &self.tracers)
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
