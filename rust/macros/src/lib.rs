//! `#[op]`: registers a Rust function as an op of the operonx workflow engine; `#[model]`: the
//! derives of a type that typed ops take or return.
//!
//! Use them through the engine crate (`use operonx::{op, model};`); their documentation, with
//! examples, is on `operonx::op` and `operonx::model`. The attribute leaves the function as it is and adds, next to it, an
//! `operonx::OpEntry` that `OperonBuilder::auto_register()` finds at run time (link-time
//! registration through the `inventory` crate, re-exported as `operonx::inventory`).

use proc_macro::TokenStream;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{parse_macro_input, ItemFn, Meta, Token};

mod expand;
mod sig;

/// Registers a sync or async function as an op for `OperonBuilder::auto_register()`, under its
/// name and its module-qualified names.
///
/// Arguments: `#[op]`, `#[op(generator)]`, `#[op(name = "custom")]`, or both. The accepted
/// signatures, the names registered and more examples are documented on `operonx::op`.
///
/// ```
/// use operonx::{op, Operon, OperonError};
/// use serde_json::{json, Value};
///
/// #[op]
/// fn shout(text: String) -> Value {
///     json!({"text": text.to_uppercase()})
/// }
///
/// #[op(generator, name = "words")]
/// fn split_words(text: String) -> Vec<Value> {
///     text.split_whitespace().map(|w| json!({"word": w})).collect()
/// }
///
/// let doc = json!({"schema_version": "1.0", "type": "graph", "name": "g",
///     "ops": {
///         "split": {"type": "code", "func_name": "words", "is_generator": true,
///                   "inputs": {"text": {"required": true, "ref": {"source": "g", "var": "text"}}}},
///         "loud": {"type": "code", "func_name": "shout",
///                  "inputs": {"text": {"required": true, "ref": {"source": "g.split", "var": "word"}}}}},
///     "edges": [{"from": "split", "to": "loud"}], "entries": ["split"], "exits": ["loud"]});
/// let engine = Operon::builder(doc.to_string()).auto_register().build()?;
/// let out = engine.run(json!({"text": "hello operonx"}))?;
/// assert_eq!(out.outputs["text"], json!(["HELLO", "OPERONX"]));
/// // The function is unchanged.
/// assert_eq!(shout("a".into()), json!({"text": "A"}));
/// # Ok::<(), OperonError>(())
/// ```
#[proc_macro_attribute]
pub fn op(attr: TokenStream, item: TokenStream) -> TokenStream {
    let func = parse_macro_input!(item as ItemFn);
    let args = match parse_args(attr) {
        Ok(args) => args,
        Err(e) => return with_fn(&func, e),
    };
    match sig::Shape::of(&func, args.generator) {
        Ok(shape) => expand::expand(&func, &args, &shape).into(),
        Err(e) => with_fn(&func, e),
    }
}

/// Derives `Serialize`, `Deserialize`, `Debug` and `Clone` on a struct or enum: the traits a type
/// of typed `#[op]` parameters and returns needs (the program depends on `serde` with its `derive`
/// feature). Documented on `operonx::model` too.
///
/// ```
/// use operonx::{model, op, Operon, OperonError};
/// use serde_json::json;
///
/// #[model]
/// struct Order {
///     qty: u32,
///     price: f64,
/// }
///
/// #[model]
/// struct Total {
///     total: f64,
/// }
///
/// #[op]
/// fn price(order: Order) -> Total {
///     Total { total: f64::from(order.qty) * order.price }
/// }
///
/// let doc = json!({"schema_version": "1.0", "type": "graph", "name": "g",
///     "ops": {"price": {"type": "code", "inputs": {"order": {"required": true, "ref": {"source": "g", "var": "order"}}}}},
///     "edges": [], "entries": ["price"], "exits": ["price"]});
/// let engine = Operon::builder(doc.to_string()).auto_register().build()?;
/// let out = engine.run(json!({"order": {"qty": 3, "price": 2.5}}))?;
/// assert_eq!(out.outputs["total"], json!(7.5));
/// # Ok::<(), OperonError>(())
/// ```
#[proc_macro_attribute]
pub fn model(attr: TokenStream, item: TokenStream) -> TokenStream {
    let item = parse_macro_input!(item as syn::Item);
    if !attr.is_empty() {
        let attr = proc_macro2::TokenStream::from(attr);
        return syn::Error::new_spanned(attr, "#[model] takes no arguments").to_compile_error().into();
    }
    if !matches!(item, syn::Item::Struct(_) | syn::Item::Enum(_)) {
        return syn::Error::new_spanned(item, "#[model] goes on a struct or an enum").to_compile_error().into();
    }
    quote::quote! {
        #[derive(::serde::Serialize, ::serde::Deserialize, ::core::fmt::Debug, ::core::clone::Clone)]
        #item
    }
    .into()
}

/// The arguments of one `#[op(...)]`.
struct Args {
    /// `generator`: each call returns an array of items.
    generator: bool,
    /// `name = "..."`: the name registered instead of the function's.
    name: Option<syn::LitStr>,
}

/// Reads `generator` and `name = "..."`; anything else is an error naming it.
fn parse_args(attr: TokenStream) -> syn::Result<Args> {
    let mut args = Args { generator: false, name: None };
    let metas = Punctuated::<Meta, Token![,]>::parse_terminated.parse(attr)?;
    for meta in metas {
        match &meta {
            Meta::Path(p) if p.is_ident("generator") => args.generator = true,
            Meta::NameValue(nv) if nv.path.is_ident("name") => match &nv.value {
                syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) if !s.value().is_empty() => {
                    args.name = Some(s.clone());
                }
                other => {
                    return Err(syn::Error::new_spanned(other, "#[op(name = ...)] takes a non-empty string literal"));
                }
            },
            other => {
                return Err(syn::Error::new_spanned(
                    other,
                    "unknown #[op] argument: #[op] takes `generator` and `name = \"...\"`",
                ));
            }
        }
    }
    Ok(args)
}

/// The function unchanged plus the error, so that one mistake gives one message (not a second one
/// for every use of the function).
fn with_fn(func: &ItemFn, e: syn::Error) -> TokenStream {
    let err = e.to_compile_error();
    quote::quote!(#func #err).into()
}
