//! Placeholder scheduler benchmark; will be replaced by real benchmarks.

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;

fn sum_vec(c: &mut Criterion) {
    let v: Vec<u64> = (0..1024).collect();
    c.bench_function("placeholder_sum_1024", |b| {
        b.iter(|| black_box(&v).iter().sum::<u64>())
    });
}

criterion_group!(benches, sum_vec);
criterion_main!(benches);
