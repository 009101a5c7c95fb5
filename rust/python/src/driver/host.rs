//! Resolving an op's inputs: the scheduler's [`Host`] over Python values, from one op instance's
//! context.

use super::*;

pub(super) fn resolve_args<'py>(
    py: Python<'py>,
    eng: &PyEngine,
    core: &RunCore,
    op: OpId,
    ctx: CtxId,
) -> Result<Args<'py>, OpFailure> {
    let p = &eng.plan.ops[op as usize];
    let mut host = PyHost { py, eng, core, ctx };
    let mut args = Args::with_capacity(p.inputs.len());
    for input in &p.inputs {
        match resolve_input(&mut host, input) {
            Ok(Resolved::Value(v)) => args.push(v),
            Ok(Resolved::Missing) => {
                let suggestion = operonx::scheduler::suggest_key(&mut host, &eng.plan, input);
                return Err(OpFailure::Missing(input.name.clone(), suggestion));
            }
            Err(e) => return Err(OpFailure::Input(input.name.clone(), e)),
        }
    }
    Ok(args)
}

/// Reads values and applies transforms for the scheduler, from one op instance's context.
pub(crate) struct PyHost<'a, 'py> {
    pub py: Python<'py>,
    pub eng: &'a PyEngine,
    pub core: &'a RunCore,
    pub ctx: CtxId,
}

impl<'py> PyHost<'_, 'py> {
    /// The outputs of `op` visible from this instance's context.
    pub(super) fn outputs_of(&self, op: OpId) -> Option<&Py<PyAny>> {
        let depth = self.eng.plan.ops[op as usize].value_depth();
        let ctx = if self.ctx == ROOT { ROOT } else { self.core.state.contexts().ancestor(self.ctx, depth)? };
        self.core.values.get(op, ctx)
    }

    /// A collected read: every item of a generator, or the one value of a per-item op.
    pub(super) fn collected(&self, op: OpId, var: VarId) -> PyResult<Option<Bound<'py, PyAny>>> {
        let py = self.py;
        let key = self.eng.var_keys[var as usize].bind(py);
        let contexts = self.core.state.contexts();
        let p = &self.eng.plan.ops[op as usize];
        let list = PyList::empty(py);
        if p.is_gen() {
            let Some(gctx) = contexts.ancestor(self.ctx, p.depth) else {
                return Ok(None);
            };
            for item in self.core.values.collected(op, gctx) {
                list.append(lookup(item.bind(py), key)?.unwrap_or_else(|| py.None().into_bound(py)))?;
            }
        } else if let Some(out) = self.outputs_of(op) {
            list.append(lookup(out.bind(py), key)?.unwrap_or_else(|| py.None().into_bound(py)))?;
        }
        Ok(Some(list.into_any()))
    }
}

impl<'py> Host for PyHost<'_, 'py> {
    type Value = Bound<'py, PyAny>;
    type Error = PyErr;

    #[inline]
    fn read(&mut self, source: RefSource, var: VarId, collect: bool) -> PyResult<Option<Bound<'py, PyAny>>> {
        let key = self.eng.var_keys[var as usize].bind(self.py);
        match source {
            RefSource::Parent => lookup(self.core.inputs.bind(self.py), key),
            RefSource::Op(op) if collect => self.collected(op, var),
            RefSource::Op(op) => match self.outputs_of(op) {
                Some(record) => lookup(record.bind(self.py), key),
                None => Ok(None),
            },
        }
    }

    fn keys(&mut self, source: RefSource) -> Vec<String> {
        let record = match source {
            RefSource::Parent => Some(self.core.inputs.bind(self.py).clone()),
            RefSource::Op(op) => self.outputs_of(op).map(|r| r.bind(self.py).clone()),
        };
        let keys = record.and_then(|r| r.call_method0(pyo3::intern!(self.py, "keys")).ok());
        let Some(Ok(keys)) = keys.map(|k| k.try_iter()) else { return Vec::new() };
        keys.filter_map(|k| k.ok()?.extract::<String>().ok()).collect()
    }

    #[inline]
    fn constant(&mut self, c: operonx::plan::ConstId) -> Bound<'py, PyAny> {
        self.eng.consts[c as usize].bind(self.py).clone()
    }

    fn none(&mut self) -> Bound<'py, PyAny> {
        self.py.None().into_bound(self.py)
    }

    #[inline]
    fn is_none(&self, v: &Bound<'py, PyAny>) -> bool {
        v.is_none()
    }

    fn truthy(&self, v: &Bound<'py, PyAny>) -> PyResult<bool> {
        v.is_truthy()
    }

    fn transform(
        &mut self,
        t: &operonx::plan::TransformPlan,
        value: Bound<'py, PyAny>,
        args: Vec<Bound<'py, PyAny>>,
        kwargs: Vec<(&str, Bound<'py, PyAny>)>,
    ) -> PyResult<Bound<'py, PyAny>> {
        apply_transform(self.py, t, value, args, kwargs)
    }
}
