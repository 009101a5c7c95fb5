//! [`Middleware`]: hooks around the runs of [`crate::Operon::run_json_async`] and
//! [`crate::Operon::run_json`] (not [`crate::Operon::start`], which streams a run as it is, as in
//! the published crate). Registered with [`crate::OperonBuilder::middleware`] or
//! [`crate::Operon::use_middleware`].
//!
//! The chain: every `before_run` in the order registered (each gets the inputs the one before it
//! returned), the run, then every `after_run` in reverse order (each gets the result the one after
//! it returned); when the run fails, every `on_error` in reverse order instead. An engine with no
//! middleware runs with no chain at all (one test per run).
//!
//! The trait is the published crate's, declared with [`async_trait`](macro@crate::async_trait):
//! an implementation is written with `#[async_trait]` too (from the `async-trait` crate, or
//! `operonx::async_trait`).
//!
//! ```
//! use std::sync::Arc;
//! use operonx::{async_trait, Middleware, MiddlewareContext, Operon, OperonError};
//! use serde_json::{json, Map, Value};
//!
//! /// Adds a default input, and the request id to the result.
//! struct Stamp;
//!
//! #[async_trait]
//! impl Middleware for Stamp {
//!     async fn before_run(&self, mut inputs: Map<String, Value>, _ctx: &MiddlewareContext)
//!         -> Result<Map<String, Value>, OperonError> {
//!         inputs.entry("x").or_insert(json!(10));
//!         Ok(inputs)
//!     }
//!     async fn after_run(&self, _inputs: &Map<String, Value>, mut result: Map<String, Value>,
//!         ctx: &MiddlewareContext) -> Result<Map<String, Value>, OperonError> {
//!         result.insert("request".into(), json!(ctx.request_id));
//!         Ok(result)
//!     }
//! }
//!
//! let doc = json!({
//!     "schema_version": "1.0", "type": "graph", "name": "g",
//!     "ops": {"inc": {"type": "code", "inputs": {"x": {"required": true, "ref": {"source": "g", "var": "x"}}}}},
//!     "edges": [], "entries": ["inc"], "exits": ["inc"]
//! });
//! let engine = Operon::builder(&doc.to_string())
//!     .op("inc", |i: Map<String, Value>| Ok(json!({"y": i["x"].as_i64().unwrap_or(0) + 1})))
//!     .middleware(Arc::new(Stamp))
//!     .build()?;
//! let out = engine.run_json(Map::new(), None, None, Some("r-1".into()))?;
//! assert_eq!(out, json!({"y": 11, "request": "r-1"}));
//! # Ok::<(), OperonError>(())
//! ```

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::error::OperonError;
use crate::trace::RunIds;

/// What every hook of one run is told about it. Ids not given to the run are made up (a new
/// UUID each), as in the published crate, so that they can be logged and correlated.
#[doc = include_str!("../doc/middleware/MiddlewareContext.md")]
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MiddlewareContext {
    /// The user the run is for.
    pub user_id: String,
    /// The session the run belongs to.
    pub session_id: String,
    /// The request that started the run.
    pub request_id: String,
    /// Anything else the caller attaches.
    pub extra: Map<String, Value>,
}

impl MiddlewareContext {
    /// The context of a run started with `ids`, each missing one made up.
    #[doc = include_str!("../doc/middleware/MiddlewareContext.from_ids.md")]
    pub fn from_ids(ids: RunIds) -> Self {
        let ids = ids.filled();
        MiddlewareContext {
            user_id: ids.user_id.unwrap_or_default(),
            session_id: ids.session_id.unwrap_or_default(),
            request_id: ids.request_id.unwrap_or_default(),
            extra: Map::new(),
        }
    }

    /// The context's ids, all set.
    #[doc = include_str!("../doc/middleware/MiddlewareContext.ids.md")]
    pub fn ids(&self) -> RunIds {
        RunIds {
            user_id: Some(self.user_id.clone()),
            session_id: Some(self.session_id.clone()),
            request_id: Some(self.request_id.clone()),
        }
    }
}

/// Hooks around a run (the published crate's trait). Every hook has a default that changes
/// nothing: implement those you need.
#[doc = include_str!("../doc/middleware/Middleware.md")]
#[async_trait]
pub trait Middleware: Send + Sync {
    /// Before the run: returns the inputs the run (or the next middleware) gets. An error ends
    /// the call with it: the graph does not run, and no `on_error` is called.
    #[doc = include_str!("../doc/middleware/Middleware.before_run.md")]
    async fn before_run(
        &self,
        inputs: Map<String, Value>,
        _ctx: &MiddlewareContext,
    ) -> Result<Map<String, Value>, OperonError> {
        Ok(inputs)
    }

    /// After a run that succeeded: returns the result the caller (or the middleware registered
    /// before this one) gets. `inputs` are those the run got. An error ends the call with it.
    #[doc = include_str!("../doc/middleware/Middleware.after_run.md")]
    async fn after_run(
        &self,
        _inputs: &Map<String, Value>,
        result: Map<String, Value>,
        _ctx: &MiddlewareContext,
    ) -> Result<Map<String, Value>, OperonError> {
        Ok(result)
    }

    /// After a run that failed, with its error. Returning `Err(e)` makes `e` the error the
    /// middleware registered before this one, and then the caller, get; `Ok(())` leaves the error
    /// as it was. The call fails either way.
    #[doc = include_str!("../doc/middleware/Middleware.on_error.md")]
    async fn on_error(
        &self,
        _inputs: &Map<String, Value>,
        error: OperonError,
        _ctx: &MiddlewareContext,
    ) -> Result<(), OperonError> {
        Err(error)
    }
}

/// Runs `run` (the graph, over the inputs it is given) inside the chain of `chain`.
#[doc = include_str!("../doc/middleware/around.md")]
pub async fn around<F, Fut>(
    chain: &[Arc<dyn Middleware>],
    mut inputs: Map<String, Value>,
    ctx: &MiddlewareContext,
    run: F,
) -> Result<Value, OperonError>
where
    F: FnOnce(Map<String, Value>) -> Fut,
    Fut: std::future::Future<Output = Result<Value, OperonError>>,
{
    for mw in chain {
        inputs = mw.before_run(inputs, ctx).await?;
    }
    let outcome = run(inputs.clone()).await;
    let value = match outcome {
        Ok(value) => value,
        Err(mut error) => {
            for mw in chain.iter().rev() {
                if let Err(mapped) = mw.on_error(&inputs, error.clone(), ctx).await {
                    error = mapped;
                }
            }
            return Err(error);
        }
    };
    let mut result = match value {
        Value::Object(map) => map,
        other => Map::from_iter([("$collected".to_string(), other)]),
    };
    for mw in chain.iter().rev() {
        result = mw.after_run(&inputs, result, ctx).await?;
    }
    Ok(Value::Object(result))
}
