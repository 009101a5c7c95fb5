//! The conformance fixtures through the tokio driver: awaited in place on a current-thread runtime,
//! and spawned on a multi-thread runtime behind an `ExecutionHandle` whose stream gives the frames.
//! The `async def` twins are real async ops here (`conformance_ops::register_async`).

use std::time::Duration;

use futures::StreamExt;
use operonx::drivers::inline::RunOutput;
use operonx::{Frame, Operon, OperonError};
use serde_json::{Map, Value};

use super::{conformance_ops, mode};

/// What one fixture's run gave, or why the runner could not run it.
type Ran = Result<Result<RunOutput, OperonError>, String>;

/// A hang is a failure: every run has this long.
const TIMEOUT: Duration = Duration::from_secs(20);

fn build(fixture: &Value) -> Result<Operon, String> {
    conformance_ops::register_async(Operon::builder(fixture["document"].to_string()))
        .build()
        .map_err(|e| format!("build failed: {e}"))
}

/// `Operon::run_async_with` awaited on a current-thread runtime.
pub fn in_place(fixture: &Value) -> Ran {
    let engine = build(fixture)?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    rt.block_on(async {
        let run = engine.run_async_with(fixture["inputs"].clone(), mode(fixture));
        tokio::time::timeout(TIMEOUT, run).await.map_err(|_| "the run hung".to_string())
    })
}

/// `Operon::start_with` on a multi-thread runtime: the frames of the stream, then `result(true)`
/// and the listed errors.
pub fn through_handle(fixture: &Value) -> Ran {
    let engine = build(fixture)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        let mut handle = match engine.start_with(fixture["inputs"].clone(), mode(fixture)) {
            Ok(handle) => handle,
            Err(e) => return Ok(Err(e)),
        };
        let streamed = async {
            let mut frames = Vec::new();
            while let Some(frame) = handle.next().await {
                match frame {
                    Ok(f) => frames.push(Frame { op: f.op, context: f.context.to_vec(), data: f.data }),
                    Err(e) => return (frames, Some(e)),
                }
            }
            (frames, None)
        };
        let (frames, failed) = tokio::time::timeout(TIMEOUT, streamed).await.map_err(|_| "the stream hung")?;
        let result = tokio::time::timeout(TIMEOUT, handle.result(true)).await.map_err(|_| "result() hung")?;
        match (result, failed) {
            (Err(e), Some(streamed)) if e.to_string() == streamed.to_string() => Ok(Err(e)),
            (Err(e), streamed) => Err(format!("result() failed with {e}, the stream ended with {streamed:?}")),
            (Ok(v), Some(e)) => Err(format!("result() gave {v}, the stream ended with {e}")),
            (Ok(Value::Object(outputs)), None) => {
                Ok(Ok(RunOutput { outputs, frames, errors: handle.errors(), ..RunOutput::default() }))
            }
            (Ok(other), None) => Ok(Ok(RunOutput { outputs: Map::from_iter([("?".into(), other)]), ..Default::default() })),
        }
    })
}
