//! [`LocalTracer`]: each run's trace as a JSON file.

use std::fs;
use std::path::{Path, PathBuf};

use super::models::TraceData;
use super::Tracer;
use crate::error::OperonError;

/// Writes each run's trace to `<dir>/<request_id>.json` (written to a temporary file first, then
/// renamed, so a reader never sees half a trace). The directory is made when missing. As in the
/// published crate, it keeps every item of every stream.
///
/// ```
/// use std::sync::Arc;
/// use operonx::core::tracing::LocalTracer;
///
/// let dir = std::env::temp_dir().join("operonx-doc-traces");
/// let tracer = Arc::new(LocalTracer::new(Some(dir), vec!["doc".into()]));
/// # let _ = tracer;
/// ```
#[derive(Debug, Clone)]
pub struct LocalTracer {
    path: PathBuf,
    tags: Vec<String>,
}

impl LocalTracer {
    /// A tracer writing into `path`; `None` is `$OPERON_TRACES_DIR`, else `~/.operonx/traces`.
    #[doc = include_str!("../../doc/trace/local/LocalTracer.new.md")]
    pub fn new(path: Option<PathBuf>, tags: Vec<String>) -> Self {
        LocalTracer { path: path.unwrap_or_else(default_dir), tags }
    }

    /// The directory it writes into.
    #[doc = include_str!("../../doc/trace/local/LocalTracer.path.md")]
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// `$OPERON_TRACES_DIR`, else `~/.operonx/traces` (`$HOME`, or `%USERPROFILE%`), else
/// `.operonx/traces`.
fn default_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("OPERON_TRACES_DIR") {
        return PathBuf::from(dir);
    }
    let home = ["HOME", "USERPROFILE"].iter().filter_map(std::env::var_os).find(|h| !h.is_empty());
    match home {
        Some(home) => PathBuf::from(home).join(".operonx").join("traces"),
        None => PathBuf::from(".operonx").join("traces"),
    }
}

impl Tracer for LocalTracer {
    fn name(&self) -> &str {
        "local"
    }

    fn tags(&self) -> &[String] {
        &self.tags
    }

    fn stream_trace_limit(&self) -> Option<usize> {
        None
    }

    fn flush(&self, trace: &TraceData) -> Result<(), OperonError> {
        let failed = |what: &str, path: &Path, e: &dyn std::fmt::Display| {
            OperonError::Runtime(format!("LocalTracer: could not {what} {}: {e}", path.display()))
        };
        fs::create_dir_all(&self.path).map_err(|e| failed("create", &self.path, &e))?;
        let file = self.path.join(format!("{}.json", file_stem(&trace.request_id)));
        let tmp = file.with_extension("json.tmp");
        let body = serde_json::to_vec_pretty(trace).map_err(|e| failed("serialize the trace for", &file, &e))?;
        fs::write(&tmp, body).map_err(|e| failed("write", &tmp, &e))?;
        fs::rename(&tmp, &file).map_err(|e| failed("rename the trace to", &file, &e))
    }
}

/// A request id made safe as a file name (path separators and the like replaced by `_`): the stem
/// of its trace file, for every writer of trace files.
///
/// ```
/// assert_eq!(operonx::trace::file_stem("a/b c"), "a_b_c");
/// assert_eq!(operonx::trace::file_stem(".hidden"), "_.hidden");
/// ```
pub fn file_stem(request_id: &str) -> String {
    let plain = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.');
    if !request_id.is_empty() && !request_id.starts_with('.') && request_id.bytes().all(plain) {
        return request_id.to_owned();
    }
    let stem: String =
        request_id.chars().map(|c| if c.is_alphanumeric() || "-_.".contains(c) { c } else { '_' }).collect();
    if stem.is_empty() || stem.starts_with('.') {
        format!("_{stem}")
    } else {
        stem
    }
}
