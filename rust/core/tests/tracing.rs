//! Tracers: one trace per run, a span per op execution (loop iterations and stream items counted),
//! a failed op's span carrying its error, tracer_override, stream_trace_limit, filters, and a
//! tracer that fails or panics.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use operonx::ops::{Inputs, Items, Outputs};
use operonx::trace::{flush_pending, TraceData, TraceFilter, Tracer};
use operonx::{Operon, OperonError};
use serde_json::{json, Map, Value};

async fn within<T>(f: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), f).await.expect("timed out: the run or a consumer hung")
}

/// Keeps the traces it receives.
#[derive(Debug, Default)]
struct Keep {
    traces: Mutex<Vec<TraceData>>,
    limit: Option<Option<usize>>,
    filter: Option<TraceFilter>,
}

impl Keep {
    fn new() -> Arc<Self> {
        Arc::new(Keep::default())
    }

    /// Waits (at most 10 s) for `n` traces, then checks no other one comes.
    fn exactly(&self, n: usize) -> Vec<TraceData> {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.traces.lock().unwrap().len() < n {
            assert!(Instant::now() < deadline, "timed out waiting for {n} traces");
            assert!(flush_pending(Duration::from_secs(10)));
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(20));
        assert!(flush_pending(Duration::from_secs(10)));
        let traces = self.traces.lock().unwrap().clone();
        assert_eq!(traces.len(), n, "one trace per run");
        traces
    }
}

impl Tracer for Keep {
    fn name(&self) -> &str {
        "keep"
    }
    fn stream_trace_limit(&self) -> Option<usize> {
        self.limit.unwrap_or(Some(100))
    }
    fn trace_filter(&self) -> Option<&TraceFilter> {
        self.filter.as_ref()
    }
    fn flush(&self, trace: &TraceData) -> Result<(), OperonError> {
        self.traces.lock().unwrap().push(trace.clone());
        Ok(())
    }
}

fn code(func: &str, inputs: Value) -> Value {
    json!({"type": "code", "func_name": func, "inputs": inputs})
}

fn input(source: &str, var: &str) -> Value {
    json!({"required": true, "ref": {"source": source, "var": var}})
}

/// `c` yields `{"i": k}` for k in 0..n; `d` runs once per item (`{"y": i + 1}`, failing at
/// `fail_at`).
fn stream_engine(fail_at: i64, tracer: Arc<dyn Tracer>) -> Operon {
    let doc = json!({
        "schema_version": "1.0", "type": "graph", "name": "g", "full_name": "g",
        "ops": {
            "c": {"type": "code", "func_name": "count", "is_generator": true, "inputs": {"n": input("g", "n")}},
            "d": code("inc", json!({"i": input("g.c", "i")})),
        },
        "edges": [{"from": "c", "to": "d"}], "entries": ["c"], "exits": ["d"]
    });
    let count = |i: &Inputs| -> Result<Items, String> {
        let n = i.get("n").and_then(Value::as_i64).ok_or("no n")?;
        Ok(Box::new((0..n).map(|k| Ok(Outputs::from_iter([("i".to_string(), json!(k))])))))
    };
    Operon::builder(doc.to_string())
        .gen("count", count)
        .op("inc", move |m: Map<String, Value>| {
            let i = m["i"].as_i64().unwrap_or(0);
            if i == fail_at {
                return Err(OperonError::Runtime(format!("item {i} is bad")));
            }
            Ok(json!({"y": i + 1}))
        })
        .tracer(tracer)
        .build()
        .unwrap()
}

fn n(v: i64) -> Map<String, Value> {
    Map::from_iter([("n".to_string(), json!(v))])
}

#[test]
fn a_stream_gives_a_span_per_item_under_a_context_node_per_item() {
    let keep = Keep::new();
    let engine = stream_engine(-1, keep.clone());
    engine.run_json(n(3), Some("u".into()), Some("s".into()), Some("r".into())).unwrap();
    let trace = keep.exactly(1).remove(0);
    assert_eq!((trace.request_id.as_str(), trace.workflow_name.as_str()), ("r", "g"));
    assert_eq!((trace.user_id.as_deref(), trace.session_id.as_deref()), (Some("u"), Some("s")));
    let spans: Vec<_> = trace.spans().collect();
    let names: Vec<_> = spans.iter().map(|s| s.op_name.as_deref().unwrap()).collect();
    assert_eq!(names, ["g.c", "g.d", "g.d", "g.d"]);
    assert_eq!(spans[0].kind, "generator");
    assert_eq!(spans[0].metadata["items"], json!(3));
    for (k, span) in spans[1..].iter().enumerate() {
        assert_eq!(span.context(), ["main", &format!("[{k}]")]);
        assert_eq!(span.status(), Some("ok"));
        let parent = trace.nodes.iter().find(|n| Some(&n.trace_key) == span.parent_trace_key.as_ref()).unwrap();
        assert_eq!((parent.kind.as_str(), parent.display_name.clone()), ("stream_context", format!("[{k}]")));
        assert!(span.start_time.is_some() && span.end_time.is_some() && span.duration_ms.is_some());
    }
    let root = trace.root().unwrap();
    assert_eq!((root.status(), root.display_name.as_str()), (Some("ok"), "g"));
    assert_eq!(trace.summary.total_ops, 4);
    assert_eq!(trace.summary.stream_count, 1);
    assert_eq!(trace.summary.total_yields, 3);
    assert_eq!(trace.summary.total_records, 3);
    assert_eq!(trace.summary.error_count, 0);
}

