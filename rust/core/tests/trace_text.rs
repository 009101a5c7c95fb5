//! The trace file's text, written straight from a span log ([`RunRecord::write_pretty`]), is byte
//! for byte what `serde_json` pretty-prints for the same document built as a value
//! ([`RunRecord::document`]), whatever the values, errors, streams and frames.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use operonx::graph::schema::parse;
use operonx::plan::{compile, Plan};
use operonx::scheduler::{Path, Segment, ROOT};
use operonx::trace::{OpSource, RunIds, RunRecord, SpanLog};

fn plan() -> Arc<Plan> {
    let code = |gen: bool| json!({"type": "code", "func_name": "f", "is_generator": gen, "inputs": {}});
    let doc = json!({
        "schema_version": "1.0", "name": "g",
        "ops": {"a": code(false), "gen": code(true), "c": code(false)},
        "edges": [{"from": "a", "to": "gen"}, {"from": "gen", "to": "c"}],
        "entries": ["a"], "exits": ["c"]
    });
    Arc::new(compile(&parse(&doc.to_string()).unwrap()).unwrap())
}

/// Writes `text` to the log; its range.
fn put(log: &mut SpanLog, text: &str) -> Option<std::ops::Range<u32>> {
    let from = log.mark();
    log.text_mut().extend_from_slice(text.as_bytes());
    Some(log.since(from))
}

fn record(log: SpanLog, tags: Vec<String>, error: Option<String>) -> RunRecord {
    let plan = plan();
    let code = "def f(x):\n    return {\"y\": \"\\t\"}\n";
    let sources = (0..plan.ops.len())
        .map(|_| Some(OpSource { function_name: "f".into(), code: Some(code.into()) }))
        .collect();
    let ids = RunIds { user_id: Some("u".into()), session_id: Some("s\"1".into()), request_id: Some("r/1".into()) };
    RunRecord {
        plan,
        spans: Box::new(log),
        ids,
        tags,
        error,
        duration: Duration::from_micros(1234),
        loop_iterations: 3,
        sources: sources_of(sources),
    }
}

fn sources_of(v: Vec<Option<OpSource>>) -> Arc<[Option<OpSource>]> {
    v.into()
}

fn assert_same(rec: &RunRecord, tags: &[String]) {
    let expected = String::from_utf8(serde_json::to_vec_pretty(&rec.document(tags, None)).unwrap()).unwrap();
    let mut ours = Vec::new();
    let id = rec.write_pretty(tags, &mut ours);
    assert_eq!(String::from_utf8(ours).unwrap(), expected);
    assert_eq!(id, "r/1");
}

#[test]
fn a_run_with_values_errors_a_stream_and_frames_is_written_as_serde_json_would() {
    let mut log = SpanLog::with_values();
    let (a, gen, c) = (0, 1, 2);
    let root: Path = [Segment::Root].into_iter().collect();
    let inputs = put(&mut log, r#"{"x":1,"s":"q\"\\ é\n","$tags":["t"],"n":null}"#);
    log.begin(a, ROOT, root.clone(), inputs);
    let outputs = put(&mut log, r#"{"y":[1,2.5,-0.0,1e+16,{"k":null,"e":{},"l":[]}],"$tags":["t"],"big":"123456789012345678901234567890"}"#);
    log.end_ok(a, ROOT, outputs);
    let gen_inputs = put(&mut log, r#"{"y":[1]}"#);
    log.begin(gen, ROOT, root.clone(), gen_inputs);
    for (i, tok) in ["a", "b"].iter().enumerate() {
        let item = put(&mut log, &format!(r#"{{"tok":"{tok}","$tags":[]}}"#));
        log.item(gen, ROOT, item);
        let ctx = 10 + i as u32;
        let path: Path = [Segment::Root, Segment::Item(i as u32)].into_iter().collect();
        let c_inputs = put(&mut log, &format!(r#"{{"tok":"{tok}"}}"#));
        log.begin(c, ctx, path, c_inputs);
        if i == 0 {
            let c_outputs = put(&mut log, r#"{}"#);
            log.end_ok(c, ctx, c_outputs);
        } else {
            log.fail(c, ctx, "ValueError: \"boom\"\nline".into());
        }
    }
    log.end_ok(gen, ROOT, None);
    log.begin(c, 99, root, None); // still open when the run ended
    let run_inputs = put(&mut log, r#"{"x":1,"$x":2}"#);
    let frames = vec![put(&mut log, r#"{"y":1}"#).unwrap(), put(&mut log, r#"{"y":2,"z":"w"}"#).unwrap()];
    log.set_run_io(run_inputs, frames);
    let rec = record(log, vec!["mine".into(), "t".into()], Some("OpError: op 'g.c' failed".into()));
    assert_same(&rec, &["t".into(), "u".into()]);
    assert_same(&rec, &[]);
}

#[test]
fn a_run_with_one_frame_no_tags_and_nothing_recorded_is_written_as_serde_json_would() {
    let mut log = SpanLog::with_values();
    let frames = vec![put(&mut log, r#"{"$tags":["x"],"y":{"deep":[[{"a":[]}]]}}"#).unwrap()];
    log.set_run_io(None, frames);
    assert_same(&record(log, Vec::new(), None), &[]);
    assert_same(&record(SpanLog::new(), Vec::new(), None), &[]);
}
