//! One op as written, in either form, and its translation into [`OpDoc`]: a published nested graph's
//! body, held inline, becomes the op's `graph`.

use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::Value;

use super::calls::{CallsDoc, Written};
use super::schema::{CaseDoc, EdgeDoc, GraphDoc, LoopDoc, OpDoc, Ordered, ParamDoc};
use super::values::bounded_opt;
use super::wire::{one_loop, refuse_unsupported, Body, Links, PublishedLoop};

/// One op as written, in either form.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "an op (a JSON object with a type)")]
pub(super) struct OpWire {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    full_name: Option<String>,
    #[serde(default)]
    func_name: Option<String>,
    #[serde(default)]
    bound: Option<String>,
    #[serde(default)]
    executor: Option<String>,
    // The executor's options (`@op(ray={...})`): the Python engine hands them to the executor.
    #[serde(default, rename = "executor_options")]
    _executor_options: Option<IgnoredAny>,
    #[serde(default)]
    is_async: bool,
    #[serde(default)]
    is_generator: bool,
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default)]
    inputs: Ordered<ParamDoc>,
    #[serde(default)]
    outputs: Ordered<ParamDoc>,
    #[serde(default)]
    forward_all: Option<bool>,
    #[serde(default, deserialize_with = "bounded_opt")]
    callable: Option<Value>,
    #[serde(default)]
    cases: Vec<CaseDoc>,
    #[serde(default, rename = "default")]
    default_target: Option<String>,
    #[serde(default)]
    candidates: Option<Vec<String>>,
    #[serde(default)]
    graph: Option<Box<GraphDoc>>,
    #[serde(default, rename = "loop")]
    loop_doc: Option<LoopDoc>,
    // A published nested graph holds its body inline.
    #[serde(default)]
    ops: Option<Ordered<OpDoc>>,
    #[serde(default)]
    edges: Option<Vec<EdgeDoc>>,
    #[serde(default)]
    compiled_adj: Option<Ordered<Links>>,
    #[serde(default)]
    initial_ready_count: Option<Ordered<i64>>,
    #[serde(default, rename = "stream_initial_ready")]
    _stream_initial_ready: Option<IgnoredAny>,
    #[serde(default)]
    entries: Option<Vec<String>>,
    #[serde(default)]
    exits: Option<Vec<String>>,
    #[serde(default)]
    loop_config: Option<PublishedLoop>,
    #[serde(default)]
    max_stream_concurrent: Option<u32>,
    #[serde(default, rename = "python_callable")]
    _python_callable: Option<IgnoredAny>,
    // The Python module of a code op's function, which `Operon.from_json` binds it by: nothing here.
    #[serde(default, rename = "module")]
    _module: Option<IgnoredAny>,
    #[serde(default, rename = "verbose")]
    _verbose: Option<IgnoredAny>,
    #[serde(default, rename = "stream")]
    _stream: Option<IgnoredAny>,
    #[serde(default, rename = "description")]
    _description: Option<IgnoredAny>,
    #[serde(default, deserialize_with = "bounded_opt")]
    cache: Option<Value>,
    #[serde(default, deserialize_with = "bounded_opt")]
    delay: Option<Value>,
    #[serde(default)]
    format: Option<String>,
    #[serde(default)]
    extract: Option<Vec<String>>,
    #[serde(default, deserialize_with = "bounded_opt")]
    template: Option<Value>,
    #[serde(default, deserialize_with = "bounded_opt")]
    retries: Option<Value>,
    #[serde(default, deserialize_with = "bounded_opt")]
    backoff: Option<Value>,
    #[serde(default, deserialize_with = "bounded_opt")]
    retry_on: Option<Value>,
    #[serde(default, deserialize_with = "bounded_opt")]
    timeout: Option<Value>,
    #[serde(default, deserialize_with = "bounded_opt")]
    resource: Option<Value>,
    #[serde(default, deserialize_with = "bounded_opt")]
    ratios: Option<Value>,
    #[serde(default, deserialize_with = "bounded_opt")]
    fallback: Option<Value>,
    #[serde(default, deserialize_with = "bounded_opt")]
    batch_mode: Option<Value>,
    #[serde(default, deserialize_with = "bounded_opt")]
    resource_config: Option<Value>,
    #[serde(default, deserialize_with = "bounded_opt")]
    resource_configs: Option<Value>,
    #[serde(default, deserialize_with = "bounded_opt")]
    fallback_configs: Option<Value>,
    #[serde(default, deserialize_with = "bounded_opt")]
    inputs_map: Option<Value>,
    #[serde(default, deserialize_with = "bounded_opt")]
    outputs_map: Option<Value>,
}

fn yes() -> bool {
    true
}

impl OpWire {
    /// The op's name for messages.
    fn label(&self) -> String {
        let name = self.name.as_deref().or(self.full_name.as_deref()).unwrap_or("?");
        format!("op '{name}'")
    }

