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
//! Items that still lack one are listed in `tests/doc_examples_pending.txt`. The list only
//! shrinks: an item missing from it fails this test, and so does a listed item that now has an
//! example or no longer exists.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use syn::{Attribute, ImplItem, Item, TraitItem, UseTree, Visibility};

/// One module of the crate: its items (after `cfg`), its parent and its children.
struct Module {
    /// The file the module is written in (its parent's, for an inline module).
    file: PathBuf,
    parent: Option<usize>,
    items: Vec<Item>,
    children: BTreeMap<String, usize>,
}

/// What a name resolves to.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Target {
    Item(usize, usize),
    Module(usize),
    External,
}

struct Crate {
    modules: Vec<Module>,
}

/// `cfg(...)` as compiled for `cargo test`'s library: default features (`tokio`), no `test` or
/// `doctest`.
fn cfg_holds(meta: &syn::Meta) -> bool {
    match meta {
        syn::Meta::Path(p) => !(p.is_ident("test") || p.is_ident("doctest")),
        syn::Meta::NameValue(nv) => {
            let value = match &nv.value {
                syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) => s.value(),
                _ => String::new(),
            };
            nv.path.is_ident("feature") && value == "tokio"
        }
        syn::Meta::List(list) => {
            let inner: Vec<syn::Meta> = list
                .parse_args_with(syn::punctuated::Punctuated::<syn::Meta, syn::Token![,]>::parse_terminated)
                .expect("a cfg predicate")
                .into_iter()
                .collect();
            if list.path.is_ident("all") {
                inner.iter().all(cfg_holds)
            } else if list.path.is_ident("any") {
                inner.iter().any(cfg_holds)
            } else if list.path.is_ident("not") {
                !cfg_holds(&inner[0])
            } else {
                false
            }
        }
    }
}

fn enabled(attrs: &[Attribute]) -> bool {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("cfg"))
        .all(|a| cfg_holds(&a.parse_args::<syn::Meta>().expect("a cfg predicate")))
}

fn hidden(attrs: &[Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("doc") && matches!(&a.meta, syn::Meta::List(l) if l.tokens.to_string().trim() == "hidden")
    })
}

/// The doc comment of an item written in `file`, its lines joined: `///` lines and
/// `#[doc = include_str!("...")]` files (read relative to `file`, as rustc reads them).
fn docs(file: &Path, attrs: &[Attribute]) -> String {
    let mut out = String::new();
    for a in attrs {
        let syn::Meta::NameValue(nv) = &a.meta else { continue };
        if !nv.path.is_ident("doc") {
            continue;
        }
        match &nv.value {
            syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) => out.push_str(&s.value()),
            syn::Expr::Macro(m) if m.mac.path.is_ident("include_str") => {
                let rel: syn::LitStr = m.mac.parse_body().expect("include_str! of a string literal");
                let path = file.parent().unwrap().join(rel.value());
                out.push_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())));
            }
            _ => {}
        }
        out.push('\n');
    }
    out
}

/// Whether a doc comment has a fenced block that rustdoc compiles as a doc test.
fn has_example(doc: &str) -> bool {
    let mut open: Option<bool> = None;
    for line in doc.lines() {
        let line = line.trim_start();
        let Some(info) = line.strip_prefix("```") else { continue };
        match open {
            Some(doctest) => {
                if doctest {
                    return true;
                }
                open = None;
            }
            None => {
                let doctest = info
                    .split(|c: char| c == ',' || c.is_whitespace())
                    .filter(|t| !t.is_empty())
                    .all(|t| matches!(t, "rust" | "no_run" | "should_panic") || t.starts_with("edition"));
                open = Some(doctest);
            }
        }
    }
    false
}

