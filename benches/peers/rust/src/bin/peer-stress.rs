//! `peer-stress`: many runs of the diamond (W3) on the published `operonx` 0.7.1 crate, on a
//! multi-thread tokio runtime, each through `start()` and the handle's `Stream` under a guard
//! timer. A run that does not end within the guard is a stall. The last line on stdout:
//!
//! ```text
//! peer stress stalls=N runs=M errors=E wrong=W concurrency=C workers=T timeout_ms=… elapsed_s=… per_run_us=…
//! ```
//!
//! ```text
//! peer-stress [RUNS] [--concurrency C] [--workers T] [--timeout-ms MS] [--check]
//! ```
//!
//! RUNS defaults to 1 000 000; C runs are in flight at once (default: one per worker thread);
//! T is the runtime's worker threads (default: the cores); `--check` exits 1 unless every run
//! ended with the right answer.

use operonx_peer_bench::{ops, workloads};

#[path = "../../../../rust/stress_harness.rs"]
mod harness;

fn main() {
    let json = serde_json::to_string(&workloads::diamond()).expect("a document serializes");
    harness::run("peer", ops::engine(&json));
}
