//! Frames as a run's result: the one grouping (a key seen once keeps its value, a key seen more
//! often becomes a list in frame order), and the Rust API's frame.

use serde_json::{Map, Value};
use smallvec::SmallVec;

use super::{Model, Run, Runtime};

/// One result of an op bound to a graph output (the Rust API's frame).
#[doc = include_str!("../../doc/run/frames/Frame.md")]
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
    #[doc = include_str!("../../doc/run/frames/Run.result.md")]
    pub fn result<R: Runtime<M>>(&self, rt: &mut R) -> Result<M::Value, M::Error> {
        group(rt, self.frames.kept().map(|f| &f.data), true)
    }

    /// [`Run::result`] of a run that is over and that nothing reads again (its frames are let go
    /// next): the data of a one-frame result is moved out of its frame instead of copied.
    #[doc = include_str!("../../doc/run/frames/Run.take_result.md")]
    pub fn take_result<R: Runtime<M>>(&mut self, rt: &mut R) -> Result<M::Value, M::Error> {
        if self.frames.kept().nth(1).is_some() {
            return self.result(rt);
        }
        match self.frames.kept_mut().next() {
            // a frame's data is a mapping the run made: what `copy_map` would copy
            Some(only) => Ok(std::mem::replace(&mut only.data, rt.none())),
            None => Ok(rt.map()),
        }
    }
}

/// A key seen more than once, and its values so far.
type Group<V> = (V, Vec<V>);

/// Groups frame data by key in frame order: each key's values become a list; with `unwrap`, a key
/// seen once keeps its value. The one grouping of results, for every driver and consumer.
///
/// The result mapping is its own index (one lookup per entry); only keys seen more than once are
/// gathered on the side, and become lists at the end, in the position of their first value.
#[doc = include_str!("../../doc/run/frames/group.md")]
pub fn group<'v, M: Model, R: Runtime<M>>(
    rt: &mut R,
    frames: impl Iterator<Item = &'v M::Value>,
    unwrap: bool,
) -> Result<M::Value, M::Error> {
    let mut frames = frames.peekable();
    let first = frames.next();
    if unwrap && frames.peek().is_none() {
        // one frame (or none): its data is the result, each key seen once
        return match first {
            Some(data) => rt.copy_map(data),
            None => Ok(rt.map()),
        };
    }
    let mut result = rt.map();
    // keys seen more than once (every key without `unwrap`), with their values so far
    let mut groups: SmallVec<[Group<M::Value>; 2]> = SmallVec::new();
    for data in first.into_iter().chain(frames) {
        for (k, v) in rt.items(data)? {
            let first = if unwrap { rt.get_key(&result, &k)? } else { None };
            if unwrap && first.is_none() {
                rt.set_key(&mut result, k, v)?;
                continue;
            }
            if let Some((_, values)) = groups.iter_mut().find(|(key, _)| rt.same(key, &k)) {
                values.push(v);
                continue;
            }
            if first.is_none() {
                // a placeholder keeps the key's place in the mapping until its list is set
                let (key, placeholder) = (rt.copy(&k), rt.copy(&v));
                rt.set_key(&mut result, key, placeholder)?;
            }
            groups.push((k, first.into_iter().chain([v]).collect()));
        }
    }
    for (k, values) in groups {
        let list = rt.list(values)?;
        rt.set_key(&mut result, k, list)?;
    }
    Ok(result)
}
