//! A program written the way the published crate's users write middleware, tracers and the
//! builder's options (its imports, `#[async_trait]` from the `async-trait` crate, its trait
//! methods and defaults): it compiles and runs unchanged.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use operonx::core::middleware::{Middleware, MiddlewareContext};
use operonx::core::tracing::{LocalTracer, TraceData, TraceFilter, Tracer};
use operonx::{CollectMode, ExecutionHandle, Operon, OperonBuilder, OperonError};
use serde_json::{Map, Value};

/// Counts runs and ops, with the published trait's optional methods overridden.
#[derive(Debug)]
struct CountingTracer {
    seen: Arc<Mutex<Vec<(String, usize)>>>,
    tags: Vec<String>,
    filter: TraceFilter,
}

impl Tracer for CountingTracer {
    fn name(&self) -> &str {
        "counting"
    }

    fn tags(&self) -> &[String] {
        &self.tags
    }

    fn stream_trace_limit(&self) -> Option<usize> {
        None
    }

    fn trace_filter(&self) -> Option<&TraceFilter> {
        Some(&self.filter)
    }

    fn to_config_dict(&self) -> Option<serde_json::Value> {
        Some(serde_json::json!({"type": "counting"}))
    }

    fn flush(&self, trace: &TraceData) -> Result<(), OperonError> {
        let ops = trace.nodes.iter().filter(|n| n.op_name.is_some()).count();
        self.seen.lock().unwrap().push((trace.request_id.clone(), ops));
        Ok(())
    }
}

/// Logs calls; adds a default `x`.
struct LogMiddleware {
    log: Arc<Mutex<Vec<String>>>,
}

#[async_trait]
impl Middleware for LogMiddleware {
    async fn before_run(
        &self,
        mut inputs: Map<String, Value>,
        ctx: &MiddlewareContext,
    ) -> Result<Map<String, Value>, OperonError> {
        self.log.lock().unwrap().push(format!("start {}", ctx.request_id));
        inputs.entry("x".to_string()).or_insert(Value::from(5));
        Ok(inputs)
    }

    async fn on_error(
        &self,
        _inputs: &Map<String, Value>,
        error: OperonError,
        ctx: &MiddlewareContext,
    ) -> Result<(), OperonError> {
        self.log.lock().unwrap().push(format!("failed {}: {}", ctx.request_id, error));
        Err(error)
    }
}

/// A middleware with every hook left to its default.
struct Noop;

#[async_trait]
impl Middleware for Noop {}

/// The published crate's own tracer test graph, as it writes it.
fn graph_json() -> String {
    r#"{
        "schema_version": "1.0",
        "type": "graph",
        "name": "main",
        "full_name": "main",
        "entries": ["double"],
        "exits": ["double"],
        "initial_ready_count": {"double": 0},
        "compiled_adj": {"double": []},
        "inputs": {"x": {"required": true}},
        "outputs": {"result": {}},
        "ops": {
            "double": {
                "type": "code",
                "name": "double",
                "full_name": "main.double",
                "func_name": "double",
                "bound": "sync",
                "inputs": {
                    "x": {
                        "required": true,
                        "ref": {"source": "__PARENT__", "var": "x"}
                    }
                },
                "outputs": {
                    "result": {
                        "ref": {
                            "source": "__PARENT__",
                            "var": "result",
                            "is_output": true
                        }
                    }
                }
            }
        }
    }"#
    .to_string()
}

fn builder() -> OperonBuilder {
    Operon::builder(graph_json()).no_resources().install_global_hub(false).load_dotenv(false).op("double", |inputs| {
        let x = inputs.get("x").and_then(|v| v.as_i64()).ok_or_else(|| OperonError::Runtime("x missing".into()))?;
        if x < 0 {
            return Err(OperonError::Runtime("negative".into()));
        }
        Ok(serde_json::json!({"result": x * 2}))
    })
}

#[tokio::test]
async fn middleware_tracers_and_options_written_for_the_published_crate_run() {
    tokio::time::timeout(Duration::from_secs(20), async {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::new(Mutex::new(Vec::new()));
        let tracer = CountingTracer { seen: seen.clone(), tags: vec!["prod".into()], filter: TraceFilter::default() };
        let mut engine = builder()
            .tracer(Arc::new(tracer))
            .middleware(Arc::new(LogMiddleware { log: log.clone() }))
            .build()
            .unwrap();
        engine.use_middleware(Arc::new(Noop));
        assert_eq!(engine.name(), "main");

        let result = engine.run_json_async(Map::new(), None, None, Some("req-1".to_string())).await.unwrap();
        assert_eq!(result["result"], Value::from(10));

        let mut bad = Map::new();
        bad.insert("x".into(), Value::from(-1));
        let err = engine.run_json_async(bad, None, None, Some("req-2".to_string())).await.unwrap_err();
        assert!(err.to_string().contains("negative"));

        let mut inputs = Map::new();
        inputs.insert("x".into(), Value::from(7));
        let local = std::env::temp_dir().join(format!("operonx-published-hooks-{}", std::process::id()));
        let override_tracers: Vec<Arc<dyn Tracer>> = vec![Arc::new(LocalTracer::new(Some(local.clone()), vec![]))];
        let mut handle: ExecutionHandle =
            engine.start(inputs, None, None, Some("req-3".into()), Some(override_tracers)).unwrap();
        let ctx: &MiddlewareContext = handle.context();
        assert_eq!(ctx.request_id, "req-3");
        assert!(!ctx.user_id.is_empty());
        while let Some(frame) = handle.next().await {
            assert_eq!(frame.unwrap().data["result"], Value::from(14));
        }
        assert_eq!(
            ExecutionHandle::collect(&mut handle, CollectMode::Group, true).await.unwrap(),
            serde_json::json!({})
        );

        let log = log.lock().unwrap().clone();
        assert_eq!(log[0], "start req-1");
        assert_eq!(log[1], "start req-2");
        assert!(log[2].starts_with("failed req-2: "));
        assert_eq!(log.len(), 3, "start() applies no middleware");

        let waited = tokio::task::spawn_blocking(move || {
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            while !local.join("req-3.json").exists() || seen.lock().unwrap().len() < 2 {
                assert!(std::time::Instant::now() < deadline, "the traces did not arrive");
                operonx::trace::flush_pending(Duration::from_secs(5));
                std::thread::sleep(Duration::from_millis(5));
            }
            let _ = std::fs::remove_dir_all(&local);
            seen.lock().unwrap().clone()
        });
        let mut seen = waited.await.unwrap();
        seen.sort();
        assert_eq!(seen, [("req-1".to_string(), 1), ("req-2".to_string(), 1)]);
    })
    .await
    .expect("timed out");
}
