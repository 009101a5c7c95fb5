//! Runs, from Rust, the graph that `pipeline.py` wrote with the Python API: the document
//! `pipeline.json` (its `export_config()`), with the ops written in Rust as `#[op]` functions under
//! the same names, streaming the frames as they come.
//!
//! ```sh
//! cargo run --example words -- "any text you like"
//! ```

use std::time::Duration;

use futures::StreamExt;
use operonx::{op, CollectMode, ExecutionHandle, Operon, OperonError};
use serde_json::{json, Map, Value};

/// A generator: one item per word of `text`.
#[op(generator)]
fn split_words(text: String) -> Vec<Value> {
    text.split_whitespace().map(|w| json!({ "word": w })).collect()
}

/// Runs once per word.
#[op]
fn shout(word: String) -> Value {
    json!({ "loud": word.to_uppercase() })
}

/// Runs once, after the stream ends, with every word (the document reads `word` with `.collect()`).
#[op]
async fn count(words: Vec<String>) -> Result<Value, OperonError> {
    Ok(json!({ "count": words.len() }))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), OperonError> {
    let document = include_str!("pipeline.json");
    let engine = Operon::builder(document).auto_register().build()?;
    let text = std::env::args().nth(1).unwrap_or_else(|| "streams of words".to_string());
    let inputs = Map::from_iter([("text".to_string(), json!(text))]);

    // Frames as they come: the op, the context it ran in (the item's index) and its outputs.
    let mut handle = engine.start(inputs.clone(), None, None, None, None)?;
    while let Some(frame) = tokio::time::timeout(Duration::from_secs(10), handle.next())
        .await
        .map_err(|_| OperonError::Runtime("no frame within 10 s".into()))?
    {
        let frame = frame?;
        println!("frame: {} {:?} {}", frame.op, frame.context.to_vec(), Value::Object(frame.data));
    }

    // The whole result, grouped by output: one value stays a scalar, several become a list.
    // (`handle.collect(..)` would be `StreamExt::collect` here, hence the path.)
    let mut handle = engine.start(inputs, None, None, None, None)?;
    let result = ExecutionHandle::collect(&mut handle, CollectMode::Group, true).await?;
    println!("result: {result}");
    let words = text.split_whitespace().count();
    assert_eq!(result["count"], json!(words), "one count of every word");
    Ok(())
}
