//! `stress`: many runs of the diamond (W3, `benches/rust/docs/W3.json`) on our Rust engine, on a
//! multi-thread tokio runtime, each through `Operon::start` and the handle's `Stream` under a
//! guard timer. The harness is `stress_harness.rs`, which the Rust peer's `peer-stress`
//! (`benches/peers/rust`) compiles too: the same arguments, counting and last line, the same code. A run that does not end within the guard is a stall.
//! The last line on stdout:
//!
//! ```text
//! ours stress stalls=N runs=M errors=E wrong=W concurrency=C workers=T timeout_ms=… elapsed_s=… per_run_us=…
//! ```
//!
//! ```text
//! cargo run --release -p operonx --example stress -- [RUNS] [--concurrency C] [--workers T] [--timeout-ms MS] [--check]
//! ```
//!
//! RUNS defaults to 1 000 000; C runs are in flight at once (default: one per worker thread);
//! T is the runtime's worker threads (default: the cores); `--check` exits 1 unless every run
//! ended with the right answer. The ops are the peer's, registered with `OperonBuilder::op`.

#[path = "workloads.rs"]
#[allow(dead_code)] // the stress uses the diamond's ops only
mod workloads;

#[path = "stress_harness.rs"]
mod harness;

fn main() {
    let json = workloads::document("W3.json");
    harness::run("ours", workloads::engine(&json, workloads::Form::Op));
}
