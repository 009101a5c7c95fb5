//! Which Rust implementation runs each op of a document: registered by `func_name` or by op name,
//! a generator op with a generator, any other code op with a function.
//!
//! Implementations come from the builder (`OperonBuilder::op` and its kin) and, with
//! `OperonBuilder::auto_register`, from every [`#[op]`](crate::op) function of the program. An
//! `#[op]` function answers to three names: its full name (`my_crate::math::double`), the name
//! qualified without the crate (`math::double`, as the published crate registers it) and its bare
//! name (`double`). A name given to the builder always wins. A name that several `#[op]`
//! functions answer to (two `double`s in two modules) is ambiguous: an op calling it is refused
//! with a problem naming every candidate, while their qualified names still work. Two `#[op]`
//! functions with one full name are refused whenever `#[op]` functions are registered.

use std::sync::OnceLock;

use rustc_hash::FxHashMap;

use super::inventory::OpEntry;
use super::Implementation;
use crate::error::Problem;
use crate::graph::schema::GraphDoc;
use crate::plan::Plan;

/// Every `#[op]` function of the program and the names each answers to.
struct AutoTable {
    /// The entries, sorted by full name then definition, with what runs them.
    entries: Vec<(&'static OpEntry, Implementation)>,
    /// Name → the entries that answer to it by their most specific name (full, then qualified,
    /// then bare); more than one is an ambiguous name.
    names: FxHashMap<String, Vec<usize>>,
    /// A `duplicate_op` problem per full name shared by several entries.
    duplicates: Vec<Problem>,
}

impl AutoTable {
    /// The table of the program, read once.
    fn get() -> &'static AutoTable {
        static TABLE: OnceLock<AutoTable> = OnceLock::new();
        TABLE.get_or_init(AutoTable::collect)
    }

    fn collect() -> AutoTable {
        let mut found: Vec<&'static OpEntry> = inventory::iter::<OpEntry>.into_iter().collect();
        found.sort_by_key(|e| (e.full_name(), e.place()));
        let mut ranked: FxHashMap<String, (u8, Vec<usize>)> = FxHashMap::default();
        for (index, entry) in found.iter().enumerate() {
            // At a crate's root the qualified name is the bare one: it ranks as bare.
            let qualified = Some(entry.qualified_name()).filter(|q| q != entry.name);
            let names = [(0, Some(entry.full_name())), (1, qualified), (2, Some(entry.name.to_string()))];
            for (rank, name) in names.into_iter().filter_map(|(rank, name)| Some((rank, name?))) {
                let slot = ranked.entry(name).or_insert((u8::MAX, Vec::new()));
                if rank < slot.0 {
                    *slot = (rank, vec![index]);
                } else if rank == slot.0 && !slot.1.contains(&index) {
                    slot.1.push(index);
                }
            }
        }
        let mut duplicates = Vec::new();
        for group in found.chunk_by(|a, b| a.full_name() == b.full_name()).filter(|g| g.len() > 1) {
            let full = group[0].full_name();
            duplicates.push(
                Problem::new(
                    "duplicate_op",
                    format!(
                        "{} #[op] functions are registered under one name '{full}': {}; each needs its own module and \
                         name: rename one or give it #[op(name = \"...\")]",
                        group.len(),
                        describe_functions(group)
                    ),
                )
                .target(&full),
            );
        }
        let names = ranked.into_iter().map(|(name, (_, list))| (name, list)).collect();
        let entries = found.into_iter().map(|e| (e, e.implementation())).collect();
        AutoTable { entries, names, duplicates }
    }
}

/// `'my_crate::a::f' (src/a.rs:3) and 'my_crate::a::f' (src/b.rs:9)`.
fn describe(entries: impl Iterator<Item = &'static OpEntry>) -> String {
    let described: Vec<String> = entries
        .map(|e| match e.location() {
            Some(at) => format!("'{}' ({at})", e.full_name()),
            None => format!("'{}'", e.full_name()),
        })
        .collect();
    and_list(described)
}

/// `fn first (src/a.rs:3) and fn second (src/a.rs:9)`.
fn describe_functions(entries: &[&'static OpEntry]) -> String {
    let described: Vec<String> = entries
        .iter()
        .map(|e| {
            let function = e.function().map_or_else(|| format!("'{}'", e.full_name()), |f| format!("fn {f}"));
            match e.location() {
                Some(at) => format!("{function} ({at})"),
                None => function,
            }
        })
        .collect();
    and_list(described)
}

/// `a, b and c`.
fn and_list(items: Vec<String>) -> String {
    match items.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => items.concat(),
    }
}

