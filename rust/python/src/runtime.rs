//! The Python value model of a run: values are Python objects, errors Python exceptions, and a
//! waiting consumer is an asyncio future resolved on the loop thread. The run semantics
//! ([`operonx::run`]) reach Python only through [`PyRuntime`].

use operonx::error::OperonError;
use operonx::plan::{ConstId, OpId, TransformPlan, VarId};
use operonx::run::{Entries, Key, Runtime};
use pyo3::exceptions::{PyException, PyKeyError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};

use crate::compiled::Compiled;
use crate::errors::to_pyerr;
use crate::frames::resolve;
use crate::value::apply_transform;

pub(crate) use crate::model::PyModel;

/// Python values of the runs of one engine, on a thread attached to the interpreter.
pub(crate) struct PyRuntime<'a, 'py> {
    py: Python<'py>,
    eng: &'a Compiled,
}

impl<'a, 'py> PyRuntime<'a, 'py> {
    /// The runtime of runs of `eng`.
    pub fn new(py: Python<'py>, eng: &'a Compiled) -> Self {
        PyRuntime { py, eng }
    }
}

/// Reads `key` from a mapping; `None` when absent.
pub(crate) fn lookup<'py>(obj: &Bound<'py, PyAny>, key: &Bound<'py, PyString>) -> PyResult<Option<Bound<'py, PyAny>>> {
    if let Ok(d) = obj.cast::<PyDict>() {
        return d.get_item(key);
    }
    match obj.get_item(key) {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_instance_of::<PyKeyError>(obj.py()) => Ok(None),
        Err(e) => Err(e),
    }
}

/// `True` for a mapping: a dict, or anything with `keys()`.
fn is_mapping(v: &Bound<'_, PyAny>) -> bool {
    v.cast::<PyDict>().is_ok() || v.hasattr(pyo3::intern!(v.py(), "keys")).unwrap_or(false)
}

/// True for a `"$..."` key: the engine's own (tags), never forwarded.
fn is_private(k: &Bound<'_, PyAny>) -> bool {
    k.cast::<PyString>().is_ok_and(|s| s.to_str().is_ok_and(|s| s.starts_with('$')))
}

/// The `(key, value)` pairs of a mapping.
fn pairs<'py>(map: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyList>> {
    match map.cast::<PyDict>() {
        Ok(d) => Ok(d.items()),
        Err(_) => {
            let py = map.py();
            let items = map.call_method0(pyo3::intern!(py, "items"))?;
            Ok(py.get_type::<PyList>().call1((items,))?.cast_into::<PyList>()?)
        }
    }
}

