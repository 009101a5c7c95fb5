//! The one error type of the engine. The Python bindings map each variant to an exception class.

use std::fmt;

/// One problem found while validating a graph document.
#[doc = include_str!("../doc/error/Problem.md")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// A short machine-readable kind: `empty`, `no_entry`, `no_exit`, `unknown_op`, `unknown_ref`,
    /// `cycle`, `not_upstream` (a ref to an op with no path of edges to its reader), `no_edges` (a graph with
    /// neither `edges` nor `compiled_adj` whose ops are not all entries), `unreachable` (an op
    /// no path of edges from its graph's START reaches), `stream`, `unsupported`, `invalid`,
    /// `ambiguous_op` (an op calls a name several `#[op]` functions have), `duplicate_op` (two
    /// `#[op]` functions with one full name).
    pub category: &'static str,
    /// What is wrong, in words a person can act on.
    pub message: String,
    /// The op the problem is about, when there is one.
    pub op_name: Option<String>,
    /// The other end of the problem (an edge target, a ref source), when there is one.
    pub target_name: Option<String>,
}

impl Problem {
    /// A problem with no op attached.
    #[doc = include_str!("../doc/error/Problem.new.md")]
    pub fn new(category: &'static str, message: impl Into<String>) -> Self {
        Problem { category, message: message.into(), op_name: None, target_name: None }
    }

    /// Attaches the op the problem is about.
    #[doc = include_str!("../doc/error/Problem.op.md")]
    pub fn op(mut self, op: &str) -> Self {
        self.op_name = Some(op.to_string());
        self
    }

    /// Attaches the other end of the problem.
    #[doc = include_str!("../doc/error/Problem.target.md")]
    pub fn target(mut self, target: &str) -> Self {
        self.target_name = Some(target.to_string());
        self
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}", self.category, self.message)
    }
}

/// Every way the engine can fail. Errors are cloned when several consumers of one run (a stream,
/// `wait_for`, `result`) each receive the run's error.
#[doc = include_str!("../doc/error/OperonError.md")]
#[derive(Debug, Clone, thiserror::Error)]
pub enum OperonError {
    /// The graph document is not valid JSON or does not have the shape of schema 1.0.
    #[error("malformed graph document: {0}")]
    Malformed(String),

    /// The graph document declares a schema version this engine does not read.
    #[error("graph document has schema_version {found}; this engine reads schema_version \"1.0\"")]
    SchemaVersion {
        /// The version found in the document (`<missing>` when absent).
        found: String,
    },

