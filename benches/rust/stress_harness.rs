//! The stress harness that `stress` (ours, `benches/rust/stress.rs`) and `peer-stress` (the published
//! crate, `benches/peers/rust`) both compile, each against its own `operonx` crate: the same code
//! measures both engines. See either binary for what it does and prints.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use operonx::Operon;
use serde_json::{Map, Value};

/// Stalls described on stderr (and as `#` lines on stdout), the first ones only.
const STALLS_SHOWN: usize = 5;

struct Args {
    runs: u64,
    concurrency: usize,
    workers: usize,
    timeout: Duration,
    check: bool,
}

fn usage() -> ! {
    let program = std::env::args().next().unwrap_or_default();
    let name = std::path::Path::new(&program).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    eprintln!("usage: {name} [RUNS] [--concurrency C] [--workers T] [--timeout-ms MS] [--check]");
    std::process::exit(2)
}

fn number<T: std::str::FromStr>(text: Option<String>) -> T {
    text.and_then(|t| t.replace('_', "").parse().ok()).unwrap_or_else(|| usage())
}

fn parse_args() -> Args {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut args =
        Args { runs: 1_000_000, concurrency: 0, workers: cores, timeout: Duration::from_secs(5), check: false };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--concurrency" => args.concurrency = number(it.next()),
            "--workers" => args.workers = number(it.next()),
            "--timeout-ms" => args.timeout = Duration::from_millis(number(it.next())),
            "--check" => args.check = true,
            a if !a.starts_with('-') => args.runs = number(Some(arg)),
            _ => usage(),
        }
    }
    if args.concurrency == 0 {
        args.concurrency = args.workers;
    }
    args
}

/// How one run ended.
enum Outcome {
    Done,
    Wrong(String),
    Error(String),
    /// The guard fired: frames taken from the stream, frames the handle had buffered, and
    /// whether the handle had seen the run's end.
    Stall {
        taken: usize,
        buffered: usize,
        done: bool,
    },
}

/// One run of the diamond: `start()`, then every frame of the stream, under the guard.
async fn one_run(engine: &Operon, inputs: &Map<String, Value>, guard: Duration) -> Outcome {
    let mut handle = match engine.start(inputs.clone(), None, None, None, None) {
        Ok(h) => h,
        Err(e) => return Outcome::Error(e.to_string()),
    };
    let mut taken = 0usize;
    let mut answer = None;
    let consume = async {
        while let Some(frame) = handle.next().await {
            let frame = frame?;
            taken += 1;
            answer = frame.data.get("x").and_then(Value::as_i64);
        }
        Ok::<(), operonx::OperonError>(())
    };
    match tokio::time::timeout(guard, consume).await {
        Err(_) => Outcome::Stall { taken, buffered: handle.frame_count(), done: handle.is_done() },
        Ok(Err(e)) => Outcome::Error(e.to_string()),
        Ok(Ok(())) if taken == 1 && answer == Some(5) => Outcome::Done,
        Ok(Ok(())) => Outcome::Wrong(format!("{taken} frames, last x = {answer:?}")),
    }
}

#[derive(Default)]
struct Tally {
    next: AtomicU64,
    finished: AtomicU64,
    stalls: AtomicU64,
    errors: AtomicU64,
    wrong: AtomicU64,
    notes: Mutex<Vec<String>>,
}

impl Tally {
    fn note(&self, run: u64, what: String) {
        let mut notes = self.notes.lock().expect("notes lock");
        if notes.len() < STALLS_SHOWN {
            eprintln!("stress: run {run}: {what}");
            notes.push(format!("run {run}: {what}"));
        }
    }

    fn record(&self, run: u64, outcome: Outcome) {
        match outcome {
            Outcome::Done => {}
            Outcome::Stall { taken, buffered, done } => {
                self.stalls.fetch_add(1, Ordering::Relaxed);
                self.note(run, format!("stall: {taken} frames taken, {buffered} buffered, handle done = {done}"));
            }
            Outcome::Error(e) => {
                self.errors.fetch_add(1, Ordering::Relaxed);
                self.note(run, format!("error: {e}"));
            }
            Outcome::Wrong(what) => {
                self.wrong.fetch_add(1, Ordering::Relaxed);
                self.note(run, format!("wrong answer: {what}"));
            }
        }
    }
}

/// Takes run numbers until `runs` are taken, one run at a time.
async fn worker(engine: Arc<Operon>, tally: Arc<Tally>, args: Arc<Args>, start: Instant) {
    let inputs = Map::from_iter([("x".to_string(), Value::from(0))]);
    let every = (args.runs / 10).max(1);
    loop {
        let run = tally.next.fetch_add(1, Ordering::Relaxed);
        if run >= args.runs {
            return;
        }
        tally.record(run, one_run(&engine, &inputs, args.timeout).await);
        let finished = tally.finished.fetch_add(1, Ordering::Relaxed) + 1;
        if finished.is_multiple_of(every) {
            let stalls = tally.stalls.load(Ordering::Relaxed);
            eprintln!("stress: {finished}/{} runs, stalls={stalls}, {:.1} s", args.runs, start.elapsed().as_secs_f64());
        }
    }
}

/// Runs the harness over `engine` (the diamond's), as the command line says; `label` starts the
/// last line (`ours`, `peer`). Exits 1 with `--check` when a run stalled, failed or was wrong.
pub fn run(label: &str, engine: Operon) {
    let args = Arc::new(parse_args());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.workers)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let engine = Arc::new(engine);
    let tally = Arc::new(Tally::default());
    let start = Instant::now();
    rt.block_on(async {
        let tasks: Vec<_> = (0..args.concurrency)
            .map(|_| tokio::spawn(worker(engine.clone(), tally.clone(), args.clone(), start)))
            .collect();
        for task in tasks {
            task.await.expect("a stress worker panicked");
        }
    });
    let elapsed = start.elapsed().as_secs_f64();
    for note in tally.notes.lock().expect("notes lock").iter() {
        println!("# {note}");
    }
    let (stalls, errors, wrong) = (
        tally.stalls.load(Ordering::Relaxed),
        tally.errors.load(Ordering::Relaxed),
        tally.wrong.load(Ordering::Relaxed),
    );
    println!(
        "{label} stress stalls={stalls} runs={} errors={errors} wrong={wrong} concurrency={} workers={} timeout_ms={} elapsed_s={elapsed:.1} per_run_us={:.2}",
        args.runs,
        args.concurrency,
        args.workers,
        args.timeout.as_millis(),
        elapsed * 1e6 / args.runs.max(1) as f64
    );
    if args.check && stalls + errors + wrong > 0 {
        std::process::exit(1);
    }
}
