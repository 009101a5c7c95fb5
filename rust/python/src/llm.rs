//! The LLM provider calls of `operonx.llm`, run in Rust (crate `operonx-llm`) on a tokio runtime of
//! the extension, with no Python on their path.
//!
//! The runtime's threads never touch Python: a finished call (or a stream's next chunk) is put in
//! its loop's inbox as plain Rust data, and the first message of a batch writes one byte to a
//! socket the loop watches (`loop.add_reader`). The loop thread then drains every message that
//! arrived (one wake per batch of completions or chunks, never one per chunk), resolves the waiting
//! futures and resumes, in that same turn, the generator pumps that claimed them (`crate::direct`).
//! So the interpreter can finalize while a request is in flight.

use std::collections::{HashMap, VecDeque};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use futures::StreamExt;
use operonx_llm::{genai, ChatEvent, ChatRequest, LlmError, Provider, ProviderConfig, RetryPolicy};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyString;
use serde_json::{json, Map, Value};
use tokio::task::AbortHandle;

use crate::direct::{self, Claim};
use crate::handle::ready;
use crate::value::json_to_py;

/// The runtime of every provider call of this process (one worker thread: the calls wait on the
/// network). A forked child makes its own.
fn runtime() -> &'static tokio::runtime::Handle {
    static RUNTIME: OnceLock<Mutex<Option<(u32, tokio::runtime::Runtime)>>> = OnceLock::new();
    static HANDLES: OnceLock<Mutex<Vec<(u32, &'static tokio::runtime::Handle)>>> = OnceLock::new();
    let pid = std::process::id();
    let handles = HANDLES.get_or_init(|| Mutex::new(Vec::new()));
    let mut handles = handles.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, handle)) = handles.iter().find(|(p, _)| *p == pid) {
        return handle;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("operonx-llm")
        .enable_all()
        .build()
        .expect("starting the LLM runtime");
    let handle: &'static tokio::runtime::Handle = Box::leak(Box::new(rt.handle().clone()));
    // the runtime lives as long as the process; a child's copy of the parent's is never used
    let slot = RUNTIME.get_or_init(|| Mutex::new(None));
    std::mem::forget(slot.lock().unwrap_or_else(|p| p.into_inner()).replace((pid, rt)));
    handles.push((pid, handle));
    handle
}

/// What a call sends back to its loop.
enum Message {
    /// A call ended: `{"ok": true, "value": ...}` or `{"ok": false, "error": {...}}`.
    Done(Value),
    /// A stream's next event, in the same form (`value` is `{"done": answer}`).
    Item(Value),
    /// A stream's next piece of text (a Python `str` on the loop).
    Text(String),
}

/// Messages for one loop, and the socket that wakes it.
struct Inbox {
    queue: Mutex<Vec<(u64, Message)>>,
    wake: UnixStream,
}

impl Inbox {
    /// Queues a message; the first of a batch wakes the loop. The wake is written after the lock
    /// is released, so the loop thread it wakes never waits for this one to release it.
    fn send(&self, id: u64, message: Message) {
        let first = {
            let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
            queue.push((id, message));
            queue.len() == 1
        };
        if first {
            // non-blocking: a full socket means a wake is pending already
            let _ = (&self.wake).write(&[1]);
        }
    }
}

/// A failure as the Python face reads it.
fn error(e: &LlmError) -> Value {
    let (status, retry_after) = match e {
        LlmError::Status { status, retry_after, .. } => (Some(*status), retry_after.map(|d| d.as_secs_f64())),
        _ => (None, None),
    };
    let kind = match e {
        LlmError::Status { .. } => "status",
        LlmError::Connect(_) => "connect",
        LlmError::Timeout(_) => "timeout",
        LlmError::Transport(_) => "transport",
        LlmError::Malformed(_) => "malformed",
        LlmError::Cut { .. } => "cut",
        LlmError::Config(_) => "config",
    };
    json!({"ok": false, "error": {"message": e.to_string(), "kind": kind, "status": status,
                                  "retry_after": retry_after, "retryable": e.retryable()}})
}

fn ok(value: Value) -> Value {
    json!({"ok": true, "value": value})
}

