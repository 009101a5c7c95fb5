//! The Rust API with trivial Rust ops, on the documents the Rust peer runs (`benches/rust/docs/`):
//! W1 (a 1000-op chain), W2 (1 → 1000 → 1), W3 (the 5-op diamond, per run), B (building W1's
//! engine) and W5 (a stream of 100 000 items), and `body` (the trivial op alone, called 1000
//! times per iteration: the floor of a run's cost per op), each run through `Operon::run_json_async` (W5
//! through `Operon::start` and the handle's `Stream`) on a tokio current-thread runtime, with the
//! ops registered in both forms (see `workloads.rs`).
//!
//! ```text
//! cargo bench -p operonx --bench api                          # criterion's report, then the figures
//! cargo bench -p operonx --bench api -- W3                    # criterion's filters and flags
//! OPERONX_BENCH_QUICK=1 cargo bench -p operonx --bench api    # short: 10 samples, 1 s each
//! ```
//!
//! After criterion's report, one line per benchmark in the Rust peer's format, which
//! `benches/rust/compare.sh` reads:
//!
//! ```text
//! ours W1 median_ns=… per_op_ns=… min_ns=… max_ns=… reps=… form=op
//! ours W1/op_ref median_ns=… per_op_ns=… min_ns=… max_ns=… reps=… form=op_ref
//! ```
//!
//! `median_ns` is the median over criterion's samples of the mean time of one run (W1, W2, W3),
//! one build (B) or one whole stream (W5) in the sample; `per_op_ns` divides it by the ops of a
//! run (W5: `per_item_ns` by the items, and `first_item_ns` is the median time from `start()` to
//! the first frame). Every sample runs the same number of repetitions (criterion's flat sampling),
//! and the workload's answer is checked before it is timed.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkGroup, Criterion, SamplingMode, Throughput};
use futures::StreamExt;
use serde_json::{Map, Value};
use tokio::runtime::Runtime;

#[path = "workloads.rs"]
mod workloads;

use workloads::{Form, CHAIN_OPS, DIAMOND_OPS, FANOUT_OPS, STREAM_ITEMS};

/// What one benchmark measured: per criterion call, the mean of one repetition in ns (and, for
/// the stream, the mean time to its first item).
#[derive(Default)]
struct Recorded {
    means: Vec<f64>,
    firsts: Vec<f64>,
}

/// Every benchmark's samples, by figure id, and the settings they were taken with.
struct Figures {
    recorded: RefCell<BTreeMap<String, (Recorded, f64, &'static str)>>,
    samples: usize,
    warm_up: Duration,
    measurement: Duration,
}

impl Figures {
    fn new() -> Self {
        let quick = std::env::var_os("OPERONX_BENCH_QUICK").is_some_and(|v| !v.is_empty() && v != "0");
        let (samples, warm_up, measurement) = if quick { (10, 0.3, 1.0) } else { (30, 1.0, 4.0) };
        Figures {
            recorded: RefCell::default(),
            samples,
            warm_up: Duration::from_secs_f64(warm_up),
            measurement: Duration::from_secs_f64(measurement),
        }
    }

    /// A criterion group sampled flat with our sample count and times.
    fn group<'c>(&self, c: &'c mut Criterion, name: &str) -> BenchmarkGroup<'c, criterion::measurement::WallTime> {
        let mut g = c.benchmark_group(name);
        g.sampling_mode(SamplingMode::Flat)
            .sample_size(self.samples)
            .warm_up_time(self.warm_up)
            .measurement_time(self.measurement);
        g
    }

    /// Notes one criterion call of figure `id`: `reps` repetitions took `total`; `first` is the
    /// summed time to the first item of each (streams only).
    fn note(&self, id: &str, units: f64, per: &'static str, reps: u64, total: Duration, first: Option<Duration>) {
        let mut all = self.recorded.borrow_mut();
        let (r, _, _) = all.entry(id.to_string()).or_insert_with(|| (Recorded::default(), units, per));
        r.means.push(total.as_nanos() as f64 / reps as f64);
        if let Some(first) = first {
            r.firsts.push(first.as_nanos() as f64 / reps as f64);
        }
    }

    /// Prints one line per figure, from the calls of criterion's measurement (its last
    /// `samples` calls; the ones before were its warm-up).
    fn print(&self) {
        println!("# operonx (ours), trivial Rust ops, tokio current_thread, run_json_async; {} cores", cores());
        for (id, (r, units, per)) in self.recorded.borrow().iter() {
            let keep = r.means.len().min(self.samples);
            let means = &r.means[r.means.len() - keep..];
            let (median, min, max) = stats(means);
            let form = if id.ends_with("/op_ref") { "op_ref" } else { "op" };
            let mut extra = String::new();
            if !r.firsts.is_empty() {
                let firsts = &r.firsts[r.firsts.len() - r.firsts.len().min(self.samples)..];
                extra = format!(" first_item_ns={:.0} items={STREAM_ITEMS}", stats(firsts).0);
            }
            println!(
                "ours {id} median_ns={median:.0} {per}={:.1} min_ns={min:.0} max_ns={max:.0} reps={keep}{extra} form={form}",
                median / units
            );
        }
    }
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(0, |n| n.get())
}