    /// The published nested graph's body when this op holds one inline (`None` when it has none of its
    /// keys).
    fn take_body(&mut self) -> Option<Body> {
        let inline = self.ops.is_some()
            || self.edges.is_some()
            || self.compiled_adj.is_some()
            || self.initial_ready_count.is_some()
            || self.entries.is_some()
            || self.exits.is_some()
            || self.max_stream_concurrent.is_some();
        inline.then(|| Body {
            ops: self.ops.take().unwrap_or_default(),
            edges: self.edges.take(),
            compiled_adj: self.compiled_adj.take(),
            initial_ready_count: self.initial_ready_count.take(),
            entries: self.entries.take().unwrap_or_default(),
            exits: self.exits.take().unwrap_or_default(),
            max_stream_concurrent: self.max_stream_concurrent.take(),
            ..Body::default()
        })
    }
}

impl TryFrom<OpWire> for OpDoc {
    type Error = String;

    fn try_from(mut w: OpWire) -> Result<OpDoc, String> {
        // The label is made only for a message: most ops are read without one.
        refuse_unsupported(
            &|| w.label(),
            &[
                ("resource", &w.resource),
                ("ratios", &w.ratios),
                ("fallback", &w.fallback),
                ("batch_mode", &w.batch_mode),
                ("resource_config", &w.resource_config),
                ("resource_configs", &w.resource_configs),
                ("fallback_configs", &w.fallback_configs),
                ("inputs_map", &w.inputs_map),
                ("outputs_map", &w.outputs_map),
            ],
        )?;
        let written = Written {
            cache: w.cache.take(),
            delay: w.delay.take(),
            retries: w.retries.take(),
            backoff: w.backoff.take(),
            retry_on: w.retry_on.take(),
            timeout: w.timeout.take(),
        };
        let calls = CallsDoc::read(&|| w.label(), written)?;
        if w.kind == "parser" {
            published_parser(&mut w);
        }
        let is_graph = w.kind == "graph";
        let body = w.take_body();
        let loops = (w.loop_doc.take(), w.loop_config.take());
        let (graph, loop_config) = match (is_graph, w.graph.take(), body) {
            (false, _, Some(_)) | (false, Some(_), None) => {
                return Err(format!("{} has type '{}' but holds a graph (its ops, edges or \"graph\"); only an op of type 'graph' does", w.label(), w.kind))
            }
            (false, None, None) => match loops {
                (None, None) => (None, None),
                _ => return Err(format!("{} has type '{}' but a loop; only an op of type 'graph' loops", w.label(), w.kind)),
            },
            (true, Some(_), Some(_)) => {
                return Err(format!("{} has a \"graph\" document and also the graph's ops or edges inline; give one", w.label()))
            }
            (true, Some(g), None) => (Some(g), one_loop(&w.label(), loops.0, loops.1)?),
            (true, None, Some(mut body)) => {
                (body.loop_doc, body.loop_config) = loops;
                let mut inner = body.into_graph(w.name.clone().unwrap_or_default())?;
                inner.full_name = w.full_name.clone();
                let loop_config = inner.loop_config.take();
                (Some(Box::new(inner)), loop_config)
            }
            (true, None, None) => (None, one_loop(&w.label(), loops.0, loops.1)?),
        };
        Ok(OpDoc {
            kind: std::mem::take(&mut w.kind),
            full_name: w.full_name.take(),
            func_name: w.func_name.take(),
            bound: w.bound.take(),
            executor: w.executor.take(),
            is_async: w.is_async,
            is_generator: w.is_generator,
            enabled: w.enabled,
            inputs: std::mem::take(&mut w.inputs),
            outputs: std::mem::take(&mut w.outputs),
            forward_all: w.forward_all,
            callable: w.callable.take(),
            cases: std::mem::take(&mut w.cases),
            default_target: w.default_target.take(),
            candidates: w.candidates.take(),
            graph,
            loop_config,
            calls,
            format: w.format.take(),
            extract: w.extract.take(),
            template: w.template.take(),
        })
    }
}

/// A published parser op gives its format and fields as literal inputs `mode` and `schema`: they
/// become its `format` and `extract` (when it has none of its own), and leave its inputs.
fn published_parser(w: &mut OpWire) {
    let take = |w: &mut OpWire, key: &str| -> Option<Value> {
        let i = w.inputs.0.iter().position(|(k, p)| k == key && p.reference.is_none() && p.refs.is_empty())?;
        Some(w.inputs.0.remove(i).1.literal)
    };
    if w.format.is_none() {
        if let Some(Value::String(mode)) = take(w, "mode") {
            w.format = Some(mode);
        }
    }
    if w.extract.is_none() {
        if let Some(Value::Array(schema)) = take(w, "schema") {
            w.extract = Some(schema.iter().map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string)).collect());
        }
    }
}
