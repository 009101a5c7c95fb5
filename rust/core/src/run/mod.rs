//! What a run produces, to be written once for every driver. For now: the frame log of the Rust
//! driver ([`frames`]).

pub mod frames;
