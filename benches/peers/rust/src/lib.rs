//! The published `operonx` 0.7.1 Rust crate as a benchmark peer: the workloads' graph
//! documents ([`docs`], [`workloads`]), the trivial ops they call ([`ops`]) and the sampling
//! helpers ([`sample`]) shared by the `peer-bench` and `peer-stress` binaries.

pub mod docs;
pub mod ops;
pub mod sample;
pub mod workloads;
