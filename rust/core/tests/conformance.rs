//! The conformance fixtures (`tests/conformance/*.json`, described in its README) through the Rust
//! drivers: every fixture is built with the vocabulary of `conformance_ops`, run with its error
//! mode, and its frames, grouped result and errors (or its failure) are compared with the
//! expectation. Three runners: the inline driver (`Operon::run_with`), the tokio driver awaited in
//! place (`Operon::run_async_with`, with real async ops for the `async def` twins), and the tokio
//! driver spawned behind a handle (the frames of its stream, then `result(true)`). The same files run
//! through the Python driver in `tests/test_conformance.py`.

use std::path::Path;

use operonx::drivers::inline::RunOutput;
use operonx::scheduler::ErrorMode;
use operonx::{Frame, Operon, OperonError};
use serde_json::{json, Map, Value};

mod conformance_ops;

/// Fixtures where the Rust driver disagrees with the expectation: (fixture, what differs). Each is
/// asserted to still fail: fixing the driver makes the test say to remove the entry.
const KNOWN_DISCREPANCIES: &[(&str, &str)] = &[];

/// Every fixture file, `(name, fixture)`, sorted by name.
fn fixtures() -> Vec<(String, Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("conformance");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("the fixture directory") {
        let path = entry.expect("a directory entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("a readable fixture");
        let fixture: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let stem = path.file_stem().and_then(|s| s.to_str()).expect("a file name").to_string();
        assert_eq!(fixture["name"], json!(stem), "{}: the name must be the file's", path.display());
        out.push((stem, fixture));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn build(fixture: &Value) -> Result<Operon, OperonError> {
    conformance_ops::register(Operon::builder(fixture["document"].to_string())).build()
}

/// How a runner runs one fixture's engine: what the run produced, or its error.
type Runner = fn(&Value) -> Result<Result<RunOutput, OperonError>, String>;

fn inline(fixture: &Value) -> Result<Result<RunOutput, OperonError>, String> {
    let engine = build(fixture).map_err(|e| format!("build failed: {e}"))?;
    Ok(engine.run_with(fixture["inputs"].clone(), mode(fixture)))
}

fn mode(fixture: &Value) -> ErrorMode {
    match fixture["errors"].as_str() {
        Some("continue") => ErrorMode::Continue,
        _ => ErrorMode::Raise,
    }
}

/// An engine error as fixtures write it: `{kind, op, context}`.
fn error_json(e: &OperonError) -> Value {
    match e {
        OperonError::MissingInput { op, context, .. } => json!({"kind": "MissingInput", "op": op, "context": context}),
        OperonError::OpFailed { op, context, .. } => json!({"kind": "OpFailed", "op": op, "context": context}),
        other => {
            let debug = format!("{other:?}");
            let kind: String = debug.chars().take_while(|c| c.is_alphanumeric()).collect();
            json!({"kind": kind, "op": null, "context": null})
        }
    }
}

fn frame_json(f: &Frame) -> Value {
    json!({"op": f.op, "context": f.context, "data": f.data})
}

/// Equal lists, or with `ordered == false` equal as multisets.
fn same_list(got: &[Value], want: &[Value], ordered: bool) -> bool {
    if ordered {
        return got == want;
    }
    let mut left: Vec<&Value> = got.iter().collect();
    for w in want {
        match left.iter().position(|g| *g == w) {
            Some(i) => {
                left.swap_remove(i);
            }
            None => return false,
        }
    }
    left.is_empty()
}

/// Equal grouped outputs; with unordered frames a list value is compared as a multiset.
fn same_grouped(got: &Map<String, Value>, want: &Value, ordered: bool) -> bool {
    let Some(want) = want.as_object() else { return false };
    if ordered || got.len() != want.len() {
        return got == want;
    }
    want.iter().all(|(k, w)| match (got.get(k), w) {
        (Some(Value::Array(g)), Value::Array(w)) => same_list(g, w, false),
        (Some(g), w) => g == w,
        (None, _) => false,
    })
}

fn array(v: &Value) -> &[Value] {
    v.as_array().map(Vec::as_slice).unwrap_or(&[])
}

/// Runs one fixture; `Err` says what differs from its expectation.
fn check(fixture: &Value, runner: Runner) -> Result<(), String> {
    let expected = &fixture["expected"];
    let ordered = expected["frames_ordered"].as_bool().unwrap_or(true);
    let run = runner(fixture)?;
    if let Some(want) = expected.get("error") {
        // A failed run returns no frames: the ones produced before the failure are not checked here.
        return match run {
            Ok(out) => Err(format!("expected the error {want}, the run gave {}", Value::Object(out.outputs))),
            Err(e) if error_json(&e) == *want => Ok(()),
            Err(e) => Err(format!("error {}, expected {want}", error_json(&e))),
        };
    }
    let out = run.map_err(|e| format!("the run failed: {}", error_json(&e)))?;
    let frames: Vec<Value> = out.frames.iter().map(frame_json).collect();
    if !same_list(&frames, array(&expected["frames"]), ordered) {
        return Err(format!("frames {}, expected {}", Value::from(frames), expected["frames"]));
    }
    if !same_grouped(&out.outputs, &expected["result"], ordered) {
        return Err(format!("result {}, expected {}", Value::Object(out.outputs), expected["result"]));
    }
    let errors: Vec<Value> = out.errors.iter().map(error_json).collect();
    if !same_list(&errors, array(&expected["errors"]), ordered) {
        return Err(format!("errors {}, expected {}", Value::from(errors), expected["errors"]));
    }
    Ok(())
}

fn listed<'a>(list: &[(&str, &'a str)], name: &str) -> Option<&'a str> {
    list.iter().find(|(n, _)| *n == name).map(|(_, why)| *why)
}

