//! Input resolution (ref value, else literal; absent or null → default; missing required → error) and the
//! JSON ref transforms, through the Rust driver; plus `apply_json` edge cases directly.

use operonx::graph::TransformKind;
use operonx::ops::{Inputs, Outputs};
use operonx::value::{apply_json, truthy};
use operonx::{OperonError, Operon, RunOutput};
use serde_json::{json, Map, Value};

/// The outputs of op `src`, which runs before `probe` and whose outputs `probe` can read as `g.src`.
fn src_outputs() -> Value {
    json!({"n": 7, "neg": -7, "f": 1.5, "s": " Hi There ", "obj": {"k": [10, 20, 30]}, "list": [1, 2, 3], "t": true, "nothing": null})
}

/// A graph `g` with `src` → `probe`; `probe` has the given inputs and outputs exactly its inputs.
fn run_probe(inputs: Value, graph_inputs: Value) -> Result<RunOutput, OperonError> {
    let d = json!({
        "schema_version": "1.0", "type": "graph", "name": "g",
        "ops": {"src": {"type": "code"}, "probe": {"type": "code", "inputs": inputs}},
        "edges": [{"from": "src", "to": "probe"}], "entries": ["src"], "exits": ["probe"]
    });
    Operon::builder(d.to_string())
        .op_ref("src", |_: &Inputs| Ok(src_outputs().as_object().unwrap().clone().into()))
        .op_ref("probe", |i: &Inputs| -> Result<Outputs, String> {
            Ok(i.iter().map(|(k, v)| (k.to_string(), v.clone())).collect())
        })
        .build()?
        .run(graph_inputs)
}

fn probe(inputs: Value, graph_inputs: Value) -> Map<String, Value> {
    run_probe(inputs, graph_inputs).unwrap().outputs
}

/// A required input bound to a ref of `source` / `var` with transforms.
fn r(source: &str, var: &str, transforms: Value) -> Value {
    json!({"required": true, "ref": {"source": source, "var": var, "transforms": transforms, "is_output": false}})
}

/// The value `probe` receives for one input bound to `g.src`'s `var` with `transforms`.
fn t(var: &str, transforms: Value) -> Value {
    probe(json!({"x": r("g.src", var, transforms)}), json!({}))["x"].clone()
}

#[test]
fn refs_read_graph_inputs_and_op_outputs() {
    let out = probe(
        json!({"a": r("g", "a", json!([])), "b": r("g.src", "n", json!([])), "c": r("g.src", "obj", json!([]))}),
        json!({"a": "from graph", "unused": 1}),
    );
    assert_eq!(Value::Object(out), json!({"a": "from graph", "b": 7, "c": {"k": [10, 20, 30]}}));
}

#[test]
fn inputs_keep_signature_order() {
    let out = probe(json!({"z": {"literal": 1}, "a": {"literal": 2}, "m": {"literal": 3}}), json!({}));
    assert_eq!(out.keys().collect::<Vec<_>>(), ["z", "a", "m"]);
}

#[test]
fn literals_and_defaults() {
    let out = probe(
        json!({
            "lit": {"required": true, "literal": [1, "two"]},
            "lit_false": {"required": true, "literal": false},
            "lit_zero": {"required": false, "default": 5, "literal": 0},
            "null_lit_default": {"required": false, "default": "d1", "literal": null},
            "unbound_default": {"required": false, "default": {"d": 2}},
            "absent_ref_default": {"required": false, "default": 3, "ref": {"source": "g", "var": "absent"}},
            "null_ref_default": {"required": false, "default": 4, "ref": {"source": "g", "var": "null_in"}},
            "null_output_default": {"required": false, "default": 6, "ref": {"source": "g.src", "var": "nothing"}},
            "null_default": {"required": false, "default": null},
            "ref_over_default": {"required": false, "default": 0, "ref": {"source": "g", "var": "given"}}
        }),
        json!({"null_in": null, "given": "yes"}),
    );
    assert_eq!(
        Value::Object(out),
        json!({
            "lit": [1, "two"], "lit_false": false, "lit_zero": 0, "null_lit_default": "d1",
            "unbound_default": {"d": 2}, "absent_ref_default": 3, "null_ref_default": 4,
            "null_output_default": 6, "null_default": null, "ref_over_default": "yes"
        })
    );
}

#[test]
fn a_required_input_bound_to_null_is_missing() {
    // As in operonx 0.7.1, None counts as absent: with no default there is nothing to pass.
    assert_missing(run_probe(json!({"x": r("g", "x", json!([]))}), json!({"x": null})), "x");
}

