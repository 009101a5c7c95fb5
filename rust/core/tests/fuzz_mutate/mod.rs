//! Mutations of graph documents for `fuzz_documents.rs`: on the JSON tree, then (for a few kinds) on
//! the text. A value can hold what a tree cannot through markers the writer expands: a key written
//! twice, a number too large for any JSON number type, and nesting 100 000 levels deep.

use serde_json::{Map, Number, Value};

/// How many kinds of mutation [`mutate`] knows.
pub const KINDS: u8 = 13;

/// Marks a key to be written under the name after it, beside the key of that name.
const DUP: &str = "\u{1}dup\u{1}";
/// Marks a string to be written as the raw text after it (a number no type holds).
const RAW: &str = "\u{1}raw\u{1}";
/// Marks a string to be written as arrays nested as deep as the number after it.
const DEEP: &str = "\u{1}deep\u{1}";

/// Every key either document form has, so that mutations also give known keys wrong values.
const KEYS: &[&str] = &[
    "schema_version", "type", "name", "full_name", "concurrency", "ops", "edges", "entries", "exits",
    "inputs", "outputs", "loop", "until", "max_iterations", "initial_ready_count", "compiled_adj",
    "func_name", "bound", "is_async", "is_generator", "enabled", "forward_all", "callable", "cases",
    "default", "graph", "condition", "target", "text", "required", "ref", "refs", "literal", "source",
    "var", "transforms", "policy", "max", "from", "to", "soft", "loop_config", "stream_policy",
    "collect", "parallel", "parallel_max", "max_stream_concurrent", "candidates", "cache", "delay",
    "python_callable", "verbose", "stream", "description", "stream_initial_ready", "is_output",
    "__ref__", "$host", "resource",
];

const STRINGS: &[&str] = &[
    "", "x", "y", "g", "main", "g.a", "main.a", "__PARENT__", "__START__", "__END__", "code", "graph",
    "branch", "llm", "sync", "io", "cpu", "collect", "parallel", "normal", "lookback", "1.0", "2.0",
    "count >= 5", "x +", "((((", "not not", "n >= 1e999", "\u{0}", "é∂ƒ", "a.b.c", "[0]", "$tags",
    "getitem", "call", "apply", "add", "eq", "bogus_transform",
];

const RAW_NUMBERS: &[&str] = &[
    "123456789012345678901234567890", "-98765432109876543210", "1e400", "-1e400", "1e-400",
    "18446744073709551616", "-9223372036854775809", "0.0000000000000000000001", "4294967296",
];

/// A small deterministic random generator (xorshift), seeded by the test case.
pub struct Rng(u64);

impl Rng {
    /// A generator for one seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15 | 1)
    }

    /// The next random number.
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number in `0..n` (`n` > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// How many nodes of `v` (itself included) `keep` accepts.
fn count(v: &Value, keep: &dyn Fn(&Value) -> bool) -> usize {
    let below: usize = match v {
        Value::Array(a) => a.iter().map(|c| count(c, keep)).sum(),
        Value::Object(o) => o.values().map(|c| count(c, keep)).sum(),
        _ => 0,
    };
    below + usize::from(keep(v))
}

/// The `k`-th node (pre-order) that `keep` accepts.
fn nth<'a>(v: &'a mut Value, keep: &dyn Fn(&Value) -> bool, k: &mut usize) -> Option<&'a mut Value> {
    if keep(v) {
        if *k == 0 {
            return Some(v);
        }
        *k -= 1;
    }
    match v {
        Value::Array(a) => a.iter_mut().find_map(|c| nth(c, keep, k)),
        Value::Object(o) => o.values_mut().find_map(|c| nth(c, keep, k)),
        _ => None,
    }
}

/// A random node that `keep` accepts.
fn some_node<'a>(doc: &'a mut Value, rng: &mut Rng, keep: &dyn Fn(&Value) -> bool) -> Option<&'a mut Value> {
    let n = count(doc, keep);
    if n == 0 {
        return None;
    }
    let mut k = rng.below(n);
    nth(doc, keep, &mut k)
}

/// A copy of a random node of `doc`.
fn some_subtree(doc: &Value, rng: &mut Rng) -> Value {
    let mut copy = doc.clone();
    some_node(&mut copy, rng, &|_| true).map(|v| v.take()).unwrap_or(Value::Null)
}

fn is_container(v: &Value) -> bool {
    v.as_array().is_some_and(|a| !a.is_empty()) || v.as_object().is_some_and(|o| !o.is_empty())
}

