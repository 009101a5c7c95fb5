//! Stopping runs of the tokio driver: cancel and drop (nothing left running, nothing new started),
//! op errors and panics (a typed error, never a crash), the concurrency cap, and `bound="cpu"` ops
//! on the blocking pool. Every test that awaits runs under a timeout.
#![cfg(feature = "tokio")]

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use operonx::{Operon, OperonError};
use serde_json::{json, Map, Value};

async fn within<T>(f: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), f).await.expect("timed out: the run or a consumer hung")
}

/// Waits until `count` reaches `n`.
async fn reaches(count: &AtomicUsize, n: usize) {
    within(async {
        while count.load(Ordering::SeqCst) < n {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await;
}

/// Waits until the runtime has no task alive but the test's own.
async fn no_task_left() {
    let metrics = tokio::runtime::Handle::current().metrics();
    within(async {
        while metrics.num_alive_tasks() > 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await;
}

/// `slow` (async: sleeps a minute) → `after` (sync); `side` (sync) runs beside them.
fn doc() -> String {
    json!({
        "schema_version": "1.0", "type": "graph", "name": "g",
        "ops": {"slow": {"type": "code", "is_async": true}, "after": {"type": "code"}, "side": {"type": "code"}},
        "edges": [{"from": "slow", "to": "after"}], "entries": ["slow", "side"], "exits": ["after", "side"]
    })
    .to_string()
}

/// Counts what happens to the ops of [`doc`].
#[derive(Default)]
struct Counts {
    slow_started: AtomicUsize,
    slow_dropped: AtomicUsize,
    after_started: AtomicUsize,
}

/// Counts a drop of the future that holds it.
struct OnDrop(Arc<Counts>);

impl Drop for OnDrop {
    fn drop(&mut self) {
        self.0.slow_dropped.fetch_add(1, Ordering::SeqCst);
    }
}

fn engine(counts: &Arc<Counts>) -> Operon {
    let (c1, c2) = (Arc::clone(counts), Arc::clone(counts));
    Operon::builder(doc())
        .op_async("slow", move |_| {
            let c = Arc::clone(&c1);
            async move {
                let _guard = OnDrop(Arc::clone(&c));
                c.slow_started.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_secs(60)).await;
                Ok(json!({"v": 1}))
            }
        })
        .op("after", move |_| {
            c2.after_started.fetch_add(1, Ordering::SeqCst);
            Ok(json!({"v": 2}))
        })
        .op("side", |_| Ok(json!({"s": 0})))
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_drops_the_ops_in_flight_starts_nothing_and_leaves_no_task() {
    let counts = Arc::new(Counts::default());
    let engine = engine(&counts);
    let mut handle = engine.start(Map::new(), None, None, None, None).unwrap();
    reaches(&counts.slow_started, 1).await;
    handle.cancel();
    // the frames that arrived, then the end
    let mut ops = Vec::new();
    while let Some(f) = within(handle.next()).await {
        ops.push(f.expect("a cancelled run's stream has no error").op);
    }
    assert_eq!(ops, ["side"]);
    let err = within(handle.result(true)).await.unwrap_err();
    assert!(matches!(&err, OperonError::Cancelled { graph } if graph == "g"), "{err}");
    assert!(handle.is_done());
    reaches(&counts.slow_dropped, 1).await;
    no_task_left().await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(counts.after_started.load(Ordering::SeqCst), 0, "no op starts after a cancel");
    // a waiter of a value that never came sees the end
    assert_eq!(within(handle.wait_for("after", "v")).await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_handle_cancels_the_run() {
    let counts = Arc::new(Counts::default());
    let engine = engine(&counts);
    let handle = engine.start(Map::new(), None, None, None, None).unwrap();
    let watcher = handle.watcher();
    reaches(&counts.slow_started, 1).await;
    drop(handle);
    reaches(&counts.slow_dropped, 1).await;
    assert!(watcher.is_done());
    assert!(matches!(within(watcher.result(true)).await, Err(OperonError::Cancelled { .. })));
    drop(watcher);
    no_task_left().await;
    assert_eq!(counts.after_started.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn dropping_the_future_of_run_json_async_drops_its_ops() {
    let counts = Arc::new(Counts::default());
    let engine = engine(&counts);
    let run = engine.run_json_async(Map::new(), None, None, None);
    assert!(tokio::time::timeout(Duration::from_millis(20), run).await.is_err());
    assert_eq!(counts.slow_started.load(Ordering::SeqCst), 1);
    assert_eq!(counts.slow_dropped.load(Ordering::SeqCst), 1);
    assert_eq!(counts.after_started.load(Ordering::SeqCst), 0);
}

/// One op `bad` whose implementation is given, as an exit.
fn one(name: &str, is_async: bool) -> String {
    json!({"schema_version": "1.0", "type": "graph", "name": "g",
        "ops": {name: {"type": "code", "is_async": is_async}}, "edges": [], "entries": [name], "exits": [name]})
    .to_string()
}

/// The run's error, through the stream and through `result` (the same).
async fn failure(engine: &Operon) -> OperonError {
    let mut handle = engine.start(Map::new(), None, None, None, None).unwrap();
    let streamed = within(handle.next()).await.expect("an item").expect_err("the run's error");
    assert!(within(handle.next()).await.is_none(), "the error ends the stream");
    let result = within(handle.result(true)).await.unwrap_err();
    assert_eq!(result.to_string(), streamed.to_string());
    let awaited = within(engine.run_json_async(Map::new(), None, None, None)).await.unwrap_err();
    assert_eq!(awaited.to_string(), streamed.to_string());
    streamed
}

fn failed_with(err: &OperonError, words: &str) -> bool {
    matches!(err, OperonError::OpFailed { op, message, .. } if op == "g.bad" && message.contains(words))
}

#[tokio::test]
async fn an_op_error_fails_the_run_with_a_typed_error() {
    let engine =
        Operon::builder(one("bad", false)).op("bad", |_| Err(OperonError::Runtime("boom".into()))).build().unwrap();
    let err = failure(&engine).await;
    assert!(failed_with(&err, "boom"), "{err}");
    let engine = Operon::builder(one("bad", true))
        .op_async("bad", |_| async { Err(OperonError::Runtime("async boom".into())) })
        .build()
        .unwrap();
    let err = failure(&engine).await;
    assert!(failed_with(&err, "async boom"), "{err}");
}

#[tokio::test]
async fn a_panic_in_a_sync_or_async_op_is_a_typed_error() {
    let engine = Operon::builder(one("bad", false)).op("bad", |_| panic!("sync kaboom")).build().unwrap();
    let err = failure(&engine).await;
    assert!(failed_with(&err, "panicked: sync kaboom"), "{err}");
    let engine = Operon::builder(one("bad", true))
        .op_async("bad", |_| async {
            tokio::task::yield_now().await;
            panic!("async kaboom")
        })
        .build()
        .unwrap();
    let err = failure(&engine).await;
    assert!(failed_with(&err, "panicked: async kaboom"), "{err}");
    // making the future panics
    let engine = Operon::builder(one("bad", true))
        .op_async("bad", |_| -> std::future::Ready<Result<Value, OperonError>> { panic!("eager kaboom") })
        .build()
        .unwrap();
    let err = failure(&engine).await;
    assert!(failed_with(&err, "panicked: eager kaboom"), "{err}");
    // on the blocking pool
    let doc = json!({"schema_version": "1.0", "type": "graph", "name": "g",
        "ops": {"bad": {"type": "code", "bound": "cpu"}}, "edges": [], "entries": ["bad"], "exits": ["bad"]});
    let engine = Operon::builder(doc.to_string()).op("bad", |_| panic!("cpu kaboom")).build().unwrap();
    let err = failure(&engine).await;
    assert!(failed_with(&err, "panicked: cpu kaboom"), "{err}");
}

/// `src` → six async ops `w0..w5` under `concurrency: 2` (or the given cap).
fn fan(concurrency: Value, bound: &str) -> String {
    let mut ops = Map::new();
    ops.insert("src".into(), json!({"type": "code"}));
    let mut edges = Vec::new();
    for i in 0..6 {
        let is_async = bound != "cpu";
        ops.insert(format!("w{i}"), json!({"type": "code", "func_name": "work", "is_async": is_async, "bound": bound}));
        edges.push(json!({"from": "src", "to": format!("w{i}")}));
    }
    let exits: Vec<String> = (0..6).map(|i| format!("w{i}")).collect();
    json!({"schema_version": "1.0", "type": "graph", "name": "g", "concurrency": concurrency, "ops": ops,
        "edges": edges, "entries": ["src"], "exits": exits})
    .to_string()
}

/// Tracks how many calls run at once.
#[derive(Default)]
struct Gauge {
    now: AtomicUsize,
    max: AtomicUsize,
    calls: AtomicUsize,
}

impl Gauge {
    fn enter(&self) {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.max.fetch_max(now, Ordering::SeqCst);
        self.calls.fetch_add(1, Ordering::SeqCst);
    }
    fn leave(&self) {
        self.now.fetch_sub(1, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_concurrency_cap_holds_for_async_ops() {
    for (cap, want) in [(json!(2), 2), (json!(null), 6)] {
        let gauge = Arc::new(Gauge::default());
        let g = Arc::clone(&gauge);
        let engine = Operon::builder(fan(cap, "io"))
            .op("src", |_| Ok(Value::Null))
            .op_async("work", move |_| {
                let g = Arc::clone(&g);
                async move {
                    g.enter();
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    g.leave();
                    Ok(json!({"done": true}))
                }
            })
            .build()
            .unwrap();
        let out = within(engine.run_json_async(Map::new(), None, None, None)).await.unwrap();
        assert_eq!(out["done"].as_array().map(Vec::len), Some(6));
        assert_eq!(gauge.calls.load(Ordering::SeqCst), 6);
        assert_eq!(gauge.max.load(Ordering::SeqCst), want);
    }
}

#[tokio::test]
async fn cpu_ops_run_on_the_blocking_pool_under_the_cap() {
    let gauge = Arc::new(Gauge::default());
    let g = Arc::clone(&gauge);
    let driver_thread = std::thread::current().id();
    let engine = Operon::builder(fan(json!(3), "cpu"))
        .op("src", |_| Ok(Value::Null))
        .op("work", move |_| {
            g.enter();
            std::thread::sleep(Duration::from_millis(20));
            g.leave();
            Ok(json!({"elsewhere": std::thread::current().id() != driver_thread}))
        })
        .build()
        .unwrap();
    let out = within(engine.run_json_async(Map::new(), None, None, None)).await.unwrap();
    assert_eq!(out["elsewhere"], json!([true, true, true, true, true, true]));
    assert_eq!(gauge.max.load(Ordering::SeqCst), 3, "the blocking calls overlap up to the cap");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cpu_ops_queued_behind_the_cap_never_start_after_a_cancel() {
    let gauge = Arc::new(Gauge::default());
    let g = Arc::clone(&gauge);
    let engine = Operon::builder(fan(json!(1), "cpu"))
        .op("src", |_| Ok(Value::Null))
        .op("work", move |_| {
            g.enter();
            std::thread::sleep(Duration::from_millis(100));
            g.leave();
            Ok(json!({}))
        })
        .build()
        .unwrap();
    let handle = engine.start(Map::new(), None, None, None, None).unwrap();
    reaches(&gauge.calls, 1).await;
    handle.cancel();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(gauge.calls.load(Ordering::SeqCst), 1, "the running call ends; the queued ones never start");
}

#[test]
fn a_cpu_op_awaited_outside_a_tokio_runtime_fails_naming_what_it_needs() {
    let engine = Operon::builder(fan(json!(1), "cpu")).op("src", |_| Ok(Value::Null)).op("work", |_| Ok(json!({}))).build().unwrap();
    let (done, result) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(futures::executor::block_on(engine.run_json_async(Map::new(), None, None, None)));
    });
    let err = result.recv_timeout(Duration::from_secs(10)).expect("the run hung").unwrap_err();
    assert!(matches!(&err, OperonError::OpFailed { message, .. } if message.contains("tokio runtime")), "{err}");
}
