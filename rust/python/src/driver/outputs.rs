//! What ops produce: built-in ops (branches, nested graphs' entries and ends), checking and
//! forwarding outputs, emitting frames, and the result dict.

use super::*;

/// Adds the outputs `forward` passes on from `out` to `data`, under their graph-output names.
pub(crate) fn forward_into(
    py: Python<'_>,
    eng: &PyEngine,
    forward: &Forward,
    out: &Bound<'_, PyAny>,
    data: &Bound<'_, PyDict>,
) -> PyResult<()> {
    match forward {
        Forward::Nothing => {}
        Forward::All => {
            let items = match out.cast::<PyDict>() {
                Ok(d) => d.items(),
                Err(_) => py
                    .get_type::<PyList>()
                    .call1((out.call_method0(pyo3::intern!(py, "items"))?,))?
                    .cast_into::<PyList>()?,
            };
            for item in items.iter() {
                let (k, v): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item.extract()?;
                if k.cast::<PyString>().is_ok_and(|s| s.to_str().is_ok_and(|s| s.starts_with('$'))) {
                    continue;
                }
                data.set_item(k, v)?;
            }
        }
        Forward::Mapped(pairs) => {
            for &(from, to) in pairs {
                if let Some(v) = lookup(out, eng.var_keys[from as usize].bind(py))? {
                    data.set_item(eng.var_keys[to as usize].bind(py), v)?;
                }
            }
        }
    }
    Ok(())
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

impl RunCore {
    /// Runs a built-in op: a nested graph's entry or end, or a branch.
    pub(super) fn builtin(
        &mut self,
        py: Python<'_>,
        eng: &PyEngine,
        op: OpId,
        ctx: CtxId,
        args: &Args<'_>,
    ) -> PyResult<()> {
        let plan = &eng.plan;
        let p = &plan.ops[op as usize];
        let record = PyDict::new(py);
        for (name, value) in eng.kwnames[op as usize].bind(py).iter().zip(args.iter()) {
            record.set_item(name, value)?;
        }
        if p.kind == OpKind::LoopEnter {
            let vars = if plan.root_loop && op == 0 {
                // Every run input is a variable of a root loop; given ones override initial values.
                let vars = PyDict::new(py);
                vars.call_method1(pyo3::intern!(py, "update"), (self.inputs.bind(py),))?;
                vars.update(record.as_mapping())?;
                vars
            } else {
                record
            };
            self.start_iteration(py, eng, op, ctx, 0, vars.into_any().unbind());
            return Ok(());
        }
        match &p.builtin {
            Builtin::Exit(sources) => {
                // What the inner ops forwarded, in the order it arrived: a later forward of a key wins.
                let depth = p.depth;
                let src_ctx =
                    if ctx == ROOT { ROOT } else { self.state.contexts().ancestor(ctx, depth).unwrap_or(ctx) };
                let mut arrived: SmallVec<[(u64, usize); 8]> = sources
                    .iter()
                    .enumerate()
                    .filter(|(_, (src, _))| self.values.get(*src, src_ctx).is_some())
                    .map(|(i, (src, _))| (self.values.arrival(*src, src_ctx), i))
                    .collect();
                arrived.sort_unstable();
                for (_, i) in arrived {
                    let (src, forward) = &sources[i];
                    if let Some(out) = self.values.get(*src, src_ctx) {
                        forward_into(py, eng, forward, out.bind(py), &record)?;
                    }
                }
            }
            Builtin::Branch { cases, default, .. } => {
                // The conditions read the branch's inputs from its own record.
                self.values.put(py, op, ctx, record.clone().into_any().unbind());
                let (chosen, matched) = {
                    let mut host = PyHost { py, eng, core: self, ctx };
                    choose_branch(&mut host, cases, *default)
                };
                let target = chosen.map(|t| eng.op_names[t as usize].bind(py).clone().into_any());
                record.set_item(pyo3::intern!(py, "target"), target)?;
                record.set_item(pyo3::intern!(py, "matched"), matched)?;
                let out = self.record(py, eng, op, ctx, record.into_any()).map_err(|f| match f {
                    OpFailure::Raised(e) | OpFailure::Input(_, e) | OpFailure::Until(_, Some(e)) => e,
                    OpFailure::BadReturn(m) | OpFailure::Missing(m, _) | OpFailure::Until(m, None) => {
                        pyo3::exceptions::PyRuntimeError::new_err(m)
                    }
                })?;
                self.values.put(py, op, ctx, out);
                if eng.feeds_exit[op as usize] {
                    self.values.stamp(op, ctx);
                }
                self.state.finish_branch(plan, op, ctx, chosen);
                self.free_contexts();
                return Ok(());
            }
            _ => {}
        }
        self.complete(py, eng, op, ctx, Ok(record.into_any()));
        Ok(())
    }

    /// Checks an op's outputs, keeps its tags and emits its frame. Returns the outputs to store.
    pub(crate) fn record(
        &mut self,
        py: Python<'_>,
        eng: &PyEngine,
        op: OpId,
        ctx: CtxId,
        out: Bound<'_, PyAny>,
    ) -> Result<Py<PyAny>, OpFailure> {
        let out = if out.is_none() {
            PyDict::new(py).into_any()
        } else if out.cast::<PyDict>().is_ok() || out.hasattr(pyo3::intern!(py, "keys")).unwrap_or(false) {
            out
        } else {
            let ty = out.get_type().name().map(|n| n.to_string()).unwrap_or_default();
            let what = if eng.plan.ops[op as usize].is_gen() { "yielded" } else { "returned" };
            return Err(OpFailure::BadReturn(format!(
                "it {what} a {ty}; an op must {} a mapping (e.g. a dict) of its outputs",
                if what == "yielded" { "yield" } else { "return" }
            )));
        };
        let wrap = OpFailure::Raised;
        if let Some(tags) = lookup(&out, pyo3::intern!(py, "$tags")).map_err(wrap)? {
            for tag in tags.try_iter().map_err(wrap)? {
                let tag = tag.map_err(wrap)?;
                if !self.tags.iter().any(|t| t.bind(py).eq(&tag).unwrap_or(false)) {
                    self.tags.push(tag.unbind());
                }
            }
        }
        let forward = &eng.plan.ops[op as usize].forward;
        let data = if forward.emits() {
            let data = PyDict::new(py);
            forward_into(py, eng, forward, &out, &data).map_err(wrap)?;
            Some(data)
        } else {
            None
        };
        if let Some(data) = data {
            self.emit(py, eng, op, ctx, data).map_err(wrap)?;
        }
        self.forward_to_loop(py, eng, op, ctx, &out).map_err(wrap)?;
        Ok(out.unbind())
    }

    /// Adds a frame and hands it to whoever waits for it.
    pub(crate) fn emit(
        &mut self,
        py: Python<'_>,
        eng: &PyEngine,
        op: OpId,
        ctx: CtxId,
        data: Bound<'_, PyDict>,
    ) -> PyResult<()> {
        if !self.frames.value_waiters.is_empty() {
            let name = &eng.plan.ops[op as usize].name;
            let mut i = 0;
            while i < self.frames.value_waiters.len() {
                let w = &self.frames.value_waiters[i];
                if &w.op == name {
                    if let Some(v) = data.get_item(w.var.bind(py))? {
                        let w = self.frames.value_waiters.swap_remove(i);
                        resolve(py, w.future.bind(py), v)?;
                        continue;
                    }
                }
                i += 1;
            }
        }
        let path = self.state.contexts().path(ctx);
        self.frames.push(Frame { op, path, data: data.unbind(), superseded: false });
        if !self.frames.next_waiters.is_empty() {
            self.frames.wake_next(py)?;
        }
        Ok(())
    }

    /// Wakes consumers of a run that is over.
    pub(crate) fn wake_consumers(&mut self, py: Python<'_>) -> PyResult<()> {
        // Woken consumers find the run over: they take the frames left, then the end or the error.
        self.frames.wake_next(py)?;
        for w in self.frames.value_waiters.drain(..) {
            resolve(py, w.future.bind(py), py.None().into_bound(py))?;
        }
        for w in self.done_waiters.drain(..) {
            resolve(py, w.bind(py), py.None().into_bound(py))?;
        }
        if let Some(w) = self.resume_waiter.take() {
            resolve(py, w.bind(py), py.None().into_bound(py))?;
        }
        Ok(())
    }

    /// The result dict: frames grouped by key, `"$state"`, and `"$errors"` with `errors="continue"`.
    pub(super) fn result<'py>(&self, py: Python<'py>, run: &Bound<'py, Run>) -> PyResult<Bound<'py, PyDict>> {
        let result = PyDict::new(py);
        let mut lists: SmallVec<[Bound<'py, PyAny>; 4]> = SmallVec::new();
        for frame in self.frames.all().filter(|f| !f.superseded) {
            for (k, v) in frame.data.bind(py).iter() {
                match result.get_item(&k)? {
                    None => result.set_item(k, v)?,
                    Some(existing) => {
                        if lists.iter().any(|l| l.eq(&k).unwrap_or(false)) {
                            existing.cast::<PyList>()?.append(v)?;
                        } else {
                            result.set_item(&k, PyList::new(py, [existing, v])?)?;
                            lists.push(k);
                        }
                    }
                }
            }
        }
        result.set_item(pyo3::intern!(py, "$state"), RunStateView { run: run.clone().unbind() })?;
        if self.mode == ErrorMode::Continue {
            result.set_item(pyo3::intern!(py, "$errors"), PyList::new(py, self.errors.iter().map(|e| e.bind(py)))?)?;
        }
        Ok(result)
    }
}
