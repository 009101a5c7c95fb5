//! OpenAI-compatible provider ops for operonx: chat (plain and streamed) and embeddings over HTTP
//! (reqwest with rustls), with retries that honour `Retry-After`, back off with jitter, and never
//! repeat streamed text to the caller. Works against anything that speaks the OpenAI API: vLLM,
//! llama.cpp's server, Ollama's `/v1`, hosted providers.
//!
//! A provider's settings ([`ProviderConfig`]) come from a resource entry; its API key is shown
//! nowhere but in the request header ([`ApiKey`]).
#![warn(missing_docs)]

mod chat;
mod client;
mod config;
mod embed;
mod error;
pub mod genai;
pub mod ops;
mod retry;
mod stream;

pub use chat::{ChatRequest, ChatResponse, PARAMS};
pub use client::Provider;
pub use config::{ApiKey, ProviderConfig};
pub use embed::Embeddings;
pub use error::LlmError;
pub use retry::RetryPolicy;
pub use stream::{ChatEvent, ChatStream};
