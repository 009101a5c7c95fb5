//! A spawned run's consumers take its frames while it runs, even on a current-thread runtime
//! where they get the thread only when the driver gives it back: the first frame of a long
//! stream arrives long before the generator ends, and the whole stream arrives in order.
#![cfg(feature = "tokio")]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use operonx::ops::{Inputs, Items, Outputs};
use operonx::Operon;
use serde_json::{json, Map, Value};

const ITEMS: u64 = 100_000;

fn doc() -> String {
    json!({"schema_version": "1.0", "type": "graph", "name": "g",
        "ops": {"count": {"type": "code", "is_generator": true,
                          "inputs": {"n": {"required": true, "ref": {"source": "g", "var": "n"}}},
                          "outputs": {"i": {"ref": {"source": "g", "var": "i", "is_output": true}}}}},
        "edges": [], "entries": ["count"], "exits": ["count"]})
    .to_string()
}

#[test]
fn the_first_frame_of_a_long_stream_arrives_while_it_streams() {
    let pulled = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&pulled);
    let engine = Operon::builder(doc())
        .gen("count", move |i: &Inputs| -> Result<Items, String> {
            let n = i.get("n").and_then(Value::as_i64).ok_or("n must be an int")?;
            let counter = Arc::clone(&counter);
            Ok(Box::new((0..n).map(move |k| {
                counter.fetch_add(1, Ordering::SeqCst);
                Ok(Outputs::from_iter([("i".to_string(), json!(k))]))
            })))
        })
        .build()
        .expect("the graph builds");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    let (at_first, items) = rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(60), async {
            let inputs = Map::from_iter([("n".to_string(), json!(ITEMS))]);
            let mut handle = engine.start(inputs, None, None, None, None).expect("the run starts");
            let mut at_first = None;
            let mut items = 0u64;
            while let Some(frame) = handle.next().await {
                let frame = frame.expect("no frame is an error");
                at_first.get_or_insert(pulled.load(Ordering::SeqCst));
                assert_eq!(frame.data["i"], json!(items), "frames arrive in order");
                items += 1;
            }
            (at_first, items)
        })
        .await
        .expect("the stream ends")
    });
    assert_eq!(items, ITEMS);
    let at_first = at_first.expect("a first frame");
    assert!(at_first < ITEMS / 10, "the first frame arrived once {at_first} of {ITEMS} items were pulled");
}