/// Who waits for a call's messages, on the loop thread.
enum Waiting {
    /// An `asyncio.Future` of the whole result.
    Future(Py<PyAny>),
    /// A stream: its items so far, and the future of the next one (with its claim, see
    /// [`crate::direct`]), if someone awaits it.
    Stream { items: VecDeque<Py<PyAny>>, next: Option<(Py<PyAny>, Arc<Claim>)>, ended: bool },
}

/// The provider calls of one event loop: `operonx.llm` makes one per loop and has the loop call
/// `drain` when `fileno()` is readable.
#[pyclass(module = "operonx._core", name = "LlmBridge")]
pub struct PyLlmBridge {
    inbox: Arc<Inbox>,
    read: UnixStream,
    waiting: HashMap<u64, (Waiting, AbortHandle)>,
    providers: HashMap<String, Provider>,
    next_id: u64,
}

#[pymethods]
impl PyLlmBridge {
    #[new]
    fn new() -> PyResult<Self> {
        let (read, wake) = UnixStream::pair().map_err(|e| PyValueError::new_err(e.to_string()))?;
        read.set_nonblocking(true).and_then(|()| wake.set_nonblocking(true)).map_err(|e| PyValueError::new_err(e.to_string()))?;
        let inbox = Arc::new(Inbox { queue: Mutex::new(Vec::new()), wake });
        Ok(PyLlmBridge { inbox, read, waiting: HashMap::new(), providers: HashMap::new(), next_id: 0 })
    }

    /// The descriptor to watch for readability.
    fn fileno(&self) -> i32 {
        use std::os::fd::AsRawFd;
        self.read.as_raw_fd()
    }

    /// Starts a chat completion (`stream`: a stream of texts, each a piece of the message, then
    /// `{"done": answer}`; a failure is an `{"ok": false}` item).
    /// `provider` and `request` are JSON texts; returns the call's id and, without `stream`, the
    /// future of its result.
    #[pyo3(signature = (event_loop, resource, provider, request, retries, timeout, stream))]
    #[allow(clippy::too_many_arguments)]
    fn chat(
        &mut self,
        py: Python<'_>,
        event_loop: &Bound<'_, PyAny>,
        resource: &str,
        provider: &str,
        request: &str,
        retries: u32,
        timeout: Option<f64>,
        stream: bool,
    ) -> PyResult<(u64, Option<Py<PyAny>>)> {
        let provider = self.provider(resource, provider)?;
        let request: Map<String, Value> = parse(request)?;
        let request = ChatRequest::from_inputs(&request).map_err(|e| PyValueError::new_err(e.to_string()))?;
        let (id, inbox, policy) = (self.take_id(), Arc::clone(&self.inbox), RetryPolicy::new(retries));
        let limit = timeout.map(Duration::from_secs_f64);
        if stream {
            let task = runtime().spawn(async move {
                let asked = Instant::now();
                let mut first_chunk = None;
                let mut events = provider.chat_stream(&request, policy);
                let read = async {
                    while let Some(event) = events.next().await {
                        let message = match event {
                            Ok(ChatEvent::Delta(text)) => {
                                first_chunk.get_or_insert_with(|| asked.elapsed());
                                Message::Text(text)
                            }
                            Ok(ChatEvent::Done(answer)) => Message::Item(ok(
                                json!({"done": genai::chat_outputs(&provider, &request, answer, first_chunk)}),
                            )),
                            Err(e) => Message::Item(error(&e)),
                        };
                        inbox.send(id, message);
                    }
                };
                if within(limit, read).await.is_err() {
                    inbox.send(id, Message::Item(error(&timed_out(limit))));
                }
                inbox.send(id, Message::Done(Value::Null));
            });
            let waiting = Waiting::Stream { items: Default::default(), next: None, ended: false };
            self.waiting.insert(id, (waiting, task.abort_handle()));
            return Ok((id, None));
        }
        let task = runtime().spawn(async move {
            let result = match within(limit, provider.chat(&request, &policy)).await {
                Ok(Ok(answer)) => ok(genai::chat_outputs(&provider, &request, answer, None)),
                Ok(Err(e)) => error(&e),
                Err(()) => error(&timed_out(limit)),
            };
            inbox.send(id, Message::Done(result));
        });
        self.future(py, event_loop, id, task.abort_handle()).map(|f| (id, Some(f)))
    }

