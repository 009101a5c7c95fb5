//! Middleware: the order of the hooks, inputs and results they change, errors they map, and
//! where the chain does not apply.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use operonx::{async_trait, Middleware, MiddlewareContext, Operon, OperonError};
use serde_json::{json, Map, Value};

async fn within<T>(f: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), f).await.expect("timed out: the run or a hook hung")
}

type Log = Arc<Mutex<Vec<String>>>;

/// Logs its hooks; with `tag`, adds its name to the inputs and to the result; with `map`, replaces
/// the error by one naming it; with `fail_before` / `fail_after`, fails that hook.
#[derive(Default)]
struct Hooks {
    name: &'static str,
    log: Log,
    tag: bool,
    map: bool,
    fail_before: bool,
    fail_after: bool,
}

#[async_trait]
impl Middleware for Hooks {
    async fn before_run(
        &self,
        mut inputs: Map<String, Value>,
        ctx: &MiddlewareContext,
    ) -> Result<Map<String, Value>, OperonError> {
        self.log.lock().unwrap().push(format!("before {} {}", self.name, ctx.request_id));
        if self.fail_before {
            return Err(OperonError::Config(format!("{} refuses", self.name)));
        }
        if self.tag {
            let seen = inputs.get("seen").and_then(Value::as_str).unwrap_or_default().to_string();
            inputs.insert("seen".into(), json!(seen + self.name));
        }
        Ok(inputs)
    }

    async fn after_run(
        &self,
        inputs: &Map<String, Value>,
        mut result: Map<String, Value>,
        _ctx: &MiddlewareContext,
    ) -> Result<Map<String, Value>, OperonError> {
        self.log.lock().unwrap().push(format!("after {} {}", self.name, inputs["x"]));
        if self.fail_after {
            return Err(OperonError::Runtime(format!("{} broke the result", self.name)));
        }
        if self.tag {
            let trail = result.get("trail").and_then(Value::as_str).unwrap_or_default().to_string();
            result.insert("trail".into(), json!(trail + self.name));
        }
        Ok(result)
    }

    async fn on_error(
        &self,
        _inputs: &Map<String, Value>,
        error: OperonError,
        _ctx: &MiddlewareContext,
    ) -> Result<(), OperonError> {
        self.log.lock().unwrap().push(format!("error {} {error}", self.name));
        if self.map {
            return Err(OperonError::Runtime(format!("{} saw: {error}", self.name)));
        }
        Ok(())
    }
}

/// One op `inc`: `{"y": x + 1}`, failing when `x` is negative; counts its calls.
fn engine(calls: &Arc<AtomicUsize>) -> operonx::OperonBuilder {
    let doc = json!({
        "schema_version": "1.0", "type": "graph", "name": "g", "full_name": "g",
        "ops": {"inc": {"type": "code", "inputs": {
            "x": {"required": true, "ref": {"source": "g", "var": "x"}},
            "seen": {"required": false, "default": "", "ref": {"source": "g", "var": "seen"}}}}},
        "edges": [], "entries": ["inc"], "exits": ["inc"]
    });
    let calls = Arc::clone(calls);
    Operon::builder(doc.to_string()).op("inc", move |m: Map<String, Value>| {
        calls.fetch_add(1, Ordering::SeqCst);
        let x = m["x"].as_i64().unwrap_or(0);
        if x < 0 {
            return Err(OperonError::Runtime("x is negative".into()));
        }
        Ok(json!({"y": x + 1, "seen": m.get("seen").cloned().unwrap_or(Value::Null)}))
    })
}

fn x(v: i64) -> Map<String, Value> {
    Map::from_iter([("x".to_string(), json!(v))])
}

fn hooks(name: &'static str, log: &Log) -> Hooks {
    Hooks { name, log: Arc::clone(log), tag: true, ..Hooks::default() }
}

fn taken(log: &Log) -> Vec<String> {
    std::mem::take(&mut *log.lock().unwrap())
}

#[tokio::test]
async fn before_run_runs_in_order_and_after_run_in_reverse_changing_inputs_and_result() {
    let (log, calls) = (Log::default(), Arc::new(AtomicUsize::new(0)));
    let mut engine =
        engine(&calls).middleware(Arc::new(hooks("A", &log))).middleware(Arc::new(hooks("B", &log))).build().unwrap();
    engine.use_middleware(Arc::new(hooks("C", &log)));
    let out = within(engine.run_json_async(x(1), None, None, Some("r".into()))).await.unwrap();
    assert_eq!(out, json!({"y": 2, "seen": "ABC", "trail": "CBA"}));
    assert_eq!(taken(&log), ["before A r", "before B r", "before C r", "after C 1", "after B 1", "after A 1"]);
}