fn assert_missing(result: Result<RunOutput, OperonError>, want_input: &str) {
    match result {
        Err(OperonError::MissingInput { graph, op, input, context, .. }) => {
            assert_eq!(graph, "g");
            assert_eq!(op, "g.probe");
            assert_eq!(input, want_input);
            assert_eq!(context, ["main"]);
        }
        other => panic!("expected MissingInput, got {other:?}"),
    }
}

#[test]
fn a_missing_required_input_is_an_error_naming_graph_op_and_input() {
    // Absent graph input.
    assert_missing(run_probe(json!({"ok": {"literal": 1}, "x": r("g", "x", json!([]))}), json!({})), "x");
    // Unbound.
    assert_missing(run_probe(json!({"y": {"required": true}}), json!({})), "y");
    // Null literal counts as unbound.
    assert_missing(run_probe(json!({"z": {"required": true, "literal": null}}), json!({})), "z");
    // An output the predecessor did not produce.
    assert_missing(run_probe(json!({"w": r("g.src", "not_there", json!([["add", [1]]]))}), json!({})), "w");
    let err = run_probe(json!({"q": {"required": true}}), json!({})).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("'q'") && text.contains("g.probe") && text.contains("'g'"), "{text}");
}

#[test]
fn the_op_full_name_comes_from_the_document() {
    let d = json!({
        "schema_version": "1.0", "type": "graph", "name": "inner", "full_name": "outer.inner",
        "ops": {"p": {"type": "code", "full_name": "outer.inner.p",
            "inputs": {"x": {"required": true, "ref": {"source": "outer.inner", "var": "x"}}}}},
        "edges": [], "entries": ["p"], "exits": ["p"]
    });
    let engine = Operon::builder(d.to_string()).op_ref("p", |_: &Inputs| Ok(Outputs::new())).build().unwrap();
    match engine.run(json!({})).unwrap_err() {
        OperonError::MissingInput { graph, op, input, .. } => {
            assert_eq!((graph.as_str(), op.as_str(), input.as_str()), ("inner", "outer.inner.p", "x"));
        }
        other => panic!("expected MissingInput, got {other:?}"),
    }
}

#[test]
fn getitem_on_objects_and_lists() {
    assert_eq!(t("obj", json!([["getitem", ["k"]]])), json!([10, 20, 30]));
    assert_eq!(t("obj", json!([["getitem", ["k"]], ["getitem", [1]]])), json!(20));
    assert_eq!(t("list", json!([["getitem", [0]]])), json!(1));
    assert_eq!(t("list", json!([["getitem", [-1]]])), json!(3));
    assert_eq!(t("list", json!([["getitem", [-3]]])), json!(1));
}

#[test]
fn getattr_and_call_run_string_methods() {
    let call = |m: &str| json!([["getattr", [m]], ["call", [[], {}]]]);
    assert_eq!(t("s", call("upper")), json!(" HI THERE "));
    assert_eq!(t("s", call("lower")), json!(" hi there "));
    assert_eq!(t("s", call("strip")), json!("Hi There"));
    let chained = json!([["getattr", ["strip"]], ["call", [[], {}]], ["getattr", ["upper"]], ["call", [[], {}]]]);
    assert_eq!(t("s", chained), json!("HI THERE"));
}

#[test]
fn arithmetic_keeps_integers_integral() {
    let cases = [
        ("n", "add", json!(3), json!(10)),
        ("n", "sub", json!(10), json!(-3)),
        ("n", "mul", json!(6), json!(42)),
        ("n", "truediv", json!(2), json!(3.5)),
        ("n", "floordiv", json!(2), json!(3)),
        ("neg", "floordiv", json!(2), json!(-4)),
        ("n", "floordiv", json!(-2), json!(-4)),
        ("neg", "floordiv", json!(-2), json!(3)),
        ("n", "mod", json!(3), json!(1)),
        ("neg", "mod", json!(3), json!(2)),
        ("n", "mod", json!(-3), json!(-2)),
        ("n", "pow", json!(2), json!(49)),
        ("n", "pow", json!(-1), json!(1.0 / 7.0)),
        ("n", "radd", json!(3), json!(10)),
        ("n", "rsub", json!(10), json!(3)),
        ("n", "rmul", json!(2), json!(14)),
        ("n", "rtruediv", json!(14), json!(2.0)),
        ("n", "rfloordiv", json!(50), json!(7)),
        ("n", "rmod", json!(50), json!(1)),
        ("n", "rpow", json!(2), json!(128)),
        ("f", "add", json!(1), json!(2.5)),
        ("f", "mul", json!(2), json!(3.0)),
        ("f", "floordiv", json!(1), json!(1.0)),
        ("f", "mod", json!(-1), json!(-0.5)),
        ("s", "add", json!("!"), json!(" Hi There !")),
        ("list", "add", json!([4]), json!([1, 2, 3, 4])),
    ];
    for (var, kind, arg, want) in cases {
        let got = t(var, json!([[kind, [arg]]]));
        assert_eq!(got, want, "{var} {kind} {arg}");
        // 3 and 3.0 compare unequal as JSON values, but check the representation explicitly too.
        assert_eq!(got.is_i64(), want.is_i64(), "{var} {kind} {arg}: {got}");
    }
    assert_eq!(t("n", json!([["neg", []]])), json!(-7));
    assert_eq!(t("neg", json!([["abs", []]])), json!(7));
    assert_eq!(t("f", json!([["neg", []]])), json!(-1.5));
    assert_eq!(t("n", json!([["pos", []]])), json!(7));
}

