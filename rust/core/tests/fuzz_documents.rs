//! Property test of `Operon::builder(document)...build()` on mutated documents: starting from valid
//! documents of both forms (the conformance fixtures and `tests/published/`: chains, diamonds, branches,
//! loops, nested graphs, generators), keys are dropped, duplicated, renamed, added or retyped, values
//! replaced by random strings, numbers (huge ones included) or deep nesting, edges added (cycles), refs
//! pointed elsewhere, subtrees moved, and the text cut or garbled. `build()` must never panic, and each
//! refusal must be a typed `OperonError` that says what is wrong. 100 000 mutated documents per run, in
//! four tests of 25 000 (the test threads share them).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::OnceLock;

use operonx::{Operon, OperonError};
use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{json, Value};

#[allow(dead_code)] // its async ops are for the conformance test
mod conformance_ops;
mod fuzz_mutate;

use fuzz_mutate::{garble, mutate, write, Rng, KINDS};

/// Mutated documents per test; four tests make 100 000.
const CASES: u32 = 25_000;

/// The documents mutations start from, as JSON values: `(file, document)`.
fn seeds() -> &'static [(String, Value)] {
    static SEEDS: OnceLock<Vec<(String, Value)>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
        let mut seeds = Vec::new();
        for (dir, key) in [("conformance", Some("document")), ("published", None)] {
            let mut files: Vec<_> = std::fs::read_dir(tests.join(dir)).unwrap().map(|e| e.unwrap().path()).collect();
            files.sort();
            for path in files.into_iter().filter(|p| p.extension().is_some_and(|e| e == "json")) {
                let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
                let doc = match key {
                    Some(k) => v[k].clone(),
                    None => v,
                };
                seeds.push((path.file_name().unwrap().to_string_lossy().into_owned(), doc));
            }
        }
        seeds
    })
}

/// Builds `text` with every op the seeds name registered; a panic is caught and returned as `Err`.
fn build(text: String) -> Result<Result<Operon, OperonError>, String> {
    let builder = conformance_ops::register(Operon::builder(text))
        .op("double", |i| Ok(json!({"result": i.get("x").cloned().unwrap_or(Value::Null)})))
        .op("add_one", |i| Ok(json!({"answer": i.get("n").cloned().unwrap_or(Value::Null)})));
    catch_unwind(AssertUnwindSafe(|| builder.build())).map_err(|p| operonx::engine::panic_message(&*p))
}

/// What is wrong with a refusal, if anything: it must be a document error with a message that says
/// something, and a validation error must list problems that each have a category and a message.
fn check_refusal(e: &OperonError) -> Result<(), String> {
    let shown = e.to_string();
    match e {
        OperonError::Malformed(m) if m.trim().len() >= 10 => Ok(()),
        OperonError::SchemaVersion { found } if !found.is_empty() => Ok(()),
        OperonError::Invalid { graph: _, problems } if !problems.is_empty() => {
            match problems.iter().find(|p| p.category.is_empty() || p.message.trim().len() < 10) {
                Some(p) => Err(format!("a problem without a category or message: {p:?}")),
                None => Ok(()),
            }
        }
        _ => Err(format!("an untyped or empty refusal: {e:?} ({shown})")),
    }
}

/// Mutates seed `seed` with `steps` (mutation kind, randomness) and builds the result.
fn check(seed: usize, steps: &[(u8, u64)]) -> Result<(), TestCaseError> {
    let seeds = seeds();
    let (file, doc) = &seeds[seed % seeds.len()];
    let mut doc = doc.clone();
    let mut text_edits = Vec::new();
    for &(kind, r) in steps {
        let mut rng = Rng::new(r);
        if !mutate(&mut doc, kind, &mut rng, seeds) {
            text_edits.push(r);
        }
    }
    let mut text = write(&doc);
    for r in text_edits {
        garble(&mut text, &mut Rng::new(r));
    }
    // A stack overflow aborts the process, which no catch_unwind stops: FUZZ_LOG=path writes each
    // document (per test thread) before it is built, so that the last one written is the culprit.
    if let Ok(path) = std::env::var("FUZZ_LOG") {
        std::fs::write(format!("{path}.{:?}", std::thread::current().id()), &text).unwrap();
    }
    match build(text.clone()) {
        Err(panic) => Err(TestCaseError::fail(format!("build() panicked ({panic}) on a mutation of {file}:\n{text}"))),
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => check_refusal(&e).map_err(|why| TestCaseError::fail(format!("{why}\nmutation of {file}:\n{text}"))),
    }
}

fn config() -> Config {
    // FUZZ_CASES overrides the count (to search longer, or to try a change quickly).
    let cases = std::env::var("FUZZ_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(CASES);
    Config { cases, failure_persistence: None, max_shrink_iters: 2_000, ..Config::default() }
}

fn steps() -> impl Strategy<Value = Vec<(u8, u64)>> {
    prop::collection::vec((0..KINDS, any::<u64>()), 1..5)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn mutated_documents_build_or_are_refused_clearly_1(seed in 0usize..1000, steps in steps()) {
        check(seed, &steps)?;
    }

    #[test]
    fn mutated_documents_build_or_are_refused_clearly_2(seed in 0usize..1000, steps in steps()) {
        check(seed, &steps)?;
    }

    #[test]
    fn mutated_documents_build_or_are_refused_clearly_3(seed in 0usize..1000, steps in steps()) {
        check(seed, &steps)?;
    }

    #[test]
    fn mutated_documents_build_or_are_refused_clearly_4(seed in 0usize..1000, steps in steps()) {
        check(seed, &steps)?;
    }
}

#[test]
fn the_seeds_build() {
    for (file, doc) in seeds() {
        match build(write(doc)) {
            Ok(Ok(_)) => {}
            // Generator fixtures need generators the Rust vocabulary registers; every seed must build.
            Ok(Err(e)) => panic!("{file}: {e}"),
            Err(p) => panic!("{file}: panicked: {p}"),
        }
    }
}
