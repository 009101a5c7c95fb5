//! Running a graph from Rust: `Operon::builder(json).op("name", f).build()?.run(inputs)`.
//! Ops are Rust functions over JSON values, called inline in FIFO order.

use std::sync::Arc;

use rustc_hash::FxHashMap;
use serde_json::{Map, Value};

use crate::drivers::inline;
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

    /// Parses and compiles the document and binds every op to an implementation.
    pub fn build(self) -> Result<Operon> {
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
        let impls = bind(&plan, &registry);
        let facts = Arc::new(Facts::new(&plan));
        Ok(Operon { plan: Arc::new(plan), facts, impls })
    }
}

/// A compiled graph with its Rust ops, ready to run any number of times.
pub struct Operon {
    plan: Arc<Plan>,
    facts: Arc<Facts>,
    impls: Vec<Option<Implementation>>,
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
        let inputs = match inputs {
            Value::Null => Value::Object(Default::default()),
            Value::Object(_) => inputs,
            other => return Err(OperonError::RunInputs { graph: plan.name.clone(), found: json_type(&other).into() }),
        };
        if self.impls.iter().any(|i| matches!(i, Some(Implementation::Async(_)))) {
            return Err(OperonError::Usage(format!(
                "graph '{}' has async ops: run it with Operon::run_json_async or Operon::start",
                plan.name
            )));
        }
        inline::run(&self.plan, &self.facts, &self.impls, inputs, mode)
    }
}
