//! `peer-bench`: the published `operonx` 0.7.1 crate on W1, W2, W3, B and W5, with trivial
//! Rust ops, on a tokio current-thread runtime. One line per workload on stdout:
//!
//! ```text
//! peer W1 median_ns=… per_op_ns=… min_ns=… max_ns=… reps=…
//! ```
//!
//! `median_ns` is the median time of one run (W1, W2, W3), one build (B) or one whole stream
//! (W5); `per_op_ns` divides it by the ops run (W5: `per_item_ns`, by the items).
//!
//! ```text
//! peer-bench [--only W1,W3,B] [--quick] [--reps N] [--budget SECS]
//!            [--stream-bound io|sync] [--stream-items N] [--docs DIR] [--dump-docs DIR]
//! ```
//!
//! `--dump-docs DIR` writes the documents (`W1.json`, `W2.json`, `W3.json`, `stream.json`) and
//! exits; `--docs DIR` runs the documents read from those files instead of generated ones.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures::StreamExt;
use operonx::Operon;
use operonx_peer_bench::ops;
use operonx_peer_bench::sample::{ns_since, Plan, Stats};
use operonx_peer_bench::workloads::{self, Workload, CHAIN_OPS, FANOUT_WIDTH, STREAM_ITEMS};
use serde_json::Value;
use tokio::runtime::Runtime;

/// Runs of the diamond timed together as one repetition (its run is short).
const W3_RUNS_PER_REP: u32 = 2000;
/// How long one stream may take before it counts as stalled.
const STREAM_GUARD: Duration = Duration::from_secs(60);

struct Args {
    only: Option<Vec<String>>,
    quick: bool,
    reps: Option<usize>,
    budget: f64,
    stream_bound: &'static str,
    stream_items: u64,
    docs: Option<PathBuf>,
    dump_docs: Option<PathBuf>,
}

fn usage() -> ! {
    eprintln!("usage: peer-bench [--only W1,W2,W3,B,W5] [--quick] [--reps N] [--budget SECS] [--stream-bound io|sync] [--stream-items N] [--docs DIR] [--dump-docs DIR]");
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut args = Args {
        only: None,
        quick: false,
        reps: None,
        budget: 2.0,
        stream_bound: "io",
        stream_items: STREAM_ITEMS,
        docs: None,
        dump_docs: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| usage());
        match arg.as_str() {
            "--only" => args.only = Some(value().split(',').map(str::to_string).collect()),
            "--quick" => args.quick = true,
            "--reps" => args.reps = Some(value().parse().unwrap_or_else(|_| usage())),
            "--budget" => args.budget = value().parse().unwrap_or_else(|_| usage()),
            "--stream-bound" => {
                args.stream_bound = match value().as_str() {
                    "io" => "io",
                    "sync" => "sync",
                    _ => usage(),
                }
            }
            "--stream-items" => args.stream_items = value().parse().unwrap_or_else(|_| usage()),
            "--docs" => args.docs = Some(PathBuf::from(value())),
            "--dump-docs" => args.dump_docs = Some(PathBuf::from(value())),
            _ => usage(),
        }
    }
    args
}

impl Args {
    fn wants(&self, id: &str) -> bool {
        self.only.as_ref().is_none_or(|ids| ids.iter().any(|i| i == id))
    }

    /// The plan of a workload whose floor is `min_reps` repetitions.
    fn plan(&self, min_reps: usize) -> Plan {
        let plan = if self.quick { Plan::new(1, 3, 0.2) } else { Plan::new(3, min_reps, self.budget) };
        match self.reps {
            Some(n) => plan.exactly(n),
            None => plan,
        }
    }
}

fn line(id: &str, stats: &Stats, per: &str, units: f64, extra: &str) {
    println!(
        "peer {id} median_ns={:.0} {per}={:.1} min_ns={} max_ns={} reps={}{extra}",
        stats.median,
        stats.median / units,
        stats.min,
        stats.max,
        stats.reps
    );
}

