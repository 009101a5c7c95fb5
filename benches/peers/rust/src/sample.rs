//! Repetitions under a time budget, and their median.

use std::time::{Duration, Instant};

/// How many times a workload repeats: `warmup` untimed repetitions, then timed ones until
/// `budget` is spent, never fewer than `min_reps` nor more than `max_reps`.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub warmup: usize,
    pub min_reps: usize,
    pub max_reps: usize,
    pub budget: Duration,
}

impl Plan {
    /// A plan with `min_reps` repetitions at least and a budget of `secs` seconds.
    pub fn new(warmup: usize, min_reps: usize, secs: f64) -> Self {
        Plan { warmup, min_reps, max_reps: 100_000, budget: Duration::from_secs_f64(secs) }
    }

    /// Exactly `reps` timed repetitions (after the warm-up).
    pub fn exactly(mut self, reps: usize) -> Self {
        self.min_reps = reps;
        self.max_reps = reps;
        self
    }

    /// Runs `rep` (which returns the nanoseconds of one repetition) as planned.
    pub fn run(&self, mut rep: impl FnMut() -> u64) -> Vec<u64> {
        for _ in 0..self.warmup {
            rep();
        }
        let start = Instant::now();
        let mut samples = Vec::new();
        while samples.len() < self.max_reps && (samples.len() < self.min_reps || start.elapsed() < self.budget) {
            samples.push(rep());
        }
        samples
    }
}

/// Median, minimum and maximum of some samples (nanoseconds).
#[derive(Debug, Clone, Copy)]
pub struct Stats {
    pub median: f64,
    pub min: u64,
    pub max: u64,
    pub reps: usize,
}

impl Stats {
    /// Statistics of a non-empty sample.
    pub fn of(samples: &[u64]) -> Stats {
        assert!(!samples.is_empty(), "no samples");
        let mut sorted = samples.to_vec();
        sorted.sort_unstable();
        let n = sorted.len();
        let median = if n % 2 == 1 { sorted[n / 2] as f64 } else { (sorted[n / 2 - 1] + sorted[n / 2]) as f64 / 2.0 };
        Stats { median, min: sorted[0], max: sorted[n - 1], reps: n }
    }
}

/// Nanoseconds since `t`.
pub fn ns_since(t: Instant) -> u64 {
    u64::try_from(t.elapsed().as_nanos()).unwrap_or(u64::MAX)
}
