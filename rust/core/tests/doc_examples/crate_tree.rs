//! The module tree of a crate read from its sources: modules after `cfg`, and what a name or a
//! `use` path means in a module (followed across re-exports and private modules).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use syn::{Attribute, Item, UseTree, Visibility};

/// One module of the crate: its items (after `cfg`), its parent and its children.
pub(crate) struct Module {
    /// The file the module is written in (its parent's, for an inline module).
    pub(crate) file: PathBuf,
    pub(crate) parent: Option<usize>,
    pub(crate) items: Vec<Item>,
    pub(crate) children: BTreeMap<String, usize>,
}

/// What a name resolves to.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub(crate) enum Target {
    Item(usize, usize),
    Module(usize),
    External,
}

pub(crate) struct Crate {
    pub(crate) modules: Vec<Module>,
}

/// `cfg(...)` as compiled for `cargo test`'s library: default features (`tokio`), no `test` or
/// `doctest`.
pub(crate) fn cfg_holds(meta: &syn::Meta) -> bool {
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

pub(crate) fn enabled(attrs: &[Attribute]) -> bool {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("cfg"))
        .all(|a| cfg_holds(&a.parse_args::<syn::Meta>().expect("a cfg predicate")))
}


pub(crate) fn item_attrs(item: &Item) -> &[Attribute] {
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
pub(crate) fn item_name(item: &Item) -> Option<(String, &Visibility)> {
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
pub(crate) fn flatten(tree: &UseTree, prefix: &mut Vec<String>, out: &mut Vec<(String, Vec<String>)>) {
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
    pub(crate) fn load(lib: &Path) -> Crate {
        let mut krate = Crate { modules: Vec::new() };
        krate.load_module(lib, lib.parent().unwrap().to_path_buf(), None, None);
        krate
    }

    /// Loads a module from `file` (or its inline `items`), children from `dir`.
    pub(crate) fn load_module(
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
    pub(crate) fn resolve(&self, m: usize, name: &str, depth: usize) -> Target {
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
    pub(crate) fn resolve_path(&self, m: usize, path: &[String], depth: usize) -> Target {
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
