//! The streaming handle of the tokio driver (`Operon::start`): the stream of frames, `wait_for`,
//! `collect`, `result`, cancel and drop, errors, and the blocking and async entry points. Every test
//! that awaits runs under a timeout, so a hang is a failure.
#![cfg(feature = "tokio")]

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use operonx::{CollectMode, ExecutionHandle, FrameEvent, Operon, OperonError};
use serde_json::{json, Map, Value};

/// Awaits `f`, failing the test if it takes more than ten seconds.
async fn within<T>(f: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), f).await.expect("timed out: the run or a consumer hung")
}

fn inputs(x: i64) -> Map<String, Value> {
    Map::from_iter([("x".to_string(), json!(x))])
}

/// `p` (x + 1) → `q` (y + 1), both exits: frames `p {y: x+1}` then `q {y: x+2}`. `q` is async when
/// `q_async`, and sleeps `delay_ms` first.
fn chain(q_async: bool) -> String {
    json!({
        "schema_version": "1.0", "type": "graph", "name": "g",
        "ops": {
            "p": {"type": "code", "func_name": "inc", "inputs": {"x": {"required": true, "ref": {"source": "g", "var": "x"}}}},
            "q": {"type": "code", "func_name": if q_async { "slow_inc" } else { "inc" }, "is_async": q_async,
                  "inputs": {"x": {"required": true, "ref": {"source": "g.p", "var": "y"}}}}
        },
        "edges": [{"from": "p", "to": "q"}], "entries": ["p"], "exits": ["p", "q"]
    })
    .to_string()
}

fn inc(i: Map<String, Value>) -> Result<Value, OperonError> {
    let x = i["x"].as_i64().ok_or_else(|| OperonError::Runtime("x must be an int".into()))?;
    Ok(json!({"y": x + 1}))
}

fn engine(delay_ms: u64) -> Operon {
    Operon::builder(chain(delay_ms > 0))
        .op("inc", inc)
        .op_async("slow_inc", move |i: Map<String, Value>| async move {
            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
            inc(i)
        })
        .build()
        .expect("a valid graph")
}

async fn frames(handle: &mut ExecutionHandle) -> Vec<FrameEvent> {
    let mut out = Vec::new();
    while let Some(f) = handle.next().await {
        out.push(f.expect("no error"));
    }
    out
}