    /// Starts embedding `texts` (a JSON list); returns the call's id and the future of its result
    /// `{"vectors", "model", "usage", "$span"}` (the call's span attributes).
    #[pyo3(signature = (event_loop, resource, provider, texts, model, retries, timeout))]
    #[allow(clippy::too_many_arguments)]
    fn embed(
        &mut self,
        py: Python<'_>,
        event_loop: &Bound<'_, PyAny>,
        resource: &str,
        provider: &str,
        texts: Vec<String>,
        model: Option<String>,
        retries: u32,
        timeout: Option<f64>,
    ) -> PyResult<(u64, Py<PyAny>)> {
        let provider = self.provider(resource, provider)?;
        let (id, inbox, policy) = (self.take_id(), Arc::clone(&self.inbox), RetryPolicy::new(retries));
        let limit = timeout.map(Duration::from_secs_f64);
        let task = runtime().spawn(async move {
            let result = match within(limit, provider.embed(&texts, model.as_deref(), &policy)).await {
                Ok(Ok(got)) => {
                    let attrs = Value::Object(genai::embed_attributes(&provider, model.as_deref(), &got));
                    ok(json!({"vectors": got.vectors, "model": got.model, "usage": got.usage, genai::SPAN_KEY: attrs}))
                }
                Ok(Err(e)) => error(&e),
                Err(()) => error(&timed_out(limit)),
            };
            inbox.send(id, Message::Done(result));
        });
        self.future(py, event_loop, id, task.abort_handle()).map(|f| (id, f))
    }

    /// An awaitable of stream `id`'s next item (`None` once it ended): a ready one when the item
    /// is queued, else a future offered to whoever awaits it ([`crate::direct`]).
    fn next(&mut self, py: Python<'_>, event_loop: &Bound<'_, PyAny>, id: u64) -> PyResult<Py<PyAny>> {
        let Some((Waiting::Stream { items, next, ended }, _)) = self.waiting.get_mut(&id) else {
            return ready(py, py.None().into_bound(py));
        };
        if let Some(item) = items.pop_front() {
            return ready(py, item.into_bound(py));
        }
        if *ended {
            return ready(py, py.None().into_bound(py));
        }
        let future = event_loop.call_method0(pyo3::intern!(py, "create_future"))?;
        *next = Some((future.clone().unbind(), direct::offer(&future)));
        Ok(future.unbind())
    }

    /// Stops call `id` (its HTTP request is dropped, closing the connection) and forgets it.
    fn cancel(&mut self, id: u64) {
        if let Some((_, abort)) = self.waiting.remove(&id) {
            abort.abort();
        }
    }

    /// Calls in flight.
    fn pending(&self) -> usize {
        self.waiting.len()
    }

    /// Hands every message that arrived to whoever waits for it; then resumes, in this same loop
    /// turn, the pumps that claimed the futures resolved.
    fn drain(slf: &Bound<'_, Self>) -> PyResult<()> {
        let py = slf.py();
        let mut woken = Vec::new();
        let delivered = slf.borrow_mut().deliver(py, &mut woken);
        for claim in woken {
            claim.wake(py);
        }
        delivered
    }
}

impl PyLlmBridge {
    /// Resolves the futures of the messages queued; the claims of those resolved go to `woken`.
    fn deliver(&mut self, py: Python<'_>, woken: &mut Vec<Arc<Claim>>) -> PyResult<()> {
        let mut sink = [0u8; 256];
        // one read: a wake is one byte per batch, so a short read emptied the socket
        while matches!((&self.read).read(&mut sink), Ok(n) if n == sink.len()) {}
        let batch = std::mem::take(&mut *self.inbox.queue.lock().unwrap_or_else(|p| p.into_inner()));
        for (id, message) in batch {
            let Some((waiting, _)) = self.waiting.get_mut(&id) else { continue };
            match (waiting, message) {
                (Waiting::Future(future), Message::Done(value)) => {
                    let future = future.clone_ref(py);
                    self.waiting.remove(&id);
                    resolve(py, future.bind(py), Some(&value))?;
                }
                (Waiting::Stream { items, next, .. }, Message::Item(value)) => {
                    push(py, items, next, json_to_py(py, &value)?.unbind(), woken)?;
                }
                (Waiting::Stream { items, next, .. }, Message::Text(text)) => {
                    push(py, items, next, PyString::new(py, &text).into_any().unbind(), woken)?;
                }
                (Waiting::Stream { next, ended, .. }, Message::Done(_)) => {
                    *ended = true;
                    if let Some((future, claim)) = next.take() {
                        resolve(py, future.bind(py), None)?;
                        woken.push(claim);
                    }
                }
                (Waiting::Future(_), Message::Item(_) | Message::Text(_)) => {}
            }
        }
        Ok(())
    }

