//! The one grammar of a loop's `until`: literals read as Python reads them (string escapes, raw
//! strings, every integer base, underscores, floats), and every construct outside the grammar refused
//! with an error that names it. `until::check` (what the Python package asks when a loop is written)
//! agrees with `until::parse` (what the engine compiles).

use operonx::plan::until::{self, Sink, MAX_DEPTH, MAX_TOKENS};
use operonx::plan::{Const, ConstId, VarId};
use serde_json::{json, Value};

/// Collects the constants the parser finds.
#[derive(Default)]
struct Found(Vec<Const>);

impl Sink for Found {
    fn var(&mut self, _name: &str) -> VarId {
        0
    }
    fn constant(&mut self, value: Const) -> ConstId {
        self.0.push(value);
        (self.0.len() - 1) as ConstId
    }
}

/// The one constant of `n == <literal>`, or why it was refused (and `check` says the same).
fn literal(text: &str) -> Result<Const, String> {
    let until = format!("n == {text}");
    let mut found = Found::default();
    let parsed = until::parse(&until, &mut found);
    assert_eq!(until::check(&until), parsed.as_ref().map(drop).map_err(Clone::clone), "{until}");
    parsed?;
    assert_eq!(found.0.len(), 1, "{text}");
    Ok(found.0.pop().unwrap())
}

fn string(text: &str) -> String {
    match literal(text) {
        Ok(Const::Json(Value::String(s))) => s,
        other => panic!("{text}: {other:?}"),
    }
}

fn refusal(text: &str) -> String {
    until::check(text).expect_err(text)
}