#[tokio::test]
async fn the_handle_streams_every_frame_in_order_then_ends() {
    let engine = engine(5);
    let mut handle = engine.start(inputs(1), None, None, None, None).unwrap();
    let got = within(frames(&mut handle)).await;
    let ops: Vec<&str> = got.iter().map(|f| f.op.as_str()).collect();
    assert_eq!(ops, ["p", "q"]);
    assert_eq!(got[1].data["y"], json!(3));
    assert_eq!(got[1].context.as_slice(), ["main"]);
    assert!(within(handle.next()).await.is_none(), "the stream stays ended");
    assert!(handle.is_done());
    assert_eq!(handle.frame_count(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_for_gives_a_value_before_and_after_it_arrives_and_none_when_absent() {
    let engine = engine(50);
    let handle = engine.start(inputs(1), None, None, None, None).unwrap();
    // another task waits while the async op sleeps
    let watcher = handle.watcher();
    let early = tokio::spawn(async move { watcher.wait_for("q", "y").await });
    assert_eq!(within(early).await.unwrap().unwrap(), Some(json!(3)));
    // after it arrived, by short and full name
    assert_eq!(within(handle.wait_for("g.q", "y")).await.unwrap(), Some(json!(3)));
    // a key no frame has: None once the run ended
    assert_eq!(within(handle.wait_for("q", "missing")).await.unwrap(), None);
    // an op the graph does not have
    let err = within(handle.wait_for("nope", "y")).await.unwrap_err();
    assert!(matches!(&err, OperonError::Usage(m) if m.contains("no op named 'nope'")), "{err}");
}

#[tokio::test]
async fn collect_groups_or_lists_what_the_stream_did_not_take() {
    let engine = engine(1);
    let cases = [
        (CollectMode::Group, true, json!({"y": [2, 3]})),
        (CollectMode::Group, false, json!({"y": [2, 3]})),
        (CollectMode::Flat, false, json!([{"y": 2}, {"y": 3}])),
        (CollectMode::Flat, true, json!([{"y": 2}, {"y": 3}])),
    ];
    for (mode, unwrap, want) in cases {
        let mut handle = engine.start(inputs(1), None, None, None, None).unwrap();
        // `StreamExt` is in scope: its `collect` is reached by value, this one by path
        let got = within(ExecutionHandle::collect(&mut handle, mode, unwrap)).await.unwrap();
        assert_eq!(got, want, "{mode:?} unwrap={unwrap}");
        assert!(within(handle.next()).await.is_none(), "collect took the rest of the stream");
    }
    // one frame per key: unwrap makes it a scalar, else a list
    let single = Operon::builder(chain(false)).op("inc", inc).build().unwrap();
    let doc_one = json!({"schema_version": "1.0", "type": "graph", "name": "g",
        "ops": {"p": {"type": "code", "func_name": "inc", "inputs": {"x": {"required": true, "ref": {"source": "g", "var": "x"}}}}},
        "edges": [], "entries": ["p"], "exits": ["p"]});
    let one = Operon::builder(doc_one.to_string()).op("inc", inc).build().unwrap();
    let mut h = one.start(inputs(1), None, None, None, None).unwrap();
    assert_eq!(within(ExecutionHandle::collect(&mut h, CollectMode::Group, true)).await.unwrap(), json!({"y": 2}));
    let mut h = one.start(inputs(1), None, None, None, None).unwrap();
    assert_eq!(within(ExecutionHandle::collect(&mut h, CollectMode::Group, false)).await.unwrap(), json!({"y": [2]}));
    // after the stream took a frame, collect has the rest
    let mut h = single.start(inputs(1), None, None, None, None).unwrap();
    assert_eq!(within(h.next()).await.unwrap().unwrap().op, "p");
    assert_eq!(within(ExecutionHandle::collect(&mut h, CollectMode::Flat, false)).await.unwrap(), json!([{"y": 3}]));
}

#[tokio::test]
async fn result_groups_every_frame_even_after_the_stream_took_them() {
    let engine = engine(1);
    let mut handle = engine.start(inputs(1), None, None, None, None).unwrap();
    within(frames(&mut handle)).await;
    assert_eq!(within(handle.result(true)).await.unwrap(), json!({"y": [2, 3]}));
    assert_eq!(within(handle.result(false)).await.unwrap(), json!({"y": [2, 3]}));
}

#[test]
fn run_json_runs_to_the_end_outside_a_runtime() {
    // with an async op (on a runtime of its own), and with sync ops only (on a plain executor)
    for delay in [1, 0] {
        assert_eq!(engine(delay).run_json(inputs(1), None, None, None).unwrap(), json!({"y": [2, 3]}));
    }
}

#[tokio::test]
async fn run_json_inside_a_runtime_is_a_usage_error_not_a_panic() {
    let err = engine(0).run_json(inputs(1), None, None, None).unwrap_err();
    assert!(matches!(&err, OperonError::Usage(m) if m.contains("run_json_async")), "{err}");
    // the async form works there
    assert_eq!(within(engine(1).run_json_async(inputs(1), None, None, None)).await.unwrap(), json!({"y": [2, 3]}));
}

#[test]
fn start_outside_a_runtime_is_a_usage_error() {
    let err = engine(0).start(inputs(1), None, None, None, None).err().expect("an error");
    assert!(matches!(&err, OperonError::Usage(m) if m.contains("tokio runtime")), "{err}");
}

#[test]
fn the_futures_and_the_handle_can_move_between_threads() {
    fn send<T: Send>(_: &T) {}
    fn shared<T: Send + Sync>(_: &T) {}
    let engine = engine(0);
    shared(&engine);
    send(&engine.run_json_async(inputs(1), None, None, None));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let handle = rt.block_on(async { engine.start(inputs(1), None, None, None, None).unwrap() });
    send(&handle);
    send(&handle.watcher());
    send(&handle.result(true));
}

/// Counts calls of a tracer.
#[derive(Debug)]
struct Count(Arc<AtomicUsize>);

impl operonx::Tracer for Count {
    fn flush(&self, trace: &operonx::trace::TraceData) -> Result<(), OperonError> {
        assert_eq!(trace.root().and_then(|r| r.status()), Some("ok"));
        assert_eq!(trace.request_id, "r1");
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

#[tokio::test]
async fn a_tracer_receives_the_trace_of_the_run() {
    let count = Arc::new(AtomicUsize::new(0));
    let tracer: Arc<dyn operonx::Tracer> = Arc::new(Count(Arc::clone(&count)));
    let handle = engine(1).start(inputs(1), None, None, Some("r1".into()), Some(vec![tracer])).unwrap();
    within(handle.result(true)).await.unwrap();
    within(async {
        while count.load(Ordering::SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await;
}

/// What a program written for the published crate does with a handle, written as it writes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_program_written_for_the_published_crate_compiles_and_runs() {
    let graph_json = chain(true);
    let engine = Operon::builder(&graph_json)
        .op("inc", |inputs| {
            let x = inputs.get("x").and_then(|v| v.as_i64()).ok_or_else(|| OperonError::Runtime("no x".into()))?;
            Ok(json!({ "y": x + 1 }))
        })
        .op_async("slow_inc", |inputs| async move { inc(inputs) })
        .build()
        .unwrap();
    let mut handle: ExecutionHandle = engine.start(inputs(1), None, None, None, None).unwrap();
    let mut seen = Vec::new();
    within(async {
        while let Some(frame) = handle.next().await {
            let frame: FrameEvent = frame.unwrap();
            assert_eq!(frame.context[0], "main");
            assert_eq!(frame.context, smallvec::smallvec!["main".to_string()] as operonx::handle::ContextId);
            seen.push(format!("{}@{}", frame.op, frame.context.join("/")));
        }
    })
    .await;
    assert_eq!(seen, ["p@main", "q@main"]);
    assert_eq!(within(handle.wait_for("q", "y")).await.unwrap(), Some(json!(3)));
    let grouped = within(ExecutionHandle::collect(&mut handle, CollectMode::Group, true)).await.unwrap();
    assert_eq!(grouped, json!({}), "the stream took every frame");
    assert_eq!(within(handle.result(true)).await.unwrap(), json!({"y": [2, 3]}));
    assert!(handle.is_done());
    assert_eq!(handle.frame_count(), 2);
    handle.cancel(); // a run that is over stays as it is
    assert!(within(handle.result(true)).await.is_ok());
}
