//! Generator ops on the tokio driver with async per-item consumers: items run one at a time by
//! default, up to `max` at once with `.parallel(max)`, and a `.collect()` consumer runs once with
//! every item. Every test that awaits runs under a timeout.
#![cfg(feature = "tokio")]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use operonx::ops::{Inputs, Items, Outputs};
use operonx::Operon;
use serde_json::{json, Map, Value};

/// `numbers` (a generator of `{"i": 0..n}`) → `work` (async, per item, with `policy`).
fn doc(policy: Value) -> String {
    let mut reference = json!({"source": "g.numbers", "var": "i"});
    if let Value::Object(extra) = policy {
        reference.as_object_mut().unwrap().extend(extra);
    }
    json!({"schema_version": "1.0", "type": "graph", "name": "g",
        "ops": {"numbers": {"type": "code", "is_generator": true,
                            "inputs": {"n": {"required": true, "ref": {"source": "g", "var": "n"}}}},
                "work": {"type": "code", "is_async": true, "inputs": {"i": {"required": true, "ref": reference}}}},
        "edges": [{"from": "numbers", "to": "work"}], "entries": ["numbers"], "exits": ["work"]})
    .to_string()
}

fn numbers(i: &Inputs) -> Result<Items, String> {
    let n = i.get("n").and_then(Value::as_i64).ok_or("n must be an int")?;
    Ok(Box::new((0..n).map(|k| Ok(Outputs::from_iter([("i".to_string(), json!(k))])))))
}

/// The most `work` calls in flight at once, the number of calls, and the result of a run over 8
/// items.
async fn run(policy: Value) -> (usize, usize, Value) {
    let (now, max, calls) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (n2, m2, c2) = (Arc::clone(&now), Arc::clone(&max), Arc::clone(&calls));
    let engine = Operon::builder(doc(policy))
        .gen("numbers", numbers)
        .op_async("work", move |i: Map<String, Value>| {
            let (now, max) = (Arc::clone(&n2), Arc::clone(&m2));
            c2.fetch_add(1, Ordering::SeqCst);
            async move {
                max.fetch_max(now.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(5)).await;
                now.fetch_sub(1, Ordering::SeqCst);
                Ok(json!({"seen": i["i"]}))
            }
        })
        .build()
        .unwrap();
    let inputs = Map::from_iter([("n".to_string(), json!(8))]);
    let run = engine.run_json_async(inputs, None, None, None);
    let out = tokio::time::timeout(Duration::from_secs(10), run).await.expect("the run hung").unwrap();
    (max.load(Ordering::SeqCst), calls.load(Ordering::SeqCst), out)
}

#[tokio::test]
async fn items_run_one_at_a_time_by_default() {
    let (max, calls, out) = run(Value::Null).await;
    assert_eq!((max, calls), (1, 8));
    assert_eq!(out["seen"], json!([0, 1, 2, 3, 4, 5, 6, 7]));
}

#[tokio::test]
async fn parallel_items_overlap_up_to_their_cap() {
    let (max, calls, out) = run(json!({"policy": "parallel", "max": 3})).await;
    assert_eq!((max, calls), (3, 8));
    let mut seen: Vec<i64> = out["seen"].as_array().unwrap().iter().filter_map(Value::as_i64).collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..8).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_collecting_consumer_runs_once_with_every_item() {
    let (max, calls, out) = run(json!({"policy": "collect"})).await;
    assert_eq!((max, calls), (1, 1));
    assert_eq!(out["seen"], json!([0, 1, 2, 3, 4, 5, 6, 7]));
}
