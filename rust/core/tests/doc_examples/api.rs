//! The public items of a crate, found from its root as rustc finds them, and the check of their
//! doc comments.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use syn::{Attribute, ImplItem, Item, TraitItem, Visibility};

use super::crate_tree::{enabled, flatten, item_attrs, item_name, Crate, Target};

pub(crate) fn hidden(attrs: &[Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("doc") && matches!(&a.meta, syn::Meta::List(l) if l.tokens.to_string().trim() == "hidden")
    })
}

/// The doc comment of an item written in `file`, its lines joined: `///` lines and
/// `#[doc = include_str!("...")]` files (read relative to `file`, as rustc reads them).
pub(crate) fn docs(file: &Path, attrs: &[Attribute]) -> String {
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
pub(crate) fn has_example(doc: &str) -> bool {
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
/// The public items found, by where they are defined, with the first public path met.
pub(crate) struct Api<'a> {
    krate: &'a Crate,
    pub(crate) items: BTreeMap<(usize, usize), String>,
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
pub(crate) fn missing_examples(lib: &Path, root: &str) -> (usize, BTreeSet<String>) {
    let krate = Crate::load(lib);
    let mut api = Api { krate: &krate, items: BTreeMap::new(), visited: BTreeSet::new(), missing: BTreeSet::new(), count: 0 };
    api.walk(0, root);
    api.check_all();
    (api.count, api.missing)
}

/// The public functions of the proc-macro crate (its macros).
pub(crate) fn missing_macro_examples(lib: &Path) -> (usize, BTreeSet<String>) {
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
