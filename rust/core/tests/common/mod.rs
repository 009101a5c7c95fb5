//! Helpers shared by the integration tests.
#![allow(dead_code)] // each test crate uses its own part of it

use operonx::plan::until::Sink;
use operonx::plan::{Const, ConstId, VarId};

/// Collects what the `until` parser finds: variable names and constants, by id.
#[derive(Default)]
pub struct Found(pub Vec<String>, pub Vec<Const>);

impl Sink for Found {
    fn var(&mut self, name: &str) -> VarId {
        self.0.push(name.to_string());
        (self.0.len() - 1) as VarId
    }
    fn constant(&mut self, value: Const) -> ConstId {
        self.1.push(value);
        (self.1.len() - 1) as ConstId
    }
}

/// SplitMix64: small, deterministic, good enough for test cases.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn percent(&mut self, p: usize) -> bool {
        self.below(100) < p
    }

    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo + 1) as u64) as i64
    }

    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            v.swap(i, self.below(i + 1));
        }
    }
}