/// Runs every fixture (but the known discrepancies) through `runner`.
fn check_all(runner: Runner) {
    let mut failures = Vec::new();
    let mut ran = 0;
    for (name, fixture) in fixtures() {
        if listed(KNOWN_DISCREPANCIES, &name).is_some() {
            continue;
        }
        ran += 1;
        if let Err(why) = check(&fixture, runner) {
            failures.push(format!("{name}: {why}"));
        }
    }
    assert!(ran > 0);
    assert!(failures.is_empty(), "{} fixture(s) differ:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn every_fixture_gives_its_expected_frames_result_and_errors() {
    check_all(inline);
}

#[cfg(feature = "tokio")]
mod conformance_tokio;

#[cfg(feature = "tokio")]
#[test]
fn every_fixture_gives_the_same_on_the_tokio_driver_awaited_in_place() {
    check_all(conformance_tokio::in_place);
}

#[cfg(feature = "tokio")]
#[test]
fn every_fixture_gives_the_same_through_a_streaming_handle() {
    check_all(conformance_tokio::through_handle);
}

#[test]
fn known_discrepancies_still_differ() {
    let all = fixtures();
    for (name, what) in KNOWN_DISCREPANCIES {
        let (_, fixture) = all.iter().find(|(n, _)| n == name).expect("a listed fixture exists");
        assert!(check(fixture, inline).is_err(), "{name} now passes: remove it from KNOWN_DISCREPANCIES ({what})");
    }
}

#[test]
fn the_lists_name_distinct_fixtures() {
    let names: Vec<String> = fixtures().into_iter().map(|(n, _)| n).collect();
    let mut seen = Vec::new();
    for (name, _) in KNOWN_DISCREPANCIES {
        assert!(names.iter().any(|n| n == name), "{name} is not a fixture");
        assert!(!seen.contains(name), "{name} is listed twice");
        seen.push(*name);
    }
}

#[test]
fn there_are_enough_fixtures() {
    assert!(fixtures().len() >= 45, "{} fixtures", fixtures().len());
}