#[test]
fn strings_read_every_escape_as_python_does() {
    for (text, expected) in [
        (r"'a\\b'", "a\\b"),
        (r#"'\'\"'"#, "'\""),
        (r"'\n\t\r'", "\n\t\r"),
        (r"'\a\b\f\v'", "\u{7}\u{8}\u{c}\u{b}"),
        (r"'\0'", "\0"),
        (r"'\08'", "\u{0}8"),
        (r"'\101\7'", "A\u{7}"),
        (r"'\1234'", "S4"),
        (r"'\777'", "\u{1ff}"),
        (r"'\x41\xe9'", "Aé"),
        (r"'\u00e9\u20AC'", "é€"),
        (r"'\U0001F600'", "😀"),
        ("'a\\\nb'", "ab"),
        ("'a\\\r\nb'", "ab"),
        (r"'a\d'", "a\\d"),
        (r"'\8\c'", "\\8\\c"),
        (r"r'a\d\n'", "a\\d\\n"),
        (r"R'\''", "\\'"),
        (r#"u"x" U'y'"#, "xy"),
        ("'''a'b\nc'''", "a'b\nc"),
        (r#"""" " """"#, " \" "),
        ("''", ""),
        ("'a' \"b\" r'\\c'", "ab\\c"),
    ] {
        assert_eq!(string(text), expected, "{text}");
    }
}

#[test]
fn strings_python_refuses_or_the_engine_cannot_hold_are_refused_by_name() {
    for (text, named) in [
        (r"'\N{EM DASH}'", "\\N{...}"),
        ("b'x'", "bytes"),
        ("Rb'x'", "bytes"),
        ("f'{n}'", "f-string"),
        ("rf'x'", "f-string"),
        (r"'\x4'", "truncated"),
        (r"'\u12'", "truncated"),
        (r"'\ud800'", "surrogate"),
        (r"'\U00110000'", "beyond"),
        ("'a\nb'", "end of its line"),
        ("'a\rb'", "end of its line"),
        (r"r'\'", "not closed"),
        ("'''a''", "not closed"),
    ] {
        let err = literal(text).expect_err(text);
        assert!(err.contains(named), "{text}: {err}");
    }
    assert!(refusal("n == '\0'").contains("null"));
}

#[test]
fn numbers_read_every_form_as_python_does() {
    for (text, expected) in [
        ("0x1F", json!(31)),
        ("0X_ff", json!(255)),
        ("0o17", json!(15)),
        ("0O7_7", json!(63)),
        ("0b101", json!(5)),
        ("0B1_0", json!(2)),
        ("1_000", json!(1000)),
        ("0", json!(0)),
        ("00", json!(0)),
        ("0_0", json!(0)),
        ("1e3", json!(1000.0)),
        ("1.5E-3", json!(0.0015)),
        ("1_0e1_0", json!(1e11)),
        ("1.", json!(1.0)),
        (".5", json!(0.5)),
        (".5_0", json!(0.5)),
        ("1.e5", json!(100_000.0)),
        ("007.5", json!(7.5)),
        ("09e1", json!(90.0)),
        ("1e-999", json!(0.0)),
        ("0.1", json!(0.1)),
        ("9007199254740993.0", json!(9_007_199_254_740_992.0)),
        ("0x7fff_ffff_ffff_ffff", json!(i64::MAX)),
        ("0xffff_ffff_ffff_ffff", json!(u64::MAX)),
    ] {
        assert_eq!(literal(text), Ok(Const::Json(expected)), "{text}");
    }
}

#[test]
fn integers_beyond_64_bits_of_every_base_keep_every_digit() {
    let mut x: u128 = 0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C834;
    for _ in 0..2000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let n = x >> (x % 60) | (1 << 64);
        let digits = Const::Int(n.to_string());
        for written in [format!("{n:#x}"), format!("{n:#o}").replacen("0o", "0O", 1), format!("{n:#b}"), n.to_string()]
        {
            assert_eq!(literal(&written), Ok(digits.clone()), "{written}");
        }
    }
    let huge = format!("0x1{}", "0".repeat(200));
    let Ok(Const::Int(d)) = literal(&huge) else { panic!("{huge}") };
    assert_eq!((d.len(), &d[..6], &d[d.len() - 4..]), (241, "666801", "7376"));
    assert!(literal(&format!("1{}", "0".repeat(4300))).unwrap_err().contains("4300"));
    assert!(literal(&format!("0x1{}", "0".repeat(3600))).unwrap_err().contains("4300"));
}

#[test]
fn numbers_python_refuses_are_refused_with_its_reason() {
    for (text, named) in [
        ("007", "leading zeros"),
        ("0_7", "leading zeros"),
        ("1__0", "decimal literal"),
        ("1_", "decimal literal"),
        ("1_.5", "decimal literal"),
        ("1._5", "decimal literal"),
        ("1e", "decimal literal"),
        ("1e+", "decimal literal"),
        ("1e1_", "decimal literal"),
        ("1abc", "decimal literal"),
        ("1.real", "decimal literal"),
        ("0x", "hexadecimal literal"),
        ("0xg", "hexadecimal literal"),
        ("0x_", "hexadecimal literal"),
        ("0b12", "invalid digit '2' in binary literal"),
        ("0o8", "invalid digit '8' in octal literal"),
        ("0b1e", "binary literal"),
        ("1j", "imaginary"),
        ("1.5J", "imaginary"),
        ("2e3j", "imaginary"),
        ("1e400", "out of range"),
    ] {
        let err = literal(text).expect_err(text);
        assert!(err.contains(named), "{text}: {err}");
    }
    // a keyword may follow a number with no space, as in Python
    for text in ["n == 1or n", "n == 1and n", "not n == 0x1For n", "1if n else 2"] {
        let checked = until::check(text);
        assert_eq!(checked.is_ok(), !text.contains("if"), "{text}: {checked:?}");
    }
    assert!(refusal("1if n else 2").contains("conditional"));
}

#[test]
fn constructs_outside_the_grammar_are_refused_by_name() {
    for (text, named) in [
        ("f(n)", "function calls"),
        ("n.bit_length() > 3", "function calls"),
        ("n in [1, 2]", "'in'"),
        ("n not in s", "'not in'"),
        ("lambda: n", "lambda"),
        ("(lambda: 1)", "lambda"),
        ("n if n else 1", "conditional expressions"),
        ("[n] == n", "list literals"),
        ("[x for x in n]", "list comprehensions"),
        ("{n: 1}", "dict literals"),
        ("{}", "dict literals"),
        ("{**n}", "dict literals"),
        ("{k: 1 for k in n}", "dict comprehensions"),
        ("{n, 1}", "set literals"),
        ("{x for x in n}", "set comprehensions"),
        ("(n, 1)", "tuples"),
        ("()", "tuples"),
        ("n, 1", "tuples"),
        ("n[1, 2]", "tuples"),
        ("(x for x in n)", "generator expressions"),
        ("(n := 1)", "':='"),
        ("n << 1", "'<<'"),
        ("n >> 1", "'>>'"),
        ("n @ n", "'@'"),
        ("n & 1", "write 'and'"),
        ("n | 1", "write 'or'"),
        ("~n", "write 'not'"),
        ("n ^ 1", "'^'"),
        ("*n", "starred"),
        ("n == *n", "starred"),
        ("await n", "'await'"),
        ("n[1:2]", "slices"),
        ("n[:2]", "slices"),
        ("n[::2]", "slices"),
        ("n = 1", "'=='"),
        ("n += 1", "'+='"),
        ("n; n", "one expression"),
        ("...", "ellipsis"),
        ("yield n", "'yield'"),
        ("def", "'def'"),
        ("n and class", "'class'"),
    ] {
        let err = refusal(text);
        assert!(err.contains(named), "{text}: {err}");
    }
}

#[test]
fn the_grammar_keeps_its_limits() {
    // each bracket is two levels of the parse: an expression, and the operand it stands for
    let brackets = |d: usize| format!("{}n{}", "(".repeat(d), ")".repeat(d));
    assert_eq!(until::check(&brackets(MAX_DEPTH / 2 - 1)), Ok(()));
    assert!(refusal(&brackets(MAX_DEPTH / 2)).contains("levels deep"));
    assert!(refusal(&format!("{}n", "not ".repeat(MAX_DEPTH))).contains("levels deep"));
    let sum = |terms: usize| vec!["n"; terms].join(" + ");
    assert!(refusal(&sum(MAX_TOKENS / 2 + 1)).contains("tokens"));
    // a wide sum nests as deep as it is long
    assert!(refusal(&sum(MAX_DEPTH + 1)).contains("levels deep"));
    assert!(refusal(&"(".repeat(1_000_000)).contains("tokens"));
    assert!(refusal("").contains("empty"));
    assert!(refusal("  # nothing but a comment").contains("empty"));
    assert_eq!(until::check("n >= 3  # three is enough"), Ok(()));
    assert_eq!(until::check("(n >=\n 3) and \\\n n"), Ok(()));
}

/// `is` compares identity, as in Python: `1 is True` and `0 is None` are false.
#[test]
fn is_compares_identity_not_equality() {
    use operonx::graph::TransformKind;
    use operonx::value::apply_json;
    use serde_json::json;
    let is = |a: serde_json::Value, b: serde_json::Value| apply_json(TransformKind::Is, a, &[b]).unwrap();
    let is_not = |a: serde_json::Value, b: serde_json::Value| apply_json(TransformKind::IsNot, a, &[b]).unwrap();
    assert_eq!(is(json!(1), json!(true)), json!(false));
    assert_eq!(is(json!(0), json!(false)), json!(false));
    assert_eq!(is(json!(true), json!(true)), json!(true));
    assert_eq!(is(json!(null), json!(null)), json!(true));
    assert_eq!(is(json!(0), json!(null)), json!(false));
    assert_eq!(is_not(json!(1), json!(true)), json!(true));
    assert_eq!(is_not(json!(null), json!(null)), json!(false));
}