fn item_attrs(item: &Item) -> &[Attribute] {
    match item {
        Item::Const(i) => &i.attrs,
        Item::Enum(i) => &i.attrs,
        Item::Fn(i) => &i.attrs,
        Item::Impl(i) => &i.attrs,
        Item::Mod(i) => &i.attrs,
        Item::Static(i) => &i.attrs,
        Item::Struct(i) => &i.attrs,
        Item::Trait(i) => &i.attrs,
        Item::Type(i) => &i.attrs,
        Item::Union(i) => &i.attrs,
        Item::Use(i) => &i.attrs,
        Item::Macro(i) => &i.attrs,
        _ => &[],
    }
}

/// The name and visibility of an item that defines a name.
fn item_name(item: &Item) -> Option<(String, &Visibility)> {
    let (ident, vis) = match item {
        Item::Const(i) => (&i.ident, &i.vis),
        Item::Enum(i) => (&i.ident, &i.vis),
        Item::Fn(i) => (&i.sig.ident, &i.vis),
        Item::Static(i) => (&i.ident, &i.vis),
        Item::Struct(i) => (&i.ident, &i.vis),
        Item::Trait(i) => (&i.ident, &i.vis),
        Item::Type(i) => (&i.ident, &i.vis),
        Item::Union(i) => (&i.ident, &i.vis),
        _ => return None,
    };
    Some((ident.to_string(), vis))
}

/// The leaves of a `use` tree: (name it binds or `*`, path).
fn flatten(tree: &UseTree, prefix: &mut Vec<String>, out: &mut Vec<(String, Vec<String>)>) {
    match tree {
        UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            flatten(&p.tree, prefix, out);
            prefix.pop();
        }
        UseTree::Name(n) => {
            let name = n.ident.to_string();
            let mut path = prefix.clone();
            path.push(name.clone());
            let bound = if name == "self" { prefix.last().cloned().unwrap_or_default() } else { name };
            out.push((bound, path));
        }
        UseTree::Rename(r) => {
            let mut path = prefix.clone();
            path.push(r.ident.to_string());
            out.push((r.rename.to_string(), path));
        }
        UseTree::Glob(_) => out.push(("*".into(), prefix.clone())),
        UseTree::Group(g) => g.items.iter().for_each(|t| flatten(t, prefix, out)),
    }
}

impl Crate {
    fn load(lib: &Path) -> Crate {
        let mut krate = Crate { modules: Vec::new() };
        krate.load_module(lib, lib.parent().unwrap().to_path_buf(), None, None);
        krate
    }