/// What a name finds.
enum Found<'a> {
    /// One implementation.
    One(&'a Implementation),
    /// Several `#[op]` functions: the entries' indices in the table.
    Ambiguous(&'a [usize]),
    /// Nothing.
    Missing,
}

/// The implementations an engine binds its ops to: those given to the builder, then (with
/// `auto_register`) the program's `#[op]` functions.
pub(crate) struct Registry {
    explicit: FxHashMap<String, Implementation>,
    auto: Option<&'static AutoTable>,
}

impl Registry {
    /// The builder's implementations, with the `#[op]` functions when `auto_register` is set.
    pub(crate) fn new(explicit: FxHashMap<String, Implementation>, auto_register: bool) -> Self {
        Registry { explicit, auto: auto_register.then(AutoTable::get) }
    }

    /// What `name` finds: the builder's first, then the `#[op]` functions.
    fn find(&self, name: &str) -> Found<'_> {
        if let Some(found) = self.explicit.get(name) {
            return Found::One(found);
        }
        let Some(table) = self.auto else { return Found::Missing };
        match table.names.get(name).map(Vec::as_slice) {
            Some([one]) => Found::One(&table.entries[*one].1),
            Some(many) if !many.is_empty() => Found::Ambiguous(many),
            _ => Found::Missing,
        }
    }

    /// What an op finds: its `func_name`, else (when nothing has that name) its own name. Returns
    /// the name that found something (or `func_name`).
    fn lookup<'a>(&'a self, func_name: &'a str, name: &'a str) -> (&'a str, Found<'a>) {
        match self.find(func_name) {
            Found::Missing if name != func_name => match self.find(name) {
                Found::Missing => (func_name, Found::Missing),
                found => (name, found),
            },
            found => (func_name, found),
        }
    }

    /// The candidates of an ambiguous name, described.
    fn candidates(&self, indices: &[usize]) -> String {
        let table = self.auto.unwrap_or_else(|| AutoTable::get());
        describe(indices.iter().map(|&i| table.entries[i].0))
    }
}

/// Problems of binding `doc`'s code ops (nested graphs included) to the registry: duplicate
/// `#[op]` names, an op with no implementation or several, or one whose implementation is not of
/// its kind (a generator op needs a generator, any other op a function).
pub(crate) fn binding_problems(doc: &GraphDoc, registry: &Registry) -> Vec<Problem> {
    let mut problems = registry.auto.map(|t| t.duplicates.clone()).unwrap_or_default();
    let mut graphs = vec![doc];
    while let Some(g) = graphs.pop() {
        for (name, op) in &g.ops.0 {
            match op.kind.as_str() {
                "graph" => graphs.extend(op.graph.as_deref()),
                "code" => {
                    let func_name = op.func_name.as_deref().unwrap_or(name);
                    problems.extend(op_problem(registry, name, func_name, op.is_generator));
                }
                _ => {}
            }
        }
    }
    problems
}

/// The problem of binding op `name` (calling `func_name`), if any.
fn op_problem(registry: &Registry, name: &str, func_name: &str, gen: bool) -> Option<Problem> {
    let (called, found) = registry.lookup(func_name, name);
    let problem = match (found, gen) {
        (Found::Missing, _) => Problem::new(
            "unknown_op",
            format!(
                "no Rust {} registered for op '{name}' (function '{func_name}'){}",
                if gen { "generator (OperonBuilder::gen)" } else { "implementation" },
                auto_register_hint(registry, func_name, name)
            ),
        ),
        (Found::Ambiguous(indices), _) => Problem::new(
            "ambiguous_op",
            format!(
                "op '{name}' calls '{called}', which names {} #[op] functions: {}; write the qualified name of the one \
                 to run as the op's func_name, or register it under '{called}' with OperonBuilder::op",
                indices.len(),
                registry.candidates(indices)
            ),
        ),
        (Found::One(f), true) if !f.is_generator() => Problem::new(
            "invalid",
            format!(
                "op '{name}' is a generator but '{called}' is registered as a plain op; register a generator with \
                 OperonBuilder::gen or #[op(generator)]"
            ),
        ),
        (Found::One(f), false) if f.is_generator() => Problem::new(
            "invalid",
            format!(
                "op '{name}' is not a generator but '{called}' is registered as one; register a function with \
                 OperonBuilder::op or #[op]"
            ),
        ),
        (Found::One(_), _) => return None,
    };
    Some(problem.op(name).target(called))
}

/// When `#[op]` functions are not registered but one has the name an op calls: a hint to do so.
fn auto_register_hint(registry: &Registry, func_name: &str, name: &str) -> String {
    if registry.auto.is_some() {
        return String::new();
    }
    let table = AutoTable::get();
    match [func_name, name].iter().find_map(|n| table.names.get(*n)) {
        Some(indices) => format!(
            "; the #[op] function {} has this name: call OperonBuilder::auto_register() to register #[op] functions",
            describe(indices.iter().map(|&i| table.entries[i].0))
        ),
        None => String::new(),
    }
}

/// The implementation of each op of `plan` (`None` for built-in ops).
pub(crate) fn bind(plan: &Plan, registry: &Registry) -> Vec<Option<Implementation>> {
    plan.ops
        .iter()
        .map(|op| match op.kind.is_builtin() {
            true => None,
            false => match registry.lookup(&op.func_name, &op.name).1 {
                Found::One(f) => Some(f.clone()),
                Found::Ambiguous(_) | Found::Missing => None,
            },
        })
        .collect()
}
