//! Every public item of the Rust API carries a doc comment with an example.
//!
//! The crate's sources (and those of `operonx-macros`) are parsed with `syn`; the items a user can
//! name are found the way rustc finds them: from `lib.rs`, through `pub mod`, `pub use` (followed to
//! the item it names, across private modules and re-exports) and the inherent `impl` blocks of
//! public types, wherever they are written. `#[cfg(test)]`, `#[cfg(doctest)]` and `#[doc(hidden)]`
//! items are left out; `#[cfg(feature = "tokio")]` (a default feature) is in.
//!
//! Checked: structs, enums, unions, traits and every method of a public trait, functions, inherent
//! `pub fn`s and `pub const`s of public types, type aliases, constants, statics, re-exports of
//! other crates' items (the doc of the `pub use`), and the `pub fn`s of `operonx-macros`. Fields,
//! variants and associated types need prose only (`#![warn(missing_docs)]`).
//!
//! An example is a fenced block that rustdoc compiles as a doc test: no language, `rust`, or only
//! doctest attributes (`no_run`, `should_panic`, `edition20xx`); `ignore`, `text`, `compile_fail`
//! and other languages do not count. The doc comment is read as rustdoc reads it: its `///` lines
//! and the files of its `#[doc = include_str!("...")]` attributes. Examples are written in
//! `rust/core/doc/<module>/<Item>.md` and included that way, so that a source file keeps its
//! prose and stays under the 400-line limit of `tests/test_file_sizes.py`.
//!
//! There is no list of exceptions: a public item added without an example fails this test, which
//! names it.

use std::path::PathBuf;

#[path = "doc_examples/api.rs"]
mod api;
#[path = "doc_examples/crate_tree.rs"]
mod crate_tree;

use api::{has_example, missing_examples, missing_macro_examples};

#[test]
fn every_public_item_has_a_doc_example() {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let (count, mut missing) = missing_examples(&here.join("src/lib.rs"), "operonx");
    let (macro_count, macro_missing) = missing_macro_examples(&here.join("../macros/src/lib.rs"));
    missing.extend(macro_missing);
    assert!(count > 100, "only {count} public items found: the scan lost its way");
    assert!(macro_count >= 2, "the macros of operonx-macros were not found");

    assert!(
        missing.is_empty(),
        "{} public item(s) have no doc example (a ```rust block that compiles as a doc test):\n  {}",
        missing.len(),
        missing.iter().map(String::as_str).collect::<Vec<_>>().join("\n  ")
    );
}

#[test]
fn the_example_rule_reads_fences_as_rustdoc_does() {
    assert!(has_example("Text.\n```\nlet x = 1;\n```\n"));
    assert!(has_example("```rust\nlet x = 1;\n```"));
    assert!(has_example("```no_run\nloop {}\n```"));
    assert!(has_example("```json\n{}\n```\n```rust,no_run\nlet x = 1;\n```"));
    assert!(!has_example("```ignore\nlet x = 1;\n```"));
    assert!(!has_example("```text\nnot rust\n```"));
    assert!(!has_example("```compile_fail\nlet x: u8 = -1;\n```"));
    assert!(!has_example("No example, `inline code` only."));
}