/// A random value of a random type.
fn random_value(rng: &mut Rng, seeds: &[(String, Value)]) -> Value {
    match rng.below(11) {
        0 => Value::Null,
        1 => Value::Bool(rng.chance(50)),
        2 => Value::from(rng.next() as i64 % 7 - 2),
        3 => Value::from(*rng.pick(&[i64::MIN, i64::MAX, -1, 0, 1, 2, 1000, 100_000])),
        4 => Value::from(u64::MAX - rng.below(3) as u64),
        5 => Number::from_f64(*rng.pick(&[0.5, -0.0, 1e300, -2.5, 3.0])).map_or(Value::Null, Value::Number),
        6 => Value::String(format!("{RAW}{}", rng.pick(RAW_NUMBERS))),
        7 => Value::String(rng.pick(STRINGS).to_string()),
        8 => Value::Array((0..rng.below(3)).map(|_| Value::String(rng.pick(STRINGS).to_string())).collect()),
        9 => {
            let mut m = Map::new();
            for _ in 0..rng.below(3) {
                m.insert(rng.pick(KEYS).to_string(), Value::String(rng.pick(STRINGS).to_string()));
            }
            Value::Object(m)
        }
        _ => {
            let (_, doc) = rng.pick(seeds);
            some_subtree(doc, rng)
        }
    }
}

/// Applies one mutation of kind `kind`; `false` when it is a mutation of the text, done later by
/// [`garble`].
pub fn mutate(doc: &mut Value, kind: u8, rng: &mut Rng, seeds: &[(String, Value)]) -> bool {
    match kind {
        0 => drop_node(doc, rng),
        1 | 2 => replace(doc, rng, |rng| random_value(rng, seeds)),
        3 => replace(doc, rng, |rng| Value::String(format!("{RAW}{}", rng.pick(RAW_NUMBERS)))),
        4 => replace(doc, rng, |rng| {
            // mostly depths the parse reads, now and then one it must refuse outright
            let depth = if rng.chance(10) { *rng.pick(&[25_000, 100_000]) } else { *rng.pick(&[3usize, 200, 256, 257, 1_001, 5_000]) };
            Value::String(format!("{DEEP}{depth}"))
        }),
        5 => duplicate_key(doc, rng, seeds),
        6 => rename_key(doc, rng),
        7 => add_key(doc, rng, seeds),
        8 => add_edge(doc, rng),
        9 => repoint_ref(doc, rng),
        10 => replace(doc, rng, |rng| {
            let (_, other) = rng.pick(seeds);
            other.clone()
        }),
        11 => reshape_graph(doc, rng, seeds),
        _ => return false,
    }
    true
}

fn drop_node(doc: &mut Value, rng: &mut Rng) {
    let k = rng.next();
    match some_node(doc, rng, &is_container) {
        Some(Value::Object(o)) => {
            let key = o.keys().nth(k as usize % o.len()).cloned().unwrap();
            o.shift_remove(&key);
        }
        Some(Value::Array(a)) => {
            a.remove(k as usize % a.len());
        }
        _ => {}
    }
}

fn replace(doc: &mut Value, rng: &mut Rng, with: impl FnOnce(&mut Rng) -> Value) {
    let new = with(rng);
    if let Some(v) = some_node(doc, rng, &|_| true) {
        *v = new;
    }
}

fn duplicate_key(doc: &mut Value, rng: &mut Rng, seeds: &[(String, Value)]) {
    let other = random_value(rng, seeds);
    let (k, same) = (rng.next(), rng.chance(50));
    if let Some(Value::Object(o)) = some_node(doc, rng, &|v| v.as_object().is_some_and(|o| !o.is_empty())) {
        let (key, v) = o.iter().nth(k as usize % o.len()).map(|(k, v)| (k.clone(), v.clone())).unwrap();
        o.insert(format!("{DUP}{key}"), if same { v } else { other });
    }
}

fn rename_key(doc: &mut Value, rng: &mut Rng) {
    let name = if rng.chance(50) { rng.pick(KEYS).to_string() } else { rng.pick(STRINGS).to_string() };
    let k = rng.next();
    if let Some(Value::Object(o)) = some_node(doc, rng, &|v| v.as_object().is_some_and(|o| !o.is_empty())) {
        let key = o.keys().nth(k as usize % o.len()).cloned().unwrap();
        let v = o.shift_remove(&key).unwrap();
        o.insert(name, v);
    }
}

fn add_key(doc: &mut Value, rng: &mut Rng, seeds: &[(String, Value)]) {
    let (k, v) = (rng.pick(KEYS).to_string(), random_value(rng, seeds));
    if let Some(Value::Object(o)) = some_node(doc, rng, &Value::is_object) {
        o.insert(k, v);
    }
}

/// An edge (or a `compiled_adj` link) between two ops of one graph, which may close a cycle.
fn add_edge(doc: &mut Value, rng: &mut Rng) {
    let has_ops = |v: &Value| v.get("ops").and_then(Value::as_object).is_some_and(|o| !o.is_empty());
    let (a, b, soft) = (rng.next(), rng.next(), rng.chance(30));
    let Some(g) = some_node(doc, rng, &has_ops) else { return };
    let names: Vec<String> = g["ops"].as_object().unwrap().keys().cloned().collect();
    let (from, to) = (names[a as usize % names.len()].clone(), names[b as usize % names.len()].clone());
    if let Some(edges) = g.get_mut("edges").and_then(Value::as_array_mut) {
        edges.push(serde_json::json!({"from": from, "to": to, "soft": soft}));
    } else if let Some(adj) = g.get_mut("compiled_adj").and_then(Value::as_object_mut) {
        if let Some(links) = adj.entry(from).or_insert(Value::Array(Vec::new())).as_array_mut() {
            links.push(serde_json::json!([to, soft]));
        }
    }
}