    /// Loads a module from `file` (or its inline `items`), children from `dir`.
    fn load_module(
        &mut self,
        file: &Path,
        dir: PathBuf,
        parent: Option<usize>,
        inline: Option<Vec<Item>>,
    ) -> usize {
        let items = inline.unwrap_or_else(|| {
            let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display())).items
        });
        let items: Vec<Item> = items.into_iter().filter(|i| enabled(item_attrs(i))).collect();
        let idx = self.modules.len();
        self.modules.push(Module { file: file.to_path_buf(), parent, items: items.clone(), children: BTreeMap::new() });
        for item in &items {
            let Item::Mod(m) = item else { continue };
            let name = m.ident.to_string();
            let child = match &m.content {
                Some((_, inner)) => self.load_module(file, dir.join(&name), Some(idx), Some(inner.clone())),
                None => {
                    let flat = dir.join(format!("{name}.rs"));
                    let (child_file, child_dir) =
                        if flat.exists() { (flat, dir.join(&name)) } else { (dir.join(&name).join("mod.rs"), dir.join(&name)) };
                    self.load_module(&child_file, child_dir, Some(idx), None)
                }
            };
            self.modules[idx].children.insert(name, child);
        }
        idx
    }

    /// What `name` means inside module `m`.
    fn resolve(&self, m: usize, name: &str, depth: usize) -> Target {
        assert!(depth < 64, "re-export cycle at {name}");
        let module = &self.modules[m];
        if let Some(&child) = module.children.get(name) {
            return Target::Module(child);
        }
        if let Some(i) = module.items.iter().position(|i| item_name(i).is_some_and(|(n, _)| n == name)) {
            return Target::Item(m, i);
        }
        let mut globs = Vec::new();
        for item in &module.items {
            let Item::Use(u) = item else { continue };
            let mut leaves = Vec::new();
            flatten(&u.tree, &mut Vec::new(), &mut leaves);
            for (bound, path) in leaves {
                if bound == name {
                    return self.resolve_path(m, &path, depth + 1);
                }
                if bound == "*" {
                    globs.push(path);
                }
            }
        }
        for path in globs {
            if let Target::Module(g) = self.resolve_path(m, &path, depth + 1) {
                match self.resolve(g, name, depth + 1) {
                    Target::External => {}
                    found => return found,
                }
            }
        }
        Target::External
    }

    /// What a `use` path written in module `m` names.
    fn resolve_path(&self, m: usize, path: &[String], depth: usize) -> Target {
        let mut at = m;
        let (last, walk) = path.split_last().expect("a non-empty path");
        for (i, seg) in walk.iter().enumerate() {
            at = match seg.as_str() {
                "crate" if i == 0 => 0,
                "self" if i == 0 => m,
                "super" => self.modules[at].parent.expect("super of the crate root"),
                // the first segment of a `use` path: a child module, else another crate
                _ if i == 0 => match self.modules[m].children.get(seg.as_str()) {
                    Some(&child) => child,
                    None => return Target::External,
                },
                _ => match self.resolve(at, seg, depth + 1) {
                    Target::Module(child) => child,
                    _ => return Target::External,
                },
            };
        }
        match last.as_str() {
            "self" => Target::Module(at),
            "crate" => Target::Module(0),
            "super" => Target::Module(self.modules[at].parent.expect("super of the crate root")),
            // `use name;`: a child module, else another crate
            _ if walk.is_empty() => match self.modules[m].children.get(last.as_str()) {
                Some(&child) => Target::Module(child),
                None => Target::External,
            },
            _ => self.resolve(at, last, depth + 1),
        }
    }
}

/// The public items found, by where they are defined, with the first public path met.
struct Api<'a> {
    krate: &'a Crate,
    items: BTreeMap<(usize, usize), String>,
    visited: BTreeSet<usize>,
    /// Items without an example (public path).
    missing: BTreeSet<String>,
    /// Items checked.
    count: usize,
}

impl Api<'_> {
    fn check(&mut self, m: usize, name: String, attrs: &[Attribute]) {
        self.count += 1;
        if !has_example(&docs(&self.krate.modules[m].file, attrs)) {
            self.missing.insert(name);
        }
    }

    fn walk(&mut self, m: usize, path: &str) {
        if !self.visited.insert(m) {
            return;
        }
        let krate = self.krate;
        for (i, item) in krate.modules[m].items.iter().enumerate() {
            if hidden(item_attrs(item)) {
                continue;
            }
            match item {
                Item::Mod(md) if matches!(md.vis, Visibility::Public(_)) => {
                    let child = krate.modules[m].children[&md.ident.to_string()];
                    self.walk(child, &format!("{path}::{}", md.ident));
                }
                Item::Use(u) if matches!(u.vis, Visibility::Public(_)) => {
                    let mut leaves = Vec::new();
                    flatten(&u.tree, &mut Vec::new(), &mut leaves);
                    for (bound, p) in leaves {
                        assert_ne!(bound, "*", "a public glob re-export in {path}: name the items");
                        match krate.resolve_path(m, &p, 0) {
                            Target::Item(dm, di) => {
                                self.items.entry((dm, di)).or_insert_with(|| format!("{path}::{bound}"));
                            }
                            Target::Module(child) => self.walk(child, &format!("{path}::{bound}")),
                            Target::External => self.check(m, format!("{path}::{bound}"), &u.attrs),
                        }
                    }
                }
                _ => {
                    if let Some((name, Visibility::Public(_))) = item_name(item) {
                        self.items.entry((m, i)).or_insert_with(|| format!("{path}::{name}"));
                    }
                }
            }
        }
    }

    /// Checks the items found, the methods of public traits and the inherent `impl`s of public types.
    fn check_all(&mut self) {
        let krate = self.krate;
        let found: Vec<((usize, usize), String)> = self.items.iter().map(|(k, v)| (*k, v.clone())).collect();
        for (&(m, i), name) in found.iter().map(|(k, v)| (k, v)) {
            let item = &krate.modules[m].items[i];
            if hidden(item_attrs(item)) {
                continue;
            }
            self.check(m, name.clone(), item_attrs(item));
            if let Item::Trait(t) = item {
                for ti in &t.items {
                    if let TraitItem::Fn(f) = ti {
                        if enabled(&f.attrs) && !hidden(&f.attrs) {
                            self.check(m, format!("{name}::{}", f.sig.ident), &f.attrs);
                        }
                    }
                }
            }
        }
        for (m, module) in krate.modules.iter().enumerate() {
            for item in &module.items {
                let Item::Impl(imp) = item else { continue };
                if imp.trait_.is_some() || hidden(&imp.attrs) {
                    continue;
                }
                let syn::Type::Path(tp) = &*imp.self_ty else { continue };
                let ident = tp.path.segments.last().unwrap().ident.to_string();
                let Target::Item(dm, di) = krate.resolve(m, &ident, 0) else { continue };
                let Some(type_name) = self.items.get(&(dm, di)).cloned() else { continue };
                for ii in &imp.items {
                    let (ident, vis, attrs) = match ii {
                        ImplItem::Fn(f) => (&f.sig.ident, &f.vis, &f.attrs),
                        ImplItem::Const(c) => (&c.ident, &c.vis, &c.attrs),
                        _ => continue,
                    };
                    if matches!(vis, Visibility::Public(_)) && enabled(attrs) && !hidden(attrs) {
                        self.check(m, format!("{type_name}::{ident}"), attrs);
                    }
                }
            }
        }
    }
}