    fn take_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// The client of `provider` (the JSON of resource entry `resource`), made once per settings.
    fn provider(&mut self, resource: &str, provider: &str) -> PyResult<Provider> {
        if let Some(p) = self.providers.get(provider) {
            return Ok(p.clone());
        }
        let entry: Map<String, Value> = parse(provider)?;
        let config = ProviderConfig::from_entry(resource, &entry).map_err(|e| PyValueError::new_err(e.to_string()))?;
        let made = Provider::new(config).map_err(|e| PyValueError::new_err(e.to_string()))?;
        self.providers.insert(provider.to_string(), made.clone());
        Ok(made)
    }

    /// A future of `event_loop`, resolved when call `id` ends.
    fn future(&mut self, py: Python<'_>, event_loop: &Bound<'_, PyAny>, id: u64, abort: AbortHandle) -> PyResult<Py<PyAny>> {
        let future = event_loop.call_method0(pyo3::intern!(py, "create_future"))?.unbind();
        self.waiting.insert(id, (Waiting::Future(future.clone_ref(py)), abort));
        Ok(future)
    }
}

impl Drop for PyLlmBridge {
    /// Calls still in flight are stopped: nobody is left to hear of them.
    fn drop(&mut self) {
        for (_, (_, abort)) in self.waiting.drain() {
            abort.abort();
        }
    }
}

/// Stream item `value` to the future awaiting it (whose claim goes to `woken`), else to the queue.
fn push(
    py: Python<'_>,
    items: &mut VecDeque<Py<PyAny>>,
    next: &mut Option<(Py<PyAny>, Arc<Claim>)>,
    value: Py<PyAny>,
    woken: &mut Vec<Arc<Claim>>,
) -> PyResult<()> {
    match next.take() {
        Some((future, claim)) => {
            resolve_with(py, future.bind(py), value)?;
            woken.push(claim);
        }
        None => items.push_back(value),
    }
    Ok(())
}

/// Sets `future`'s result to `value` as Python (`None` for no value), unless it was cancelled.
fn resolve(py: Python<'_>, future: &Bound<'_, PyAny>, value: Option<&Value>) -> PyResult<()> {
    let value = match value {
        Some(v) => json_to_py(py, v)?.unbind(),
        None => py.None(),
    };
    resolve_with(py, future, value)
}

fn resolve_with(py: Python<'_>, future: &Bound<'_, PyAny>, value: Py<PyAny>) -> PyResult<()> {
    if future.call_method0(pyo3::intern!(py, "done"))?.is_truthy()? {
        return Ok(());
    }
    future.call_method1(pyo3::intern!(py, "set_result"), (value,))?;
    Ok(())
}

fn parse(text: &str) -> PyResult<Map<String, Value>> {
    serde_json::from_str(text).map_err(|e| PyValueError::new_err(format!("not a JSON object: {e}")))
}

/// `f`, or `Err` when `limit` passes first.
async fn within<T>(limit: Option<Duration>, f: impl std::future::Future<Output = T>) -> Result<T, ()> {
    match limit {
        Some(limit) => tokio::time::timeout(limit, f).await.map_err(|_| ()),
        None => Ok(f.await),
    }
}

fn timed_out(limit: Option<Duration>) -> LlmError {
    let secs = limit.map_or(0.0, |d| d.as_secs_f64());
    LlmError::Timeout(format!("the call took longer than its timeout of {secs} s"))
}
