//! Frames as a run's result: the one grouping (a key seen once keeps its value, a key seen more
//! often becomes a list in frame order), and the Rust API's frame.

use serde_json::{Map, Value};

use super::{Model, Run, Runtime};

/// One result of an op bound to a graph output (the Rust API's frame).
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// The op's short name.
    pub op: String,
    /// The context path, starting with `"main"`.
    pub context: Vec<String>,
    /// The forwarded outputs under their graph-output names.
    pub data: Map<String, Value>,
}

impl<M: Model> Run<M> {
    /// The run's result: the frames that are part of it (not superseded), grouped by key; a key
    /// seen once keeps its value.
    pub fn result<R: Runtime<M>>(&self, rt: &mut R) -> Result<M::Value, M::Error> {
        group(rt, self.frames.kept().map(|f| &f.data), true)
    }
}

/// Groups frame data by key in frame order: each key's values become a list; with `unwrap`, a key
/// seen once keeps its value. The one grouping of results, for every driver and consumer.
pub fn group<'v, M: Model, R: Runtime<M>>(
    rt: &mut R,
    frames: impl Iterator<Item = &'v M::Value>,
    unwrap: bool,
) -> Result<M::Value, M::Error> {
    let mut groups: Vec<(M::Value, Vec<M::Value>)> = Vec::new();
    for data in frames {
        for (k, v) in rt.items(data)? {
            match groups.iter_mut().find(|(key, _)| rt.same(key, &k)) {
                Some((_, values)) => values.push(v),
                None => groups.push((k, vec![v])),
            }
        }
    }
    let mut result = rt.map();
    for (k, mut values) in groups {
        let v = match values.pop() {
            Some(only) if unwrap && values.is_empty() => only,
            Some(last) => {
                values.push(last);
                rt.list(values)?
            }
            None => rt.list(values)?,
        };
        rt.set_key(&mut result, k, v)?;
    }
    Ok(result)
}