/// W1, W2: one run per repetition; W3: 2000 runs per repetition, reported per run.
fn bench_runs(rt: &Runtime, args: &Args, w: &Workload) {
    let engine = ops::engine(&w.json());
    let result = rt.block_on(engine.run_json_async(w.inputs.clone(), None, None, None)).expect("the run succeeds");
    let want = workloads::expected_x(w.id).expect("a run workload");
    assert_eq!(result.get("x").and_then(Value::as_i64), Some(want), "{}: wrong answer {result}", w.id);

    let (runs, ops_per_run) = match w.id {
        "W1" => (1, CHAIN_OPS as f64),
        "W2" => (1, (FANOUT_WIDTH + 2) as f64),
        _ => (W3_RUNS_PER_REP, 5.0),
    };
    let samples = args.plan(if runs == 1 { 15 } else { 5 }).run(|| {
        rt.block_on(async {
            let t = Instant::now();
            for _ in 0..runs {
                let out = engine.run_json_async(w.inputs.clone(), None, None, None).await;
                std::hint::black_box(out.expect("the run succeeds"));
            }
            ns_since(t) / u64::from(runs)
        })
    });
    let extra = if runs == 1 { String::new() } else { format!(" runs_per_rep={runs}") };
    line(w.id, &Stats::of(&samples), "per_op_ns", ops_per_run, &extra);
}

/// B: `Operon::builder(json)` with the ops registered, then `build()`, of W1's document.
fn bench_build(args: &Args, w1: &Workload) {
    let json = w1.json();
    let samples = args.plan(5).run(|| {
        let t = Instant::now();
        let engine: Operon = ops::builder(&json).build().expect("the document builds");
        let ns = ns_since(t);
        drop(engine);
        ns
    });
    line("B", &Stats::of(&samples), "per_op_ns", CHAIN_OPS as f64, "");
}

/// One stream consumed through `start()`: (total, first item) in ns, or `None` if it stalled.
async fn one_stream(engine: &Operon, w: &Workload, n: u64) -> Option<(u64, u64)> {
    let t = Instant::now();
    let mut handle = engine.start(w.inputs.clone(), None, None, None, None).expect("the run starts");
    let consume = async {
        let (mut items, mut first, mut last) = (0u64, 0u64, None);
        while let Some(frame) = handle.next().await {
            let frame = frame.expect("no frame is an error");
            if items == 0 {
                first = ns_since(t);
            }
            items += 1;
            last = frame.data.get("i").and_then(Value::as_u64);
        }
        assert_eq!((items, last), (n, n.checked_sub(1)), "W5: wrong items");
        (ns_since(t), first)
    };
    tokio::time::timeout(STREAM_GUARD, consume).await.ok()
}

/// W5: the generator's items as frames, through `start()` and the handle's `Stream`.
fn bench_stream(rt: &Runtime, args: &Args, w: &Workload) {
    let engine = ops::engine(&w.json());
    let n = args.stream_items;
    if rt.block_on(one_stream(&engine, w, n)).is_none() {
        let bound = args.stream_bound;
        println!("peer W5 stalled=1 bound={bound} guard_s={} items={n}", STREAM_GUARD.as_secs());
        return;
    }
    let mut firsts = Vec::new();
    let samples = args.plan(5).run(|| {
        let (total, first) = rt.block_on(one_stream(&engine, w, n)).expect("W5 stalled after its first run");
        firsts.push(first);
        total
    });
    let first = Stats::of(&firsts[firsts.len() - samples.len()..]).median; // the timed runs only
    let extra = format!(" first_item_ns={first:.0} items={n} bound={}", args.stream_bound);
    line("W5", &Stats::of(&samples), "per_item_ns", n as f64, &extra);
}

fn dump_docs(dir: &Path, stream_bound: &'static str) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for w in workloads::all(stream_bound, STREAM_ITEMS) {
        let path = dir.join(w.file);
        let mut text = serde_json::to_string_pretty(&w.doc).expect("a document serializes");
        text.push('\n');
        std::fs::write(&path, text)?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

fn main() {
    let args = parse_args();
    if let Some(dir) = &args.dump_docs {
        dump_docs(dir, args.stream_bound).unwrap_or_else(|e| panic!("cannot write {}: {e}", dir.display()));
        return;
    }
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime");
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("# operonx 0.7.1 (crates.io), trivial Rust ops, tokio current_thread, run_json_async; {cores} cores");
    let mut all = workloads::all(args.stream_bound, args.stream_items);
    if let Some(dir) = &args.docs {
        for w in &mut all {
            let path = dir.join(w.file);
            w.text =
                Some(std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display())));
        }
        println!("# documents read from {}", dir.display());
    }
    for w in &all {
        if w.id == "W5" {
            if args.wants("B") {
                bench_build(&args, &all[0]);
            }
            if args.wants("W5") {
                bench_stream(&rt, &args, w);
            }
        } else if args.wants(w.id) {
            bench_runs(&rt, &args, w);
        }
    }
}
