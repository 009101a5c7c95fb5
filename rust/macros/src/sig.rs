//! Which of the accepted signatures an `#[op]` function has.

use syn::spanned::Spanned;
use syn::{FnArg, ItemFn, Pat, ReturnType, Type};

/// How a function receives its inputs.
pub(crate) enum Inputs {
    /// `inputs: &Value`: every input, as one JSON object (the published crate's untyped form).
    ValueRef,
    /// `inputs: Map<String, Value>` with a `Result` return: every input by value (the form of
    /// `OperonBuilder::op`).
    Map,
    /// `inputs: &Inputs`: the borrowed fast path (`OperonBuilder::op_ref` / `gen`).
    Borrowed,
    /// One typed parameter per input, by name, deserialized with serde.
    Typed(Vec<Param>),
}

/// One typed parameter: the input of the same name.
pub(crate) struct Param {
    /// The parameter as written.
    pub ident: syn::Ident,
    /// The input it reads (the identifier without `r#`).
    pub name: String,
    /// Its type (owned, `DeserializeOwned`).
    pub ty: Type,
}

/// What a function returns.
pub(crate) enum Return {
    /// Nothing: the op has no outputs.
    Unit,
    /// A `Result`: `Ok` is the outputs, `Err` fails the op. The span is the return type's.
    Result(proc_macro2::Span),
    /// A value serialized into the outputs. The span is the return type's.
    Plain(proc_macro2::Span),
}

/// The shape of an `#[op]` function.
pub(crate) struct Shape {
    /// `async fn`.
    pub is_async: bool,
    /// `#[op(generator)]`.
    pub generator: bool,
    /// How it receives its inputs.
    pub inputs: Inputs,
    /// What it returns.
    pub ret: Return,
}

impl Shape {
    /// The shape of `func`, or an error pointing at what `#[op]` cannot register.
    pub(crate) fn of(func: &ItemFn, generator: bool) -> syn::Result<Shape> {
        check_plain(func)?;
        let is_async = func.sig.asyncness.is_some();
        if is_async && generator {
            return Err(syn::Error::new_spanned(
                func.sig.asyncness,
                "#[op(generator)] takes a sync function returning an array of items; an async generator is not supported",
            ));
        }
        let ret = return_kind(&func.sig.output);
        let inputs = inputs_of(func, &ret)?;
        if is_async && matches!(inputs, Inputs::Borrowed) {
            return Err(syn::Error::new_spanned(
                &func.sig.inputs,
                "an async #[op] function cannot borrow `&Inputs`; take `inputs: Map<String, Value>` or typed parameters",
            ));
        }
        Ok(Shape { is_async, generator, inputs, ret })
    }
}

/// Refuses what no wrapper can call: generics, methods, `unsafe`, variadics.
fn check_plain(func: &ItemFn) -> syn::Result<()> {
    let sig = &func.sig;
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        return Err(syn::Error::new_spanned(&sig.generics, "an #[op] function cannot be generic"));
    }
    if let syn::Safety::Unsafe(unsafety) = &sig.safety {
        return Err(syn::Error::new_spanned(unsafety, "an #[op] function cannot be unsafe"));
    }
    if let Some(variadic) = &sig.variadic {
        return Err(syn::Error::new_spanned(variadic, "an #[op] function cannot be variadic"));
    }
    if let Some(FnArg::Receiver(r)) = sig.inputs.first() {
        return Err(syn::Error::new_spanned(r, "#[op] goes on a free function, not a method"));
    }
    Ok(())
}

/// How `func` receives its inputs.
fn inputs_of(func: &ItemFn, ret: &Return) -> syn::Result<Inputs> {
    let typed: Vec<&syn::PatType> = func
        .sig
        .inputs
        .iter()
        .filter_map(|arg| match arg {
            FnArg::Typed(t) => Some(t),
            FnArg::Receiver(_) => None,
        })
        .collect();
    if let [only] = typed.as_slice() {
        if let Type::Reference(r) = &*only.ty {
            if r.mutability.is_none() && last_ident_is(&r.elem, "Value") {
                return Ok(Inputs::ValueRef);
            }
            if r.mutability.is_none() && last_ident_is(&r.elem, "Inputs") {
                return Ok(Inputs::Borrowed);
            }
        }
        if matches!(ret, Return::Result(_)) && last_ident_is(&only.ty, "Map") {
            return Ok(Inputs::Map);
        }
    }
    typed.into_iter().map(param).collect::<syn::Result<Vec<_>>>().map(Inputs::Typed)
}

/// A typed parameter, or an error if it cannot be read from an input.
fn param(arg: &syn::PatType) -> syn::Result<Param> {
    let ident = match &*arg.pat {
        Pat::Ident(p) if p.by_ref.is_none() && p.subpat.is_none() => p.ident.clone(),
        other => {
            return Err(syn::Error::new_spanned(
                other,
                "a parameter of an #[op] function needs a plain name: it is the name of the input it reads",
            ));
        }
    };
    match &*arg.ty {
        Type::Reference(_) => Err(syn::Error::new_spanned(
            &arg.ty,
            "an #[op] function takes typed inputs by value (each is deserialized from the input of its name); \
             only a single `&Value` (every input) or `&Inputs` parameter may be borrowed",
        )),
        Type::ImplTrait(_) => Err(syn::Error::new_spanned(&arg.ty, "an #[op] function cannot be generic")),
        ty => {
            let name = ident.to_string();
            let name = name.strip_prefix("r#").unwrap_or(&name).to_string();
            Ok(Param { ident, name, ty: ty.clone() })
        }
    }
}

/// What a function returns: nothing, a `Result`, or a value.
fn return_kind(output: &ReturnType) -> Return {
    match output {
        ReturnType::Default => Return::Unit,
        ReturnType::Type(_, ty) => match &**ty {
            Type::Tuple(t) if t.elems.is_empty() => Return::Unit,
            Type::Path(p) if p.qself.is_none() => match p.path.segments.last() {
                Some(seg) if seg.ident == "Result" && !seg.arguments.is_empty() => Return::Result(ty.span()),
                _ => Return::Plain(ty.span()),
            },
            _ => Return::Plain(ty.span()),
        },
    }
}

/// True when `ty` is a path whose last segment is `name` (`Value`, `serde_json::Value`, ...).
fn last_ident_is(ty: &Type, name: &str) -> bool {
    match ty {
        Type::Path(p) if p.qself.is_none() => p.path.segments.last().is_some_and(|s| s.ident == name),
        Type::Paren(p) => last_ident_is(&p.elem, name),
        Type::Group(g) => last_ident_is(&g.elem, name),
        _ => false,
    }
}
