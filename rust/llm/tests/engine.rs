//! The provider calls as ops of an operonx graph.

mod fake;

use fake::{quick, Fake, T};
use operonx::Operon;
use operonx_llm::ops;
use serde_json::{json, Map, Value};
use tokio::time::timeout;

fn graph(func: &str, input: &str, outputs: &[&str]) -> String {
    let outs: Map<String, Value> = outputs
        .iter()
        .map(|o| (o.to_string(), json!({"ref": {"source": "__PARENT__", "var": o, "is_output": true}})))
        .collect();
    let graph_outs: Map<String, Value> = outputs.iter().map(|o| (o.to_string(), json!({}))).collect();
    json!({
        "schema_version": "1.0", "type": "graph", "name": "g", "full_name": "g",
        "entries": ["call"], "exits": ["call"], "initial_ready_count": {"call": 0}, "compiled_adj": {"call": []},
        "inputs": {input: {"required": true}}, "outputs": graph_outs,
        "ops": {"call": {"type": "code", "name": "call", "full_name": "g.call", "func_name": func, "bound": "io",
                         "inputs": {input: {"required": true, "ref": {"source": "__PARENT__", "var": input}}},
                         "outputs": outs}},
    })
    .to_string()
}

fn inputs(key: &str, value: Value) -> Map<String, Value> {
    Map::from_iter([(key.to_string(), value)])
}

#[tokio::test]
async fn a_chat_op_in_a_graph() {
    let fake = Fake::start(json!({"reply": "hi there"})).await;
    let engine = Operon::builder(graph("chat", "messages", &["content", "finish_reason", "usage"]))
        .op_async("chat", ops::chat(fake.provider(), quick(1)))
        .build()
        .unwrap();
    let messages = json!([{"role": "user", "content": "hello"}]);
    let out = timeout(T, engine.run_json_async(inputs("messages", messages), None, None, None)).await.unwrap().unwrap();
    assert_eq!(out["content"], "hi there");
    assert_eq!(out["finish_reason"], "stop");
    assert_eq!(out["usage"]["completion_tokens"], 2);
}

#[tokio::test]
async fn an_op_error_names_the_op_and_the_provider_message() {
    let fake = Fake::start(json!({"faults": [{"status": 400, "message": "context too long"}]})).await;
    let engine = Operon::builder(graph("chat", "messages", &["content"]))
        .op_async("chat", ops::chat(fake.provider(), quick(2)))
        .build()
        .unwrap();
    let err = timeout(T, engine.run_json_async(inputs("messages", json!("hello")), None, None, None))
        .await
        .unwrap()
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("context too long") && text.contains("400"), "{text}");
    assert_eq!(fake.requests().await.len(), 1);
}

#[tokio::test]
async fn an_embed_op_for_one_text_and_for_a_batch() {
    let fake = Fake::start(json!({"dimensions": 3})).await;
    let build = |outputs: &[&str]| {
        Operon::builder(graph("embed", "input", outputs))
            .op_async("embed", ops::embed(fake.provider(), quick(0)))
            .build()
            .unwrap()
    };
    let one = timeout(T, build(&["embedding"]).run_json_async(inputs("input", json!("hello")), None, None, None))
        .await
        .unwrap()
        .unwrap();
    let batch =
        timeout(T, build(&["embeddings"]).run_json_async(inputs("input", json!(["x", "hello"])), None, None, None))
            .await
            .unwrap()
            .unwrap();
    assert_eq!(one["embedding"].as_array().unwrap().len(), 3);
    assert_eq!(batch["embeddings"][1], one["embedding"]);
}

#[derive(Debug, Default)]
struct Keep(std::sync::Mutex<Vec<operonx::core::tracing::TraceData>>);

impl operonx::core::tracing::Tracer for Keep {
    fn name(&self) -> &str {
        "keep"
    }
    fn flush(&self, trace: &operonx::core::tracing::TraceData) -> Result<(), operonx::OperonError> {
        self.0.lock().unwrap().push(trace.clone());
        Ok(())
    }
}

#[tokio::test]
async fn a_chat_span_carries_the_genai_attributes() {
    let fake = Fake::start(json!({"reply": "hi there"})).await;
    let keep = std::sync::Arc::new(Keep::default());
    let engine = Operon::builder(graph("chat", "messages", &["content"]))
        .op_async("chat", ops::chat(fake.provider(), quick(1)))
        .tracer(keep.clone())
        .build()
        .unwrap();
    let out = timeout(T, engine.run_json_async(inputs("messages", json!("hello")), None, None, None)).await.unwrap();
    assert_eq!(out.unwrap(), json!({"content": "hi there"}));
    assert!(operonx::trace::flush_pending(T));
    let traces = keep.0.lock().unwrap();
    let span = traces[0].spans().next().unwrap();
    let attrs = &span.metadata["attributes"];
    assert_eq!(attrs["gen_ai.operation.name"], "chat");
    assert_eq!(attrs["gen_ai.provider.name"], "openai_compatible");
    assert_eq!(attrs["gen_ai.usage.output_tokens"], 2);
    assert_eq!(attrs["gen_ai.response.finish_reasons"], json!(["stop"]));
    assert_eq!(span.model.as_deref(), attrs["gen_ai.response.model"].as_str());
    assert_eq!(span.usage.as_ref().unwrap()["output_tokens"], 2);
}