#[test]
fn a_failed_op_span_carries_its_error_and_the_root_the_run_error() {
    let keep = Keep::new();
    let engine = stream_engine(1, keep.clone());
    let err = engine.run_json(n(3), None, None, None).unwrap_err();
    assert!(err.to_string().contains("item 1 is bad"), "{err}");
    let trace = keep.exactly(1).remove(0);
    let failed: Vec<_> = trace.spans().filter(|s| s.status() == Some("error")).collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].op_name.as_deref(), Some("g.d"));
    assert_eq!(failed[0].context(), ["main", "[1]"]);
    assert!(failed[0].error().unwrap().contains("item 1 is bad"));
    let root = trace.root().unwrap();
    assert_eq!(root.status(), Some("error"));
    assert!(root.error().unwrap().contains("item 1 is bad"));
    assert_eq!(trace.summary.error_count, 1);
    // the ids not given are made up, each a UUID
    assert_eq!(trace.request_id.len(), 36);
    assert_ne!(trace.user_id, trace.session_id);
}

#[test]
fn every_loop_iteration_is_a_span_under_its_iteration() {
    let doc = json!({
        "schema_version": "1.0", "type": "graph", "name": "lp", "full_name": "lp",
        "inputs": {"n": {"required": true, "literal": 0}},
        "ops": {"s": {"type": "code", "func_name": "step", "inputs": {"n": input("lp", "n")}, "forward_all": true}},
        "edges": [], "entries": ["s"], "exits": ["s"],
        "loop": {"until": "n >= 3", "max_iterations": 10}
    });
    let keep = Keep::new();
    let engine = Operon::builder(doc.to_string())
        .op("step", |m: Map<String, Value>| Ok(json!({"n": m["n"].as_i64().unwrap_or(0) + 1})))
        .tracer(keep.clone())
        .build()
        .unwrap();
    assert_eq!(engine.run_json(Map::new(), None, None, None).unwrap(), json!({"n": 3}));
    let trace = keep.exactly(1).remove(0);
    let contexts: Vec<_> = trace.spans().map(|s| s.context().join("/")).collect();
    assert_eq!(contexts, ["main/loop_0", "main/loop_1", "main/loop_2"]);
    assert_eq!(trace.nodes.iter().filter(|n| n.kind == "loop_iter").count(), 3);
    assert_eq!(trace.summary.loop_iterations, 3);
}

#[test]
fn runs_are_traced_by_every_way_of_running_one_trace_each() {
    let keep = Keep::new();
    let engine = stream_engine(-1, keep.clone());
    engine.run_json(n(1), None, None, None).unwrap();
    engine.run(json!({"n": 1})).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        within(engine.run_json_async(n(1), None, None, None)).await.unwrap();
        let handle = engine.start(n(1), None, None, None, None).unwrap();
        within(handle.result(true)).await.unwrap();
    });
    let traces = keep.exactly(4);
    assert!(traces.iter().all(|t| t.spans().count() == 2));
    let mut ids: Vec<_> = traces.iter().map(|t| t.request_id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 4, "each run has its own request id");
}

#[tokio::test]
async fn tracer_override_replaces_the_engine_tracers_for_one_run() {
    let (engine_tracer, other) = (Keep::new(), Keep::new());
    let engine = stream_engine(-1, engine_tracer.clone());
    let handle = engine.start(n(2), None, None, Some("other".into()), Some(vec![other.clone()])).unwrap();
    within(handle.result(true)).await.unwrap();
    let handle = engine.start(n(2), None, None, Some("nobody".into()), Some(Vec::new())).unwrap();
    within(handle.result(true)).await.unwrap();
    let handle = engine.start(n(2), None, None, Some("engine".into()), None).unwrap();
    assert_eq!(handle.context().request_id, "engine");
    within(handle.result(true)).await.unwrap();
    let traces = tokio::task::spawn_blocking(move || (other.exactly(1), engine_tracer.exactly(1))).await.unwrap();
    assert_eq!(traces.0[0].request_id, "other");
    assert_eq!(traces.1[0].request_id, "engine");
}

