//! Integer literals of a loop's `until` keep every digit: up to 64 bits they are JSON integers, beyond
//! they are `Const::Int` (decimal digits), never floats. The Rust driver compares integers exactly over
//! the whole JSON range and refuses, naming the loop, an `until` whose integer it cannot hold.

use operonx::graph::TransformKind;
use operonx::ops::{Inputs, Outputs};
use operonx::plan::until;
use operonx::plan::Const;
use operonx::value::apply_json;
use operonx::{OperonError, Operon};
use serde_json::{json, Value};

mod common;
use common::{Found, Rng};

/// The one constant of `n == <literal>`.
fn literal(text: &str) -> Const {
    let mut found = Found::default();
    until::parse(&format!("n == {text}"), &mut found).unwrap_or_else(|e| panic!("{text}: {e}"));
    assert_eq!(found.1.len(), 1, "{text}");
    found.1.pop().unwrap()
}

#[test]
fn integer_literals_of_any_length_keep_every_digit() {
    let mut rng = Rng(7);
    let top = u64::MAX.to_string();
    for _ in 0..5000 {
        let len = 1 + rng.below(60);
        let mut digits: String = (0..len).map(|_| char::from(b'0' + rng.below(10) as u8)).collect();
        if rng.below(4) == 0 {
            // around the edge of 64 bits, where floats have lost the last digits long ago
            digits = format!("{}", u64::MAX as u128 + rng.below(5000) as u128 - 2500);
        }
        let value = digits.trim_start_matches('0');
        let value = if value.is_empty() { "0" } else { value };
        // Python refuses leading zeros before other digits (`007`), and so does until; `000` is 0
        let written = if rng.below(5) == 0 { format!("00{value}") } else { value.to_string() };
        if written.starts_with("00") && value != "0" {
            let mut found = Found::default();
            let err = until::parse(&format!("n == {written}"), &mut found).expect_err(&written);
            assert!(err.contains("leading zeros"), "{written}: {err}");
            continue;
        }
        let beyond = value.len() > top.len() || (value.len() == top.len() && value > top.as_str());
        match literal(&written) {
            Const::Json(Value::Number(n)) if !beyond => {
                assert!(n.is_i64() || n.is_u64(), "{written}");
                assert_eq!(n.to_string(), value, "{written}");
            }
            Const::Int(d) if beyond => assert_eq!(d, value, "{written}"),
            other => panic!("{written}: {other:?}"),
        }
    }
    assert_eq!(literal("18_446_744_073_709_551_618"), Const::Int("18446744073709551618".into()));
    assert_eq!(literal("1.5"), Const::Json(json!(1.5)));
    assert_eq!(literal("1e3"), Const::Json(json!(1000.0)));
}

#[test]
fn json_integers_combine_and_compare_exactly() {
    let apply = |kind: &str, a: Value, b: Value| apply_json(TransformKind::parse(kind).unwrap(), a, &[b]).unwrap();
    let max = json!(u64::MAX);
    assert_eq!(apply("eq", max.clone(), json!(u64::MAX - 1)), json!(false));
    assert_eq!(apply("gt", max.clone(), json!(u64::MAX - 1)), json!(true));
    assert_eq!(apply("lt", json!(i64::MIN), max.clone()), json!(true));
    assert_eq!(apply("sub", max.clone(), json!(u64::MAX - 1)), json!(1));
    assert_eq!(apply("add", json!(u64::MAX - 7), json!(7)), max);
    // an integer and a float compare by value, as in Python
    let two_53 = 1i64 << 53;
    assert_eq!(apply("eq", json!(two_53 + 1), json!(two_53 as f64)), json!(false));
    assert_eq!(apply("gt", json!(two_53 + 1), json!(two_53 as f64)), json!(true));
    assert_eq!(apply("lt", json!(two_53 as f64), json!(two_53 + 1)), json!(true));
    assert_eq!(apply("eq", json!(3), json!(3.0)), json!(true));
    assert_eq!(apply("lt", json!(3), json!(3.5)), json!(true));
    assert_eq!(apply("gt", json!(-3), json!(-3.5)), json!(true));
    assert_eq!(apply("lt", max, json!(1e30)), json!(true));
    assert_eq!(apply("gt", json!(i64::MIN), json!(-1e30)), json!(true));
}

fn inc(inputs: &Inputs) -> Result<Outputs, String> {
    let count = inputs.get("count").and_then(Value::as_u64).ok_or("count must be a whole number")?;
    Ok(Outputs::from_iter([("count".to_string(), json!(count.checked_add(1).ok_or("overflow")?))]))
}

/// A root loop `lp` over `inc`, stopping at `until`.
fn root_loop(until: &str) -> String {
    json!({
        "schema_version": "1.0", "type": "graph", "name": "lp", "full_name": "lp",
        "loop": {"until": until, "max_iterations": 10},
        "ops": {"a": {"type": "code", "func_name": "inc",
            "inputs": {"count": {"required": true, "ref": {"source": "lp", "var": "count"}}}}},
        "edges": [], "entries": ["a"], "exits": ["a"],
    })
    .to_string()
}

#[test]
fn the_rust_driver_stops_exactly_at_the_top_of_64_bits() {
    // As floats, every count below is 2**64: a rounded literal would stop after one iteration.
    for (until, start, iterations) in [
        ("count == 18446744073709551614", u64::MAX - 4, 3),
        ("count >= 18446744073709551615", u64::MAX - 6, 6),
        ("count - 18446744073709551613 == 1", u64::MAX - 3, 2),
    ] {
        let engine = Operon::builder(root_loop(until)).op_ref("inc", inc).build().unwrap();
        let out = engine.run(json!({"count": start})).unwrap();
        assert_eq!(out.outputs["count"], json!(start + iterations), "{until}");
        assert_eq!(out.frames.len() as u64, iterations, "{until}");
        assert!(out.loops_at_max.is_empty(), "{until}");
    }
}

#[test]
fn the_rust_driver_refuses_an_until_integer_beyond_64_bits_naming_the_loop() {
    let err = Operon::builder(root_loop("count == 18446744073709551616")).op_ref("inc", inc).build();
    let Err(OperonError::Invalid { problems, .. }) = err else { panic!("expected Invalid, got {:?}", err.err()) };
    assert_eq!(problems.len(), 1, "{problems:?}");
    let p = &problems[0];
    assert_eq!((p.category, p.op_name.as_deref()), ("unsupported", Some("lp")));
    assert!(p.message.contains("loop 'lp'") && p.message.contains("18446744073709551616"), "{}", p.message);

    // in a nested loop too, named by its own name
    let mut inner: Value = serde_json::from_str(&root_loop("count < 99999999999999999999999")).unwrap();
    inner["full_name"] = json!("g.inner");
    inner["ops"]["a"]["inputs"]["count"]["ref"]["source"] = json!("g.inner");
    let doc = json!({"schema_version": "1.0", "type": "graph", "name": "g",
        "ops": {"inner": {"type": "graph", "full_name": "g.inner", "loop": inner["loop"].clone(),
            "inputs": {"count": {"literal": 0}}, "graph": inner}},
        "edges": [], "entries": ["inner"], "exits": ["inner"]});
    let err = Operon::builder(doc.to_string()).op_ref("inc", inc).build();
    let Err(OperonError::Invalid { problems, .. }) = err else { panic!("expected Invalid, got {:?}", err.err()) };
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].op_name.as_deref(), Some("inner"));
    assert!(problems[0].message.contains("99999999999999999999999"), "{}", problems[0].message);
}