#[tokio::test]
async fn on_error_runs_in_reverse_and_may_replace_the_error() {
    let (log, calls) = (Log::default(), Arc::new(AtomicUsize::new(0)));
    let mapper = Hooks { map: true, ..hooks("B", &log) };
    let engine = engine(&calls)
        .middleware(Arc::new(hooks("A", &log)))
        .middleware(Arc::new(mapper))
        .middleware(Arc::new(hooks("C", &log)))
        .build()
        .unwrap();
    let err = within(engine.run_json_async(x(-1), None, None, None)).await.unwrap_err();
    assert!(matches!(&err, OperonError::Runtime(m) if m.starts_with("B saw: op 'g.inc'")), "{err}");
    let log = taken(&log);
    assert_eq!(log.len(), 6, "{log:?}");
    assert!(log[3].starts_with("error C op 'g.inc' of graph 'g' failed") && log[3].ends_with("x is negative"));
    assert!(log[4].starts_with("error B op 'g.inc'"));
    assert!(log[5].starts_with("error A runtime: B saw: op 'g.inc'"), "A gets the error B made: {}", log[5]);
}

#[tokio::test]
async fn a_failing_before_run_stops_the_call_before_the_graph_runs() {
    let (log, calls) = (Log::default(), Arc::new(AtomicUsize::new(0)));
    let refuse = Hooks { fail_before: true, ..hooks("B", &log) };
    let engine = engine(&calls)
        .middleware(Arc::new(hooks("A", &log)))
        .middleware(Arc::new(refuse))
        .middleware(Arc::new(hooks("C", &log)))
        .build()
        .unwrap();
    let err = within(engine.run_json_async(x(1), None, None, Some("r".into()))).await.unwrap_err();
    assert!(matches!(&err, OperonError::Config(m) if m == "B refuses"), "{err}");
    assert_eq!(taken(&log), ["before A r", "before B r"], "no on_error, no later hook");
    assert_eq!(calls.load(Ordering::SeqCst), 0, "the graph did not run");
}

#[tokio::test]
async fn a_failing_after_run_is_the_error_of_the_call() {
    let (log, calls) = (Log::default(), Arc::new(AtomicUsize::new(0)));
    let broken = Hooks { fail_after: true, ..hooks("B", &log) };
    let engine = engine(&calls).middleware(Arc::new(hooks("A", &log))).middleware(Arc::new(broken)).build().unwrap();
    let err = within(engine.run_json_async(x(1), None, None, Some("r".into()))).await.unwrap_err();
    assert!(matches!(&err, OperonError::Runtime(m) if m == "B broke the result"), "{err}");
    assert_eq!(taken(&log), ["before A r", "before B r", "after B 1"]);
}

#[test]
fn run_json_applies_the_chain_and_hooks_may_use_tokio() {
    struct Sleepy;
    #[async_trait]
    impl Middleware for Sleepy {
        async fn before_run(
            &self,
            mut inputs: Map<String, Value>,
            _ctx: &MiddlewareContext,
        ) -> Result<Map<String, Value>, OperonError> {
            tokio::time::sleep(Duration::from_millis(1)).await;
            inputs.insert("x".into(), json!(41));
            Ok(inputs)
        }
    }
    let calls = Arc::new(AtomicUsize::new(0));
    let engine = engine(&calls).middleware(Arc::new(Sleepy)).build().unwrap();
    assert_eq!(engine.run_json(x(0), None, None, None).unwrap()["y"], json!(42));
    // still refused inside a runtime, where blocking would stall it
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let inside = rt.block_on(async { engine.run_json(x(0), None, None, None) });
    assert!(matches!(inside, Err(OperonError::Usage(_))));
}

#[tokio::test]
async fn hooks_see_the_ids_given_and_made_up_ids_otherwise() {
    #[derive(Default)]
    struct Ids(Mutex<Vec<MiddlewareContext>>);
    #[async_trait]
    impl Middleware for Ids {
        async fn after_run(
            &self,
            _inputs: &Map<String, Value>,
            result: Map<String, Value>,
            ctx: &MiddlewareContext,
        ) -> Result<Map<String, Value>, OperonError> {
            self.0.lock().unwrap().push(ctx.clone());
            Ok(result)
        }
    }
    let ids = Arc::new(Ids::default());
    let engine = engine(&Arc::new(AtomicUsize::new(0))).middleware(ids.clone()).build().unwrap();
    within(engine.run_json_async(x(1), Some("u".into()), Some("s".into()), Some("r".into()))).await.unwrap();
    within(engine.run_json_async(x(1), None, None, None)).await.unwrap();
    let seen = ids.0.lock().unwrap().clone();
    assert_eq!((seen[0].user_id.as_str(), seen[0].session_id.as_str(), seen[0].request_id.as_str()), ("u", "s", "r"));
    for id in [&seen[1].user_id, &seen[1].session_id, &seen[1].request_id] {
        assert_eq!(id.len(), 36, "a UUID: {id}");
    }
    assert_ne!(seen[1].request_id, seen[1].session_id);
}

#[tokio::test]
async fn start_streams_the_run_without_the_chain() {
    let (log, calls) = (Log::default(), Arc::new(AtomicUsize::new(0)));
    let engine = engine(&calls).middleware(Arc::new(hooks("A", &log))).build().unwrap();
    let mut handle = engine.start(x(1), None, None, None, None).unwrap();
    let frame = within(handle.next()).await.unwrap().unwrap();
    assert_eq!(frame.data["y"], json!(2));
    assert_eq!(within(handle.result(true)).await.unwrap(), json!({"y": 2, "seen": ""}));
    assert!(taken(&log).is_empty());
}