#[test]
fn comparisons_and_logic() {
    let cases = [
        ("n", "eq", json!(7), true),
        ("n", "eq", json!(7.0), true),
        ("n", "ne", json!(7), false),
        ("n", "lt", json!(8), true),
        ("n", "le", json!(7), true),
        ("n", "gt", json!(7), false),
        ("n", "ge", json!(7.5), false),
        ("f", "lt", json!(2), true),
        ("s", "eq", json!(" Hi There "), true),
        ("s", "lt", json!("z"), true),
        ("t", "and_", json!(true), true),
        ("t", "and_", json!(false), false),
        ("t", "or_", json!(false), true),
        ("nothing", "or_", json!(false), false),
    ];
    // A null output is read as null (not as absent): transforms apply to it.
    for (var, kind, arg, want) in cases {
        assert_eq!(t(var, json!([[kind, [arg]]])), json!(want), "{var} {kind} {arg}");
    }
    assert_eq!(t("t", json!([["not_", []]])), json!(false));
    assert_eq!(t("list", json!([["not_", []]])), json!(false));
    assert_eq!(t("n", json!([["gt", [5]], ["not_", []]])), json!(false));
}

#[test]
fn a_transform_argument_may_be_a_ref() {
    let nested = |source: &str, var: &str| json!({"__ref__": {"source": source, "var": var}});
    let got = probe(
        json!({
            "sum": r("g", "x", json!([["add", [nested("g", "y")]]])),
            "idx": r("g.src", "list", json!([["getitem", [nested("g", "i")]]])),
            "deep": r("g", "x", json!([["mul", [{"__ref__": {"source": "g.src", "var": "obj",
                "transforms": [["getitem", ["k"]], ["getitem", [0]]]}}]]])),
            "absent_arg": r("g", "x", json!([["eq", [nested("g", "absent")]]]))
        }),
        json!({"x": 2, "y": 40, "i": -2}),
    );
    assert_eq!(Value::Object(got), json!({"sum": 42, "idx": 2, "deep": 20, "absent_arg": false}));
}

#[test]
fn a_failing_transform_fails_the_op_naming_the_input() {
    let cases = [
        ("obj", json!([["getitem", ["missing"]]])),
        ("list", json!([["getitem", [5]]])),
        ("n", json!([["floordiv", [0]]])),
        ("s", json!([["getattr", ["title"]], ["call", [[], {}]]])),
        ("n", json!([["apply", ["f"]]])),
        ("nothing", json!([["add", [1]]])),
    ];
    for (var, transforms) in cases {
        let err = run_probe(json!({"x": r("g.src", var, transforms.clone())}), json!({})).unwrap_err();
        match err {
            OperonError::OpFailed { op, message, .. } => {
                assert_eq!(op, "g.probe");
                assert!(message.starts_with("evaluating input 'x' raised"), "{transforms}: {message}");
            }
            other => panic!("{transforms}: expected OpFailed, got {other:?}"),
        }
    }
}