/// A ref pointed at another source or variable: an op, the graph, PARENT, or nothing known.
fn repoint_ref(doc: &mut Value, rng: &mut Rng) {
    let source = *rng.pick(&["g.a", "main.a", "g", "main", "__PARENT__", "g.sub.p", "nowhere", "g.b", "main.source"]);
    let var = *rng.pick(&["x", "y", "v", "n", "i", "result", "zz"]);
    let (move_source, move_var) = (rng.chance(70), rng.chance(50));
    if let Some(r) = some_node(doc, rng, &|v| v.get("source").is_some_and(Value::is_string)) {
        if move_source {
            r["source"] = Value::from(source);
        }
        if move_var {
            r["var"] = Value::from(var);
        }
    }
}

/// A change to a graph's ops: an op of another document added, entries or exits renamed, an op's
/// type changed, or an op wrapped into a nested graph of either form.
fn reshape_graph(doc: &mut Value, rng: &mut Rng, seeds: &[(String, Value)]) {
    let has_ops = |v: &Value| v.get("ops").and_then(Value::as_object).is_some_and(|o| !o.is_empty());
    let (choice, a, b) = (rng.below(5), rng.next(), rng.next());
    let (_, other) = rng.pick(seeds);
    let foreign = other.get("ops").and_then(Value::as_object).and_then(|o| o.values().nth(a as usize % o.len().max(1))).cloned();
    let kind = *rng.pick(&["code", "branch", "graph", "llm", ""]);
    let Some(g) = some_node(doc, rng, &has_ops) else { return };
    let names: Vec<String> = g["ops"].as_object().unwrap().keys().cloned().collect();
    let name = names[a as usize % names.len()].clone();
    let other_name = names[b as usize % names.len()].clone();
    match choice {
        0 => {
            if let Some(op) = foreign {
                g["ops"][format!("{name}_{b}")] = op;
            }
        }
        1 => g["entries"] = if b % 2 == 0 { serde_json::json!([other_name]) } else { serde_json::json!([other_name, "ghost"]) },
        2 => g["exits"] = serde_json::json!([name]),
        3 => {
            if let Some(op) = g["ops"][&name].as_object_mut() {
                op.insert("type".into(), Value::from(kind));
            }
        }
        _ => {
            let op = g["ops"][&name].take();
            let full = format!("{}.{name}", g.get("full_name").and_then(Value::as_str).unwrap_or("g"));
            g["ops"][&name] = if b % 2 == 0 {
                serde_json::json!({"type": "graph", "full_name": full, "forward_all": true,
                    "graph": {"name": name, "ops": {"inner": op}, "edges": [], "entries": ["inner"], "exits": ["inner"]}})
            } else {
                serde_json::json!({"type": "graph", "full_name": full, "ops": {"inner": op},
                    "compiled_adj": {"inner": []}, "initial_ready_count": {"inner": 0}, "entries": ["inner"], "exits": ["inner"]})
            };
        }
    }
}

/// A mutation of the text: cut it, or insert or replace a few characters.
pub fn garble(text: &mut String, rng: &mut Rng) {
    if text.is_empty() {
        return;
    }
    let mut at = rng.below(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    match rng.below(3) {
        0 => text.truncate(at),
        1 => {
            let junk: &[&str] = &["{", "}", "[", "]", ",", ":", "\"", "\\", "null", "1e999", "\u{7f}", ","];
            let piece: &&str = rng.pick(junk);
            text.insert_str(at, piece);
        }
        _ => {
            let end = (at + 1 + rng.below(8)).min(text.len());
            if text.is_char_boundary(end) {
                text.replace_range(at..end, "");
            }
        }
    }
}

/// The document as JSON text, with the markers expanded.
pub fn write(v: &Value) -> String {
    let mut out = String::new();
    write_into(v, &mut out);
    out
}

fn write_into(v: &Value, out: &mut String) {
    match v {
        Value::String(s) if s.strip_prefix(RAW).is_some_and(|n| RAW_NUMBERS.contains(&n)) => out.push_str(&s[RAW.len()..]),
        Value::String(s) if s.strip_prefix(DEEP).is_some_and(|d| d.parse::<usize>().is_ok()) => {
            let depth: usize = s[DEEP.len()..].parse().unwrap_or(0);
            out.push_str(&"[".repeat(depth));
            out.push('1');
            out.push_str(&"]".repeat(depth));
        }
        Value::Array(a) => {
            out.push('[');
            for (i, c) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_into(c, out);
            }
            out.push(']');
        }
        Value::Object(o) => {
            out.push('{');
            for (i, (k, c)) in o.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let key = k.strip_prefix(DUP).unwrap_or(k);
                out.push_str(&Value::String(key.to_string()).to_string());
                out.push(':');
                write_into(c, out);
            }
            out.push('}');
        }
        other => out.push_str(&other.to_string()),
    }
}