/// A key the semantics know of, interned once.
fn known(py: Python<'_>, key: Key) -> &Bound<'_, PyString> {
    match key {
        Key::Tags => pyo3::intern!(py, "$tags"),
        Key::Anchor => pyo3::intern!(py, "anchor"),
        Key::Target => pyo3::intern!(py, "target"),
        Key::Matched => pyo3::intern!(py, "matched"),
    }
}

fn dict<'a, 'py>(map: &'a Bound<'py, PyAny>) -> PyResult<&'a Bound<'py, PyDict>> {
    Ok(map.cast::<PyDict>()?)
}

impl Runtime<PyModel> for PyRuntime<'_, '_> {
    #[inline]
    fn get(&mut self, map: &Py<PyAny>, var: VarId) -> PyResult<Option<Py<PyAny>>> {
        let key = self.eng.var_key(var).bind(self.py);
        Ok(lookup(map.bind(self.py), key)?.map(Bound::unbind))
    }

    fn get_str(&mut self, map: &Py<PyAny>, key: &str) -> PyResult<Option<Py<PyAny>>> {
        // a traced run looks up "$span" in every op's outputs: an interned key, hashed once
        let key = if key == operonx::run::SPAN_KEY {
            pyo3::intern!(self.py, "$span").clone()
        } else {
            PyString::new(self.py, key)
        };
        Ok(lookup(map.bind(self.py), &key)?.map(Bound::unbind))
    }

    fn keys(&mut self, map: &Py<PyAny>) -> Vec<String> {
        let keys = map.bind(self.py).call_method0(pyo3::intern!(self.py, "keys")).ok();
        let Some(Ok(keys)) = keys.map(|k| k.try_iter()) else { return Vec::new() };
        keys.filter_map(|k| k.ok()?.extract::<String>().ok()).collect()
    }

    #[inline]
    fn constant(&mut self, c: ConstId) -> Py<PyAny> {
        self.eng.constant(c).clone_ref(self.py)
    }

    fn none(&mut self) -> Py<PyAny> {
        self.py.None()
    }

    #[inline]
    fn is_none(&self, v: &Py<PyAny>) -> bool {
        v.is_none(self.py)
    }

    fn truthy(&self, v: &Py<PyAny>) -> PyResult<bool> {
        v.bind(self.py).is_truthy()
    }

    fn transform(
        &mut self,
        t: &TransformPlan,
        value: Py<PyAny>,
        args: Vec<Py<PyAny>>,
        kwargs: Vec<(&str, Py<PyAny>)>,
    ) -> PyResult<Py<PyAny>> {
        let py = self.py;
        let args = args.into_iter().map(|a| a.into_bound(py)).collect();
        let kwargs = kwargs.into_iter().map(|(k, v)| (k, v.into_bound(py))).collect();
        apply_transform(py, t, value.into_bound(py), args, kwargs).map(Bound::unbind)
    }

    #[inline]
    fn copy(&mut self, v: &Py<PyAny>) -> Py<PyAny> {
        v.clone_ref(self.py)
    }

    fn map(&mut self) -> Py<PyAny> {
        PyDict::new(self.py).into_any().unbind()
    }

    fn list(&mut self, items: Vec<Py<PyAny>>) -> PyResult<Py<PyAny>> {
        Ok(PyList::new(self.py, items)?.into_any().unbind())
    }

    fn push(&mut self, list: &mut Py<PyAny>, v: Py<PyAny>) -> PyResult<()> {
        list.bind(self.py).cast::<PyList>()?.append(v)
    }

    fn set(&mut self, map: &mut Py<PyAny>, var: VarId, v: Py<PyAny>) -> PyResult<()> {
        dict(map.bind(self.py))?.set_item(self.eng.var_key(var).bind(self.py), v)
    }

    fn get_known(&mut self, map: &Py<PyAny>, key: Key) -> PyResult<Option<Py<PyAny>>> {
        Ok(lookup(map.bind(self.py), known(self.py, key))?.map(Bound::unbind))
    }

    fn set_known(&mut self, map: &mut Py<PyAny>, key: Key, v: Py<PyAny>) -> PyResult<()> {
        dict(map.bind(self.py))?.set_item(known(self.py, key), v)
    }

    fn update(&mut self, into: &mut Py<PyAny>, from: &Py<PyAny>, public: bool) -> PyResult<()> {
        let into = into.bind(self.py);
        let into = dict(into)?;
        let from = from.bind(self.py);
        if !public {
            return match from.cast::<PyDict>() {
                Ok(d) => into.update(d.as_mapping()),
                Err(_) => into.call_method1(pyo3::intern!(self.py, "update"), (from,)).map(drop),
            };
        }
        if let Ok(d) = from.cast::<PyDict>() {
            for (k, v) in d.iter() {
                if !is_private(&k) {
                    into.set_item(k, v)?;
                }
            }
            return Ok(());
        }
        for item in pairs(from)?.iter() {
            let (k, v): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item.extract()?;
            if !is_private(&k) {
                into.set_item(k, v)?;
            }
        }
        Ok(())
    }

    fn copy_map(&mut self, map: &Py<PyAny>) -> PyResult<Py<PyAny>> {
        match map.bind(self.py).cast::<PyDict>() {
            Ok(d) => Ok(d.copy()?.into_any().unbind()),
            Err(_) => {
                let copy = PyDict::new(self.py);
                self.update(&mut copy.clone().into_any().unbind(), map, false)?;
                Ok(copy.into_any().unbind())
            }
        }
    }

    fn items(&mut self, map: &Py<PyAny>) -> PyResult<Entries<PyModel>> {
        let map = map.bind(self.py);
        if let Ok(d) = map.cast::<PyDict>() {
            return Ok(d.iter().map(|(k, v)| (k.unbind(), v.unbind())).collect());
        }
        let mut out = Entries::<PyModel>::new();
        for item in pairs(map)?.iter() {
            let (k, v): (Py<PyAny>, Py<PyAny>) = item.extract()?;
            out.push((k, v));
        }
        Ok(out)
    }

    fn get_key(&mut self, map: &Py<PyAny>, key: &Py<PyAny>) -> PyResult<Option<Py<PyAny>>> {
        Ok(dict(map.bind(self.py))?.get_item(key)?.map(Bound::unbind))
    }

    fn set_key(&mut self, map: &mut Py<PyAny>, key: Py<PyAny>, v: Py<PyAny>) -> PyResult<()> {
        dict(map.bind(self.py))?.set_item(key, v)
    }

    fn same(&mut self, a: &Py<PyAny>, b: &Py<PyAny>) -> bool {
        a.is(b) || a.bind(self.py).eq(b.bind(self.py)).unwrap_or(false)
    }

    fn outputs(&mut self, v: Py<PyAny>) -> Result<Py<PyAny>, String> {
        let b = v.bind(self.py);
        if b.is_none() {
            return Ok(PyDict::new(self.py).into_any().unbind());
        }
        if is_mapping(b) {
            return Ok(v);
        }
        Err(b.get_type().name().map(|n| n.to_string()).unwrap_or_default())
    }

    fn iterate(&mut self, v: &Py<PyAny>) -> PyResult<Vec<Py<PyAny>>> {
        v.bind(self.py).try_iter()?.map(|i| i.map(Bound::unbind)).collect()
    }

    fn record(&mut self, op: OpId, args: &[Py<PyAny>]) -> PyResult<Py<PyAny>> {
        let record = PyDict::new(self.py);
        for (name, value) in self.eng.kwnames(op).bind(self.py).iter().zip(args) {
            record.set_item(name, value)?;
        }
        Ok(record.into_any().unbind())
    }

    fn op_name(&mut self, op: OpId) -> Py<PyAny> {
        self.eng.op_name(op).clone_ref(self.py).into_any()
    }

    fn text(&mut self, s: &str) -> Py<PyAny> {
        PyString::new(self.py, s).into_any().unbind()
    }

    fn json_value(&mut self, v: &serde_json::Value) -> PyResult<Py<PyAny>> {
        crate::value::json_to_py(self.py, v).map(Bound::unbind)
    }

    fn to_json(&mut self, v: &Py<PyAny>) -> Option<serde_json::Value> {
        crate::value::py_to_json(v.bind(self.py), 0)
    }

    fn text_of(&mut self, v: &Py<PyAny>) -> Option<String> {
        v.bind(self.py).extract::<String>().ok()
    }

    fn until_callable(&mut self, c: ConstId, vars: &Py<PyAny>) -> Result<bool, (String, PyErr)> {
        let f = self.eng.constant(c).bind(self.py);
        let what = || {
            f.getattr(pyo3::intern!(f.py(), "__qualname__"))
                .map(|n| n.to_string())
                .unwrap_or_else(|_| "callable".into())
        };
        let vars = dict(vars.bind(self.py)).and_then(|d| d.copy()).map_err(|e| (what(), e))?;
        f.call1((vars,)).and_then(|v| v.is_truthy()).map_err(|e| (what(), e))
    }

    fn write_json(&mut self, v: &Py<PyAny>, out: &mut Vec<u8>) -> bool {
        crate::value::write_json(v.bind(self.py), out);
        true
    }

    fn describe(&mut self, e: &PyErr) -> String {
        format!("{}: {}", e.get_type(self.py).name().map(|n| n.to_string()).unwrap_or_default(), e.value(self.py))
    }

    fn is_instance(&mut self, e: &PyErr, class: ConstId) -> bool {
        let given = self.eng.constant(class).bind(self.py);
        // an exported document names the type ("builtins.ValueError"): it is imported
        let class = match given.extract::<String>() {
            Ok(name) => match name.rsplit_once('.') {
                Some((module, attr)) => match self.py.import(module).and_then(|m| m.getattr(attr)) {
                    Ok(c) => c,
                    Err(_) => return false,
                },
                None => return false,
            },
            Err(_) => given.clone(),
        };
        e.value(self.py).is_instance(&class).unwrap_or(false)
    }

    fn is_fatal(&mut self, e: &PyErr) -> bool {
        // KeyboardInterrupt, SystemExit, CancelledError...: never wrapped, they end the run.
        !e.is_instance_of::<PyException>(self.py)
    }

    fn failure(&mut self, error: OperonError, cause: Option<PyErr>) -> PyErr {
        let err = to_pyerr(self.py, &error);
        err.set_cause(self.py, cause);
        err
    }

    fn fatal(&mut self, e: PyErr) -> PyErr {
        e
    }

    fn wake(&mut self, waker: Py<PyAny>, value: Option<Py<PyAny>>) -> PyResult<()> {
        let value = value.unwrap_or_else(|| self.py.None());
        resolve(self.py, waker.bind(self.py), value.into_bound(self.py))
    }

    fn gone(&mut self, waker: &Py<PyAny>) -> bool {
        crate::frames::is_done(self.py, waker.bind(self.py))
    }
}
