//! The code `#[op]` writes: the function unchanged, and an `OpEntry` submitted to the inventory
//! whose function adapts the user's signature to one of the engine's op shapes.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::ItemFn;

use crate::sig::{Inputs, Param, Return, Shape};
use crate::Args;

/// The function and its registration.
pub(crate) fn expand(func: &ItemFn, args: &Args, shape: &Shape) -> TokenStream {
    let ident = &func.sig.ident;
    let fn_name = ident.to_string();
    let fn_name = fn_name.strip_prefix("r#").unwrap_or(&fn_name).to_string();
    let name = args.name.as_ref().map_or_else(|| fn_name.clone(), syn::LitStr::value);
    let (ctor, callee) = match (&shape.inputs, shape.is_async, shape.generator) {
        (Inputs::Borrowed, _, false) => (quote!(op_ref), quote!(#ident)),
        (Inputs::Borrowed, _, true) => (quote!(gen_ref), quote!(#ident)),
        (_, true, _) => (quote!(op_async), async_wrapper(ident, &fn_name, shape)),
        (_, false, false) => (quote!(op_map), sync_wrapper(ident, &fn_name, shape)),
        (_, false, true) => (quote!(gen_map), sync_wrapper(ident, &fn_name, shape)),
    };
    quote! {
        #func
        ::operonx::inventory::submit! {
            ::operonx::OpEntry::#ctor(#name, ::core::module_path!(), #callee)
                .at(#fn_name, ::core::file!(), ::core::line!())
        }
    }
}

/// `fn(Map<String, Value>) -> Result<Value, OperonError>` calling the function.
fn sync_wrapper(ident: &syn::Ident, fn_name: &str, shape: &Shape) -> TokenStream {
    let (prepare, call) = match &shape.inputs {
        Inputs::ValueRef => (quote!(let __value = __s::Value::Object(__inputs);), quote!(#ident(&__value))),
        Inputs::Map | Inputs::Borrowed => (quote!(), quote!(#ident(__inputs))),
        Inputs::Typed(params) => {
            let reads = params.iter().map(|p| read_param(p, fn_name));
            let names = params.iter().map(|p| &p.ident);
            (quote!(#(#reads)*), quote!(#ident(#(#names),*)))
        }
    };
    let ret = returned(call, &shape.ret, fn_name);
    quote! {{
        #[allow(unused_mut, unused_variables, clippy::needless_pass_by_value)]
        fn __operonx_op(
            mut __inputs: ::operonx::ops::macro_support::Map,
        ) -> ::core::result::Result<::operonx::ops::macro_support::Value, ::operonx::OperonError> {
            use ::operonx::ops::macro_support as __s;
            #[allow(unused_imports)]
            use __s::IntoOpError as _;
            #prepare
            #ret
        }
        __operonx_op
    }}
}

/// `fn(Map<String, Value>) -> OpFuture`: typed inputs are read before the future starts (a bad
/// input fails the call at once), the function's future runs inside it.
fn async_wrapper(ident: &syn::Ident, fn_name: &str, shape: &Shape) -> TokenStream {
    let (prepare, call) = match &shape.inputs {
        Inputs::ValueRef => {
            (quote!(), quote!({ let __value = __s::Value::Object(__inputs); #ident(&__value).await }))
        }
        Inputs::Map | Inputs::Borrowed => (quote!(), quote!(#ident(__inputs).await)),
        Inputs::Typed(params) => {
            let reads = params.iter().map(|p| {
                let (id, ty, name) = (&p.ident, &p.ty, &p.name);
                quote! {
                    let #id: #ty = match __s::input(&mut __inputs, #name, #fn_name) {
                        ::core::result::Result::Ok(v) => v,
                        ::core::result::Result::Err(e) => return __s::failed(e),
                    };
                }
            });
            let names = params.iter().map(|p| &p.ident);
            (quote!(#(#reads)*), quote!(#ident(#(#names),*).await))
        }
    };
    let ret = returned(call, &shape.ret, fn_name);
    quote! {{
        #[allow(unused_mut, unused_variables, clippy::needless_pass_by_value)]
        fn __operonx_op(mut __inputs: ::operonx::ops::macro_support::Map) -> ::operonx::ops::OpFuture {
            use ::operonx::ops::macro_support as __s;
            #[allow(unused_imports)]
            use __s::IntoOpError as _;
            #prepare
            ::std::boxed::Box::pin(async move { #ret })
        }
        __operonx_op
    }}
}

/// `let x: T = input(&mut inputs, "x", "f")?;`
fn read_param(p: &Param, fn_name: &str) -> TokenStream {
    let (id, ty, name) = (&p.ident, &p.ty, &p.name);
    quote!(let #id: #ty = __s::input(&mut __inputs, #name, #fn_name)?;)
}

/// The op's result from the function's return value.
fn returned(call: TokenStream, ret: &Return, fn_name: &str) -> TokenStream {
    match ret {
        Return::Unit => quote! {{
            #call;
            ::core::result::Result::Ok(__s::Value::Null)
        }},
        Return::Result(span) => quote_spanned! {*span=>
            match #call {
                ::core::result::Result::Ok(__v) => __s::output(__v, #fn_name),
                ::core::result::Result::Err(__e) => ::core::result::Result::Err(__s::Failure(__e).into_op_error()),
            }
        },
        Return::Plain(span) => quote_spanned!(*span=> __s::output(#call, #fn_name)),
    }
}