    /// The graph failed validation; every problem found is listed.
    #[error("graph '{graph}' is invalid ({} problem{}):\n{}", problems.len(),
        if problems.len() == 1 { "" } else { "s" }, render_problems(problems))]
    Invalid {
        /// The graph's name.
        graph: String,
        /// Every problem found.
        problems: Vec<Problem>,
    },

    /// The inputs given to a run are not a mapping of input names to values.
    #[error("run inputs of graph '{graph}' must be a mapping of input names to values (a dict), not {found}")]
    RunInputs {
        /// The graph's name.
        graph: String,
        /// What was given instead (a type name).
        found: String,
    },

    /// A required input of an op has no value.
    #[error(
        "op '{op}' of graph '{graph}' is missing required input '{input}' (context {}){}; \
             bind it to PARENT[...], another op's output or a literal, or give the parameter a default",
        render_context(context),
        render_suggestion(suggestion)
    )]
    MissingInput {
        /// The graph's name.
        graph: String,
        /// The op's full name.
        op: String,
        /// The input's name.
        input: String,
        /// The context path of the op run.
        context: Vec<String>,
        /// A key the ref's source holds that looks like a typo of the one it reads.
        suggestion: Option<String>,
    },

    /// An op raised (or returned something that is not a mapping).
    #[error("op '{op}' of graph '{graph}' failed (context {}): {message}", render_context(context))]
    OpFailed {
        /// The graph's name.
        graph: String,
        /// The op's full name.
        op: String,
        /// The context path of the op run.
        context: Vec<String>,
        /// What went wrong.
        message: String,
    },

    /// The run was cancelled before it finished.
    #[error("run of graph '{graph}' was cancelled")]
    Cancelled {
        /// The graph's name.
        graph: String,
    },

    /// The engine was used in a way it does not support.
    #[error("{0}")]
    Usage(String),

    /// A bug in the engine (for example a caught panic).
    #[error("internal error in the operonx engine: {0}")]
    Internal(String),

    // The variants below are those of the published crate's error type, so that code written for
    // it (an op returning `Err(OperonError::Runtime(..))`, a `match` over them) compiles
    // unchanged. The engine itself raises them only where it says so.
    /// An op-level error of one category (what an op returns to fail).
    #[error(transparent)]
    Op(#[from] OpError),

    /// A model or service provider failed.
    #[error("provider error: {0}")]
    Provider(String),

    /// The resource hub could not give a resource.
    #[error("resource hub: {0}")]
    ResourceHub(String),

    /// A configuration is wrong (a missing `resources.yaml`, a bad setting).
    #[error("config: {0}")]
    Config(String),

    /// Run state could not be read or written.
    #[error("state: {0}")]
    State(String),

    /// Anything else that failed while running (the usual error of an op written in Rust).
    #[error("runtime: {0}")]
    Runtime(String),

    /// A `resources.yaml` or `.env` file that cannot be read or does not parse, or a
    /// `resources.yaml` whose shape is not that of named resources.
    #[error("{}{}: {message}", file.display(), line.map(|l| format!(", line {l}")).unwrap_or_default())]
    ResourceFile {
        /// The file.
        file: std::path::PathBuf,
        /// The line of the problem (1-based), when known.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },

    /// A document with a schema version other than `"1.0"`, as the published crate words it;
    /// this engine reports [`OperonError::SchemaVersion`] instead.
    #[error("schema: unsupported schema_version {0}; expected 1.0")]
    UnsupportedSchema(String),

    /// A `${VAR}` of `resources.yaml` names an environment variable that is not set (raised when
    /// the resource that reads it is used; loading the file only warns).
    #[error(
        "resource key '{key}' references unset environment variable {var:?} (in {}); set it in the \
         environment or in a .env file, or write ${{{var}:-default}}",
        source_path.as_ref().map_or_else(|| "<no file>".to_string(), |p| p.display().to_string())
    )]
    EnvVarUnset {
        /// The variable.
        var: String,
        /// The key that reads it: the resource and the path of the setting (`llm:gpt.api_key`).
        key: String,
        /// The `resources.yaml` it was read from.
        source_path: Option<std::path::PathBuf>,
        /// The `.env` files that were loaded.
        env_paths: Vec<std::path::PathBuf>,
    },
}

/// An op-level error, by category; an op returns one (inside [`OperonError::Op`]) to fail.
#[doc = include_str!("../doc/error/OpError.md")]
#[derive(Debug, Clone, thiserror::Error)]
pub enum OpError {
    /// Parsing an op's output failed.
    #[error("[PARSER] {0}")]
    Parser(String),
    /// A code op failed.
    #[error("[CODE] {0}")]
    Code(String),
    /// A branch could not decide.
    #[error("[BRANCH] {0}")]
    Branch(String),
    /// A loop condition failed.
    #[error("[WHILE] {0}")]
    Condition(String),
    /// A loop iteration failed.
    #[error("[FOR] {0}")]
    Iteration(String),
    /// Rendering a prompt failed.
    #[error("[PROMPT] {0}")]
    Prompt(String),
    /// An embedding call failed.
    #[error("[EMBEDDING] {0}")]
    Embedding(String),
    /// A rerank call failed.
    #[error("[RERANK] {0}")]
    Rerank(String),
}

impl From<serde_json::Error> for OperonError {
    fn from(e: serde_json::Error) -> Self {
        OperonError::Config(e.to_string())
    }
}

impl From<std::io::Error> for OperonError {
    fn from(e: std::io::Error) -> Self {
        OperonError::Runtime(e.to_string())
    }
}

/// `: did you mean 'k'?` for a suggested key, else nothing.
fn render_suggestion(suggestion: &Option<String>) -> String {
    suggestion.as_ref().map(|k| format!(": did you mean '{k}'? (its source has that key)")).unwrap_or_default()
}

/// A context path as Python shows the tuple: `('main', '[0]')`.
fn render_context(context: &[String]) -> String {
    match context {
        [one] => format!("('{one}',)"),
        _ => format!("({})", context.iter().map(|c| format!("'{c}'")).collect::<Vec<_>>().join(", ")),
    }
}

fn render_problems(problems: &[Problem]) -> String {
    problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n")
}

/// The engine's result type.
#[doc = include_str!("../doc/error/Result.md")]
pub type Result<T, E = OperonError> = std::result::Result<T, E>;

/// The text of a caught panic.
#[doc = include_str!("../doc/error/panic_message.md")]
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}