#[tokio::test]
async fn async_and_cpu_ops_are_spans_with_their_times() {
    let doc = json!({
        "schema_version": "1.0", "type": "graph", "name": "g", "full_name": "g",
        "ops": {
            "a": {"type": "code", "func_name": "slow", "is_async": true, "inputs": {}},
            "b": {"type": "code", "func_name": "work", "bound": "cpu", "inputs": {}},
            "z": {"type": "code", "func_name": "slow", "is_async": true, "inputs": {}},
        },
        "edges": [{"from": "a", "to": "z"}, {"from": "b", "to": "z"}], "entries": ["a", "b"], "exits": ["z"]
    });
    let keep = Keep::new();
    let engine = Operon::builder(doc.to_string())
        .op_async("slow", |_: Map<String, Value>| async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            Ok(json!({"done": true}))
        })
        .op("work", |_: Map<String, Value>| Ok(json!({})))
        .tracer(keep.clone())
        .build()
        .unwrap();
    within(engine.run_json_async(Map::new(), None, None, None)).await.unwrap();
    let trace = tokio::task::spawn_blocking(move || keep.exactly(1).remove(0)).await.unwrap();
    let mut names: Vec<_> = trace.spans().map(|s| s.op_name.clone().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["g.a", "g.b", "g.z"]);
    for span in trace.spans().filter(|s| s.display_name != "b") {
        assert!(span.duration_ms.unwrap() >= 15.0, "{span:?}");
    }
}

#[test]
fn stream_trace_limit_keeps_the_first_items_of_each_stream() {
    let (default, all) = (Keep::new(), Arc::new(Keep { limit: Some(None), ..Keep::default() }));
    let engine = stream_engine(-1, default.clone());
    engine.run_json(n(150), None, None, None).unwrap();
    let trace = default.exactly(1).remove(0);
    assert_eq!(trace.spans().count(), 1 + 100);
    assert_eq!(trace.summary.total_ops, 151, "the summary counts every execution");
    let engine = stream_engine(-1, all.clone());
    engine.run_json(n(150), None, None, None).unwrap();
    assert_eq!(all.exactly(1)[0].spans().count(), 151);
}

#[test]
fn a_tracer_filter_removes_nodes_and_empty_contexts() {
    let filter = TraceFilter { exclude_ops: vec!["d".into()], ..TraceFilter::default() };
    let keep = Arc::new(Keep { filter: Some(filter), ..Keep::default() });
    let engine = stream_engine(-1, keep.clone());
    engine.run_json(n(3), None, None, None).unwrap();
    let trace = keep.exactly(1).remove(0);
    let kinds: Vec<_> = trace.nodes.iter().map(|n| n.kind.as_str()).collect();
    assert_eq!(kinds, ["graph", "generator"]);
}

/// Fails, or panics.
#[derive(Debug)]
struct Broken(bool);

impl Tracer for Broken {
    fn flush(&self, _: &TraceData) -> Result<(), OperonError> {
        if self.0 {
            panic!("a broken tracer");
        }
        Err(OperonError::Runtime("cannot flush".into()))
    }
}

#[test]
fn a_tracer_that_fails_or_panics_changes_nothing_for_the_run_nor_the_others() {
    let keep = Keep::new();
    let doc = json!({
        "schema_version": "1.0", "type": "graph", "name": "g", "full_name": "g",
        "ops": {"f": code("f", json!({}))}, "edges": [], "entries": ["f"], "exits": ["f"]
    });
    let engine = Operon::builder(doc.to_string())
        .op("f", |_: Map<String, Value>| Ok(json!({"ok": 1})))
        .tracer(Arc::new(Broken(true)))
        .tracer(Arc::new(Broken(false)))
        .tracer(keep.clone())
        .build()
        .unwrap();
    for _ in 0..2 {
        assert_eq!(engine.run_json(Map::new(), None, None, None).unwrap(), json!({"ok": 1}));
    }
    assert_eq!(keep.exactly(2).len(), 2);
}

#[test]
fn without_a_tracer_an_engine_keeps_no_trace() {
    let keep = Keep::new();
    let engine = stream_engine(-1, keep.clone());
    assert_eq!(engine.tracers().len(), 1);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let handle = engine.start(n(2), None, None, None, Some(Vec::new())).unwrap();
        within(handle.result(true)).await.unwrap();
        // a handle's context is made when asked for: ids not given are made up then
        assert_eq!(handle.context().request_id.len(), 36);
    });
    keep.exactly(0);
}

#[test]
fn a_local_tracer_writes_the_trace_as_a_json_file() {
    let dir = std::env::temp_dir().join(format!("operonx-local-tracer-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let tracer = Arc::new(operonx::trace::LocalTracer::new(Some(dir.clone()), vec!["t".into()]));
    let engine = stream_engine(-1, tracer);
    engine.run_json(n(2), None, None, Some("req/1".into())).unwrap();
    assert!(flush_pending(Duration::from_secs(10)));
    let text = std::fs::read_to_string(dir.join("req_1.json")).unwrap();
    let trace: TraceData = serde_json::from_str(&text).unwrap();
    assert_eq!((trace.request_id.as_str(), trace.tags.clone()), ("req/1", vec!["t".to_string()]));
    assert_eq!(trace.spans().count(), 3);
    let _ = std::fs::remove_dir_all(&dir);
}