/// The public API of the crate whose root is `lib`, named from `root`.
fn missing_examples(lib: &Path, root: &str) -> (usize, BTreeSet<String>) {
    let krate = Crate::load(lib);
    let mut api = Api { krate: &krate, items: BTreeMap::new(), visited: BTreeSet::new(), missing: BTreeSet::new(), count: 0 };
    api.walk(0, root);
    api.check_all();
    (api.count, api.missing)
}

/// The public functions of the proc-macro crate (its macros).
fn missing_macro_examples(lib: &Path) -> (usize, BTreeSet<String>) {
    let file = syn::parse_file(&std::fs::read_to_string(lib).unwrap()).unwrap();
    let mut count = 0;
    let mut missing = BTreeSet::new();
    for item in &file.items {
        if let Item::Fn(f) = item {
            if matches!(f.vis, Visibility::Public(_)) {
                count += 1;
                if !has_example(&docs(lib, &f.attrs)) {
                    missing.insert(format!("operonx_macros::{}", f.sig.ident));
                }
            }
        }
    }
    (count, missing)
}

#[test]
fn every_public_item_has_a_doc_example() {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let (count, mut missing) = missing_examples(&here.join("src/lib.rs"), "operonx");
    let (macro_count, macro_missing) = missing_macro_examples(&here.join("../macros/src/lib.rs"));
    missing.extend(macro_missing);
    assert!(count > 100, "only {count} public items found: the scan lost its way");
    assert!(macro_count >= 2, "the macros of operonx-macros were not found");

    let pending_file = here.join("tests/doc_examples_pending.txt");
    let pending: BTreeSet<String> = std::fs::read_to_string(&pending_file)
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect();
    let new: Vec<&String> = missing.difference(&pending).collect();
    let stale: Vec<&String> = pending.difference(&missing).collect();
    assert!(
        new.is_empty(),
        "{} public item(s) have no doc example (a ```rust block that compiles as a doc test):\n  {}",
        new.len(),
        new.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("\n  ")
    );
    assert!(
        stale.is_empty(),
        "{} item(s) of {} have an example now, or no longer exist: remove them from the list\n  {}",
        stale.len(),
        pending_file.display(),
        stale.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("\n  ")
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
