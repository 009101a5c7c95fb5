//! The tokio driver at scale and under races: one op fanned out to 100 000 sync Rust ops through
//! `run_json_async` (run in place, nothing spawned), a stream of 100 000 items, and many runs whose
//! consumers race their driver on a multi-thread runtime (no lost wake-up: every run ends in time).
#![cfg(feature = "tokio")]

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use operonx::ops::{Inputs, Items, Outputs};
use operonx::{Operon, OperonError};
use serde_json::{json, Map, Value};

const N: usize = 100_000;

async fn within<T>(f: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), f).await.expect("timed out: the run or a consumer hung")
}

/// `src → w0..w{n-1} → join`; the join reads `i` of the last worker. The text is written directly
/// (a `serde_json::Value` of this size is slow to build in debug builds).
fn fan(n: usize) -> String {
    let mut s = String::with_capacity(n * 100);
    s.push_str(r#"{"schema_version": "1.0", "type": "graph", "name": "g", "ops": {"src": {"type": "code"}"#);
    for i in 0..n {
        s.push_str(&format!(r#", "w{i}": {{"type": "code", "func_name": "work"}}"#));
    }
    s.push_str(&format!(
        r#", "join": {{"type": "code", "inputs": {{"last": {{"required": true, "ref": {{"source": "g.w{}", "var": "i"}}}}}}}}}}, "edges": ["#,
        n - 1
    ));
    for i in 0..n {
        let sep = if i == 0 { "" } else { ", " };
        s.push_str(&format!(r#"{sep}{{"from": "src", "to": "w{i}"}}, {{"from": "w{i}", "to": "join"}}"#));
    }
    s.push_str(r#"], "entries": ["src"], "exits": ["join"]}"#);
    s
}

#[test]
fn one_op_fans_out_to_100k_sync_ops_through_run_json_async() {
    let count = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&count);
    let engine = Operon::builder(fan(N))
        .op("src", |_| Ok(Value::Null))
        .op_ref("work", move |_: &Inputs| -> Result<Outputs, String> {
            Ok(Outputs::from_iter([("i".to_string(), json!(seen.fetch_add(1, Ordering::Relaxed)))]))
        })
        .op("join", |i: Map<String, Value>| Ok(json!({"last": i["last"]})))
        .build()
        .unwrap();
    // No tokio runtime at all: a graph of sync ops runs in the calling task, nothing is spawned.
    let (done, result) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(futures::executor::block_on(engine.run_json_async(Map::new(), None, None, None)));
    });
    let out = result.recv_timeout(Duration::from_secs(60)).expect("the run hung").unwrap();
    assert_eq!(out, json!({"last": N - 1}));
    assert_eq!(count.load(Ordering::Relaxed), N);
}

#[test]
fn a_small_graph_of_sync_ops_ends_in_the_first_poll() {
    use futures::FutureExt;
    let engine = Operon::builder(fan(10))
        .op("src", |_| Ok(Value::Null))
        .op("work", |_| Ok(json!({"i": 1})))
        .op("join", |i: Map<String, Value>| Ok(json!({"last": i["last"]})))
        .build()
        .unwrap();
    let out = engine.run_json_async(Map::new(), None, None, None).now_or_never().expect("ready at once");
    assert_eq!(out.unwrap(), json!({"last": 1}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_of_100k_items_reaches_the_handle() {
    let doc = json!({"schema_version": "1.0", "type": "graph", "name": "g",
        "ops": {"numbers": {"type": "code", "is_generator": true,
                            "inputs": {"n": {"required": true, "ref": {"source": "g", "var": "n"}}}},
                "double": {"type": "code", "inputs": {"i": {"required": true, "ref": {"source": "g.numbers", "var": "i"}}}}},
        "edges": [{"from": "numbers", "to": "double"}], "entries": ["numbers"], "exits": ["double"]});
    let numbers = |i: &Inputs| -> Result<Items, String> {
        let n = i.get("n").and_then(Value::as_i64).ok_or("n must be an int")?;
        Ok(Box::new((0..n).map(|k| Ok(Outputs::from_iter([("i".to_string(), json!(k))])))))
    };
    let engine = Operon::builder(doc.to_string())
        .gen("numbers", numbers)
        .op("double", |i: Map<String, Value>| Ok(json!({"d": i["i"].as_i64().unwrap_or(0) * 2})))
        .build()
        .unwrap();
    let mut handle = engine.start(Map::from_iter([("n".to_string(), json!(N))]), None, None, None, None).unwrap();
    let got = within(async {
        let mut k = 0_i64;
        while let Some(f) = handle.next().await {
            let f = f.expect("no error");
            assert_eq!(f.data["d"], json!(2 * k));
            assert_eq!(f.context.as_slice(), ["main".to_string(), format!("[{k}]")]);
            k += 1;
        }
        k
    })
    .await;
    assert_eq!(got, N as i64);
}

/// `a` (async) → `b` (sync) → `c` (async), each an exit, with `d` (sync) beside them.
fn racing_doc() -> String {
    json!({"schema_version": "1.0", "type": "graph", "name": "g",
        "ops": {"a": {"type": "code", "func_name": "hop", "is_async": true,
                      "inputs": {"x": {"required": true, "ref": {"source": "g", "var": "x"}}}},
                "b": {"type": "code", "func_name": "inc", "inputs": {"x": {"required": true, "ref": {"source": "g.a", "var": "y"}}}},
                "c": {"type": "code", "func_name": "hop", "is_async": true,
                      "inputs": {"x": {"required": true, "ref": {"source": "g.b", "var": "y"}}}},
                "d": {"type": "code", "func_name": "inc", "inputs": {"x": {"required": true, "ref": {"source": "g", "var": "x"}}}}},
        "edges": [{"from": "a", "to": "b"}, {"from": "b", "to": "c"}],
        "entries": ["a", "d"], "exits": ["a", "b", "c", "d"]})
    .to_string()
}

fn inc(i: Map<String, Value>) -> Result<Value, OperonError> {
    Ok(json!({"y": i["x"].as_i64().unwrap_or(0) + 1}))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn consumers_racing_the_driver_never_miss_a_frame_or_the_end() {
    let engine = Arc::new(
        Operon::builder(racing_doc())
            .op("inc", inc)
            .op_async("hop", |i: Map<String, Value>| async move {
                // finishes on whichever worker polls it next
                tokio::task::yield_now().await;
                inc(i)
            })
            .build()
            .unwrap(),
    );
    for run in 0..5_000 {
        let mut handle = engine.start(Map::from_iter([("x".to_string(), json!(run))]), None, None, None, None).unwrap();
        let watcher = handle.watcher();
        let waiting = tokio::spawn(async move { watcher.wait_for("c", "y").await });
        let guard = Duration::from_secs(5);
        let frames = tokio::time::timeout(guard, async {
            let mut n = 0;
            while let Some(f) = handle.next().await {
                f.expect("no error");
                n += 1;
            }
            n
        })
        .await
        .unwrap_or_else(|_| panic!("run {run}: the stream stalled"));
        assert_eq!(frames, 4, "run {run}");
        let c = tokio::time::timeout(guard, waiting).await.unwrap_or_else(|_| panic!("run {run}: wait_for stalled"));
        assert_eq!(c.unwrap().unwrap(), Some(json!(run + 3)), "run {run}");
        assert!(handle.is_done());
    }
}
