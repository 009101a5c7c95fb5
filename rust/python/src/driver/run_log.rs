//! What a run logs at DEBUG through the `operonx` logger (when [`crate::log::DebugCheck`] says so
//! at its creation): its creation, its end (finished, failed, cancelled, with its duration), each op
//! instance skipped and each op failure it lists.

use std::time::Instant;

use operonx::plan::OpKind;
use operonx::run::Phase;
use operonx::scheduler::contexts::render;
use pyo3::prelude::*;

use operonx::run::Run;

use super::RunCore;
use crate::log::debug;
use crate::runtime::PyModel;

/// A context as Python shows a tuple of strings: `('main',)`, `('main', '[0]')`.
fn tuple_text(parts: &[String]) -> String {
    let items: Vec<String> = parts.iter().map(|p| format!("'{p}'")).collect();
    match items.len() {
        1 => format!("({},)", items[0]),
        _ => format!("({})", items.join(", ")),
    }
}

/// What a run that logs keeps: when it started.
pub(crate) struct RunLog {
    started: Instant,
}

impl RunLog {
    /// Starts logging a run (its skips are recorded from now on).
    #[cold]
    #[inline(never)]
    pub(crate) fn begin(py: Python<'_>, run: &mut Run<PyModel>, request_id: Option<&Bound<'_, PyAny>>) -> Box<RunLog> {
        run.state_mut().log_skips();
        let id = request_id.map(|i| i.to_string());
        let name = &run.plan().name;
        debug(py, format!("run of graph '{name}' created (request_id {})", id.as_deref().unwrap_or("not set")));
        Box::new(RunLog { started: Instant::now() })
    }

    /// Logs the op instances skipped since the last call.
    pub(crate) fn skips(py: Python<'_>, core: &mut RunCore) {
        for (op, path) in core.run_mut().state_mut().take_skips() {
            let p = &core.run().plan().ops[op as usize];
            if matches!(p.kind, OpKind::GraphExit | OpKind::LoopExit) {
                continue; // a nested graph's end op has its graph's name: logged once, as the graph
            }
            debug(py, format!("op '{}' skipped (context {})", p.full_name, tuple_text(&render(&path))));
        }
    }

    /// Logs the end of the run: its skips, the op failures it lists, how it ended.
    #[cold]
    #[inline(never)]
    pub(crate) fn end(self, py: Python<'_>, core: &mut RunCore) {
        Self::skips(py, core);
        let run = core.run();
        for e in run.errors() {
            debug(py, format!("op failed: {}", e.value(py)));
        }
        let (name, ms) = (&run.plan().name, self.started.elapsed().as_secs_f64() * 1e3);
        let how = match (run.phase(), run.failure()) {
            (Phase::Failed, Some(e)) => format!("failed: {}", e.value(py)),
            (Phase::Cancelled, _) => "was cancelled".to_string(),
            _ => "finished".to_string(),
        };
        debug(py, format!("run of graph '{name}' {how} after {ms:.3} ms"));
    }
}
