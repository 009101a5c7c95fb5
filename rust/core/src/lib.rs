//! operonx: workflow engine core (placeholder; real sources land here).