/// Median, minimum and maximum of a non-empty sample.
fn stats(samples: &[f64]) -> (f64, f64, f64) {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let median = if n % 2 == 1 { sorted[n / 2] } else { (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0 };
    (median, sorted[0], sorted[n - 1])
}

/// W1, W2, W3: `run_json_async` of an engine built beforehand, `iters` runs in one `block_on`.
fn bench_runs(c: &mut Criterion, rt: &Runtime, figures: &Figures, (id, file, ops, want): (&str, &str, usize, i64)) {
    let json = workloads::document(file);
    let inputs = workloads::inputs("x", 0);
    let mut group = figures.group(c, id);
    group.throughput(Throughput::Elements(ops as u64));
    for form in [Form::Op, Form::OpRef] {
        let engine = workloads::engine(&json, form);
        let result = rt.block_on(engine.run_json_async(inputs.clone(), None, None, None)).expect("the run succeeds");
        assert_eq!(result.get("x").and_then(Value::as_i64), Some(want), "{id}: wrong answer {result}");
        let figure = format!("{id}{}", form.suffix());
        group.bench_function(form.name(), |b| {
            b.iter_custom(|iters| {
                let total = rt.block_on(async {
                    let t = Instant::now();
                    for _ in 0..iters {
                        let out = engine.run_json_async(inputs.clone(), None, None, None).await;
                        black_box(out.expect("the run succeeds"));
                    }
                    t.elapsed()
                });
                figures.note(&figure, ops as f64, "per_op_ns", iters, total, None);
                total
            })
        });
    }
    group.finish();
}

/// B: `Operon::builder(W1.json)` with the ops registered, then `build()` (the engine is dropped
/// outside the timing).
fn bench_build(c: &mut Criterion, figures: &Figures) {
    let json = workloads::document("W1.json");
    let mut group = figures.group(c, "B");
    group.throughput(Throughput::Elements(CHAIN_OPS as u64));
    for form in [Form::Op, Form::OpRef] {
        let figure = format!("B{}", form.suffix());
        group.bench_function(form.name(), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let t = Instant::now();
                    let engine = workloads::builder(&json, form).build().expect("the document builds");
                    total += t.elapsed();
                    drop(engine);
                }
                figures.note(&figure, CHAIN_OPS as f64, "per_op_ns", iters, total, None);
                total
            })
        });
    }
    group.finish();
}

/// The trivial op alone, without the engine (the floor of W1's cost per op): `inc` called with
/// its inputs and its outputs dropped, in each form. For `.op` the call includes making its
/// inputs as the engine makes them (an object copied from one holding the parameter names).
fn bench_body(c: &mut Criterion, figures: &Figures) {
    let mut group = figures.group(c, "body");
    let template: Map<String, Value> = Map::from_iter([("x".to_string(), Value::Null)]);
    let names: std::sync::Arc<[String]> = vec!["x".to_string()].into();
    const CALLS: u64 = 1000;
    group.throughput(Throughput::Elements(CALLS));
    group.bench_function("op", |b| {
        b.iter_custom(|iters| {
            let t = Instant::now();
            for i in 0..iters * CALLS {
                let mut inputs = template.clone();
                if let Some(x) = inputs.get_mut("x") {
                    *x = Value::from(black_box(i));
                }
                black_box(workloads::inc(inputs).expect("inc succeeds"));
            }
            let total = t.elapsed();
            figures.note("body", 1.0, "per_op_ns", iters * CALLS, total, None);
            total
        })
    });
    group.bench_function("op_ref", |b| {
        b.iter_custom(|iters| {
            let t = Instant::now();
            for i in 0..iters * CALLS {
                let values = smallvec::smallvec![Value::from(black_box(i))];
                let inputs = operonx::ops::Inputs::from_parts(std::sync::Arc::clone(&names), values);
                black_box(workloads::inc_ref(&inputs).expect("inc succeeds"));
            }
            let total = t.elapsed();
            figures.note("body/op_ref", 1.0, "per_op_ns", iters * CALLS, total, None);
            total
        })
    });
    group.finish();
}