#[test]
fn integer_overflow_in_a_transform_fails_the_op_instead_of_panicking() {
    let min = json!(i64::MIN);
    for (kind, arg, x) in
        [("floordiv", -1, &min), ("mod", -1, &min), ("sub", 1, &min), ("rmod", -1, &min), ("add", 1, &json!(u64::MAX))]
    {
        let result = run_probe(json!({"x": r("g", "x", json!([[kind, [arg]]]))}), json!({"x": x}));
        match (kind, result) {
            ("floordiv", Ok(out)) => assert_eq!(out.outputs["x"], json!(1u64 << 63)),
            ("mod", Ok(out)) => assert_eq!(out.outputs["x"], json!(0)),
            ("rmod", Ok(out)) => assert_eq!(out.outputs["x"], json!(-1)),
            (_, Err(OperonError::OpFailed { message, .. })) => {
                assert!(message.contains("overflow"), "{message}")
            }
            (_, other) => panic!("{kind}: unexpected {other:?}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// apply_json directly

fn apply(kind: &str, v: Value, arg: Value) -> Result<Value, String> {
    apply_json(TransformKind::parse(kind).unwrap(), v, &[arg])
}

#[test]
fn integer_edge_cases_are_errors_not_panics() {
    let min = json!(i64::MIN);
    let max = json!(i64::MAX);
    let umax = json!(u64::MAX);
    // Results are exact from i64::MIN to u64::MAX, as in Python; beyond that range they are errors.
    assert_eq!(apply("add", max.clone(), json!(1)), Ok(json!(1u64 << 63)));
    assert!(apply("add", umax.clone(), json!(1)).is_err());
    assert!(apply("sub", min.clone(), json!(1)).is_err());
    assert_eq!(apply("mul", max.clone(), json!(2)), Ok(json!(u64::MAX - 1)));
    assert!(apply("mul", max.clone(), json!(3)).is_err());
    assert!(apply("pow", json!(10), json!(40)).is_err());
    assert_eq!(apply("pow", json!(2), json!(63)), Ok(json!(1u64 << 63)));
    assert_eq!(apply("floordiv", min.clone(), json!(-1)), Ok(json!(1u64 << 63)));
    assert!(apply_json(TransformKind::Neg, umax, &[]).is_err());
    assert!(apply("floordiv", json!(1), json!(0)).is_err());
    assert!(apply("mod", json!(1), json!(0)).is_err());
    assert!(apply("truediv", json!(1), json!(0)).is_err());
    assert!(apply("pow", json!(0), json!(-1)).is_err());
    assert_eq!(apply_json(TransformKind::Neg, min.clone(), &[]), Ok(json!(1u64 << 63)));
    // Python: i64::MIN % -1 == 0, -1 % i64::MIN == -1, 5 % i64::MAX == 5, -1 % i64::MAX == i64::MAX - 1.
    assert_eq!(apply("mod", min.clone(), json!(-1)), Ok(json!(0)));
    assert_eq!(apply("mod", json!(-1), min.clone()), Ok(json!(-1)));
    assert_eq!(apply("mod", json!(5), max.clone()), Ok(json!(5)));
    assert_eq!(apply("mod", json!(-1), max.clone()), Ok(json!(i64::MAX - 1)));
    assert_eq!(apply("floordiv", json!(-1), max.clone()), Ok(json!(-1)));
    assert_eq!(apply("floordiv", min.clone(), max), Ok(json!(-2)));
    assert_eq!(apply("floordiv", min.clone(), json!(2)), Ok(json!(i64::MIN / 2)));
    assert_eq!(apply_json(TransformKind::Abs, min, &[]), Ok(json!(1u64 << 63)));
}

#[test]
fn floor_division_matches_python_for_every_sign() {
    for x in -20i64..=20 {
        for y in (-7i64..=7).filter(|&y| y != 0) {
            let q = (x as f64 / y as f64).floor() as i64;
            let m = x - y * q;
            assert_eq!(apply("floordiv", json!(x), json!(y)), Ok(json!(q)), "{x} // {y}");
            assert_eq!(apply("mod", json!(x), json!(y)), Ok(json!(m)), "{x} % {y}");
            assert_eq!(apply("rfloordiv", json!(y), json!(x)), Ok(json!(q)), "{x} // {y} reflected");
        }
    }
}

#[test]
fn float_division_by_zero_is_an_error() {
    for kind in ["truediv", "floordiv", "mod"] {
        assert!(apply(kind, json!(1.5), json!(0.0)).is_err(), "{kind}");
        assert!(apply(kind, json!(1), json!(0.0)).is_err(), "{kind}");
    }
}

#[test]
fn unsupported_operands_are_errors() {
    assert!(apply("add", json!("a"), json!(1)).is_err());
    assert!(apply("sub", json!([1]), json!([1])).is_err());
    assert!(apply("lt", json!("a"), json!(1)).is_err());
    assert!(apply("getitem", json!(1), json!(0)).is_err());
    assert!(apply("getitem", json!([1]), json!(0.5)).is_err());
    assert!(apply_json(TransformKind::Add, json!(1), &[]).is_err());
    assert!(apply_json(TransformKind::Call, json!("not callable"), &[]).is_err());
}

#[test]
fn truthiness_follows_python() {
    for v in [json!(null), json!(false), json!(0), json!(0.0), json!(""), json!([]), json!({})] {
        assert!(!truthy(&v), "{v}");
    }
    for v in [json!(true), json!(-1), json!(0.5), json!("0"), json!([0]), json!({"a": null})] {
        assert!(truthy(&v), "{v}");
    }
}
