//! `POST /embeddings`: vectors of one text or of a batch, in input order.

use serde_json::{json, Value};

use crate::client::{json_body, missing, Provider};
use crate::error::LlmError;
use crate::retry::RetryPolicy;

/// The vectors of a batch, in the order of its texts, and what the provider said about them.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Embeddings {
    /// One vector per text, in input order.
    pub vectors: Vec<Vec<f64>>,
    /// The model that made them.
    pub model: String,
    /// Token counts, when sent.
    pub usage: Option<Value>,
}

impl Provider {
    /// The embeddings of `texts` (at least one) by `model` (else the provider's), retried per
    /// `policy`. Vectors come back in the order of `texts`, whatever order the provider lists them in.
    pub async fn embed(
        &self,
        texts: &[String],
        model: Option<&str>,
        policy: &RetryPolicy,
    ) -> Result<Embeddings, LlmError> {
        if texts.is_empty() {
            return Err(LlmError::Config("nothing to embed: the input is an empty list".into()));
        }
        let model = self.model(model, true)?;
        let body = json!({"model": model, "input": texts, "encoding_format": "float"});
        let answer = policy.run(|_| async { json_body(self.post("/embeddings", &body).await?).await }).await?;
        let data = answer.get("data").and_then(Value::as_array).ok_or_else(|| missing("data"))?;
        let mut vectors: Vec<Option<Vec<f64>>> = vec![None; texts.len()];
        for (position, item) in data.iter().enumerate() {
            let index = item.get("index").and_then(Value::as_u64).map_or(position, |i| i as usize);
            let vector = item
                .get("embedding")
                .and_then(Value::as_array)
                .and_then(|v| v.iter().map(Value::as_f64).collect::<Option<Vec<f64>>>())
                .ok_or_else(|| LlmError::Malformed(format!("embedding {index} is not a list of numbers")))?;
            let slot = vectors
                .get_mut(index)
                .ok_or_else(|| LlmError::Malformed(format!("embedding index {index} is out of range")))?;
            *slot = Some(vector);
        }
        let vectors = vectors
            .into_iter()
            .enumerate()
            .map(|(i, v)| v.ok_or_else(|| LlmError::Malformed(format!("no embedding for input {i}"))))
            .collect::<Result<_, _>>()?;
        let model = answer.get("model").and_then(Value::as_str).map_or(model, str::to_string);
        Ok(Embeddings { vectors, model, usage: answer.get("usage").filter(|u| u.is_object()).cloned() })
    }
}