/// One whole stream through `start()`: (total, first item).
async fn one_stream(engine: &operonx::Operon, inputs: &Map<String, Value>) -> (Duration, Duration) {
    let t = Instant::now();
    let mut handle = engine.start(inputs.clone(), None, None, None, None).expect("the run starts");
    let (mut items, mut first, mut last) = (0u64, Duration::ZERO, None);
    while let Some(frame) = handle.next().await {
        let frame = frame.expect("no frame is an error");
        if items == 0 {
            first = t.elapsed();
        }
        items += 1;
        last = frame.data.get("i").and_then(Value::as_u64);
    }
    assert_eq!((items, last), (STREAM_ITEMS, Some(STREAM_ITEMS - 1)), "W5: wrong items");
    (t.elapsed(), first)
}

/// W5: the generator's items as frames, through `start()` and the handle's `Stream`.
fn bench_stream(c: &mut Criterion, rt: &Runtime, figures: &Figures) {
    let engine = workloads::engine(&workloads::document("stream.json"), Form::Op);
    let inputs = workloads::inputs("n", STREAM_ITEMS);
    rt.block_on(one_stream(&engine, &inputs));
    let mut group = figures.group(c, "W5");
    group.throughput(Throughput::Elements(STREAM_ITEMS));
    group.bench_function("gen", |b| {
        b.iter_custom(|iters| {
            let (mut total, mut first) = (Duration::ZERO, Duration::ZERO);
            for _ in 0..iters {
                let (t, f) = rt.block_on(one_stream(&engine, &inputs));
                total += t;
                first += f;
            }
            figures.note("W5", STREAM_ITEMS as f64, "per_item_ns", iters, total, Some(first));
            total
        })
    });
    group.finish();
}

/// `OPERONX_BENCH_PROFILE=<id>[/op_ref]:<runs>` (e.g. `W1/op_ref:200`): only `runs` runs of W1, W2
/// or W3 (after 3 untimed ones), for a profiler (`valgrind --tool=callgrind`).
fn profile(spec: &str, rt: &Runtime) {
    let (figure, runs) = spec.split_once(':').expect("OPERONX_BENCH_PROFILE=<id>[/op_ref]:<runs>");
    let runs: u64 = runs.parse().expect("a number of runs");
    let (id, form) = match figure.split_once('/') {
        Some((id, "op_ref")) => (id, Form::OpRef),
        _ => (figure, Form::Op),
    };
    let engine = workloads::engine(&workloads::document(&format!("{id}.json")), form);
    let inputs = workloads::inputs("x", 0);
    rt.block_on(async {
        for _ in 0..runs + 3 {
            black_box(engine.run_json_async(inputs.clone(), None, None, None).await.expect("the run succeeds"));
        }
    });
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime");
    if let Ok(spec) = std::env::var("OPERONX_BENCH_PROFILE") {
        return profile(&spec, &rt);
    }
    let mut c = Criterion::default().configure_from_args();
    let figures = Figures::new();
    bench_runs(&mut c, &rt, &figures, ("W1", "W1.json", CHAIN_OPS, CHAIN_OPS as i64));
    bench_runs(&mut c, &rt, &figures, ("W2", "W2.json", FANOUT_OPS, 2000));
    bench_runs(&mut c, &rt, &figures, ("W3", "W3.json", DIAMOND_OPS, 5));
    bench_build(&mut c, &figures);
    bench_body(&mut c, &figures);
    bench_stream(&mut c, &rt, &figures);
    c.final_summary();
    figures.print();
}
