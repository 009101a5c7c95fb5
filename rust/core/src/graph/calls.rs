//! The options of an op's calls as the document writes them: `cache`, `delay`, `retries`,
//! `backoff`, `retry_on` and `timeout` (keys of the op's object, each left out when off).

use serde_json::Value;

/// How an op's calls are made, beyond calling it once: all off by default.
#[doc = include_str!("../../doc/graph/calls/CallsDoc.md")]
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallsDoc {
    /// `"cache": true`: outputs are cached process-wide by the op's full name and inputs.
    pub cache: bool,
    /// `"delay"`: seconds slept before each execution.
    pub delay: f64,
    /// `"retries"`: attempts made after a failed first one.
    pub retries: u32,
    /// `"backoff"`: seconds waited before the first retry (doubled for each later one); `None`: the
    /// default, [`DEFAULT_BACKOFF`].
    pub backoff: Option<f64>,
    /// `"retry_on"`: the error types retried (host objects, `{"$host": i}`); empty: every error.
    pub retry_on: Vec<Value>,
    /// `"timeout"`: seconds an attempt may take.
    pub timeout: Option<f64>,
}

/// The wait before the first retry when the document gives no `backoff`, in seconds.
#[doc = include_str!("../../doc/graph/calls/DEFAULT_BACKOFF.md")]
pub const DEFAULT_BACKOFF: f64 = 0.1;

impl CallsDoc {
    /// True when every option is off: the op is called once, as it is.
    #[doc = include_str!("../../doc/graph/calls/CallsDoc.is_off.md")]
    pub fn is_off(&self) -> bool {
        *self == CallsDoc::default()
    }

    /// Reads the options from their written values (each `None` when the key is absent); `label`
    /// names the op in a message.
    pub(super) fn read(label: &dyn Fn() -> String, written: Written) -> Result<CallsDoc, String> {
        let bad = |key: &str, v: &Value, want: &str| format!("{} has \"{key}\": {v}; {want}", label());
        let cache = match written.cache {
            None | Some(Value::Null | Value::Bool(false)) => false,
            Some(Value::Bool(true)) => true,
            Some(v @ Value::String(_)) => {
                return Err(bad("cache", &v, "a file-backed cache (a path) is not supported; use true"))
            }
            Some(v) => return Err(bad("cache", &v, "use true or false")),
        };
        let seconds = |key: &str, v: Option<Value>| -> Result<Option<f64>, String> {
            match v {
                None | Some(Value::Null) => Ok(None),
                Some(v) => match v.as_f64() {
                    Some(s) if s.is_finite() && s >= 0.0 => Ok(Some(s)),
                    _ => Err(bad(key, &v, "give a number of seconds >= 0")),
                },
            }
        };
        let delay = seconds("delay", written.delay)?.unwrap_or(0.0);
        let backoff = seconds("backoff", written.backoff)?;
        let timeout = match seconds("timeout", written.timeout.clone())? {
            Some(t) if t <= 0.0 => {
                return Err(bad("timeout", &written.timeout.unwrap_or_default(), "give a number of seconds > 0"))
            }
            t => t,
        };
        let retries = match written.retries {
            None | Some(Value::Null) => 0,
            Some(v) => match v.as_u64().and_then(|n| u32::try_from(n).ok()) {
                Some(n) => n,
                None => return Err(bad("retries", &v, "give a whole number >= 0")),
            },
        };
        let retry_on = match written.retry_on {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(types)) => types,
            Some(v) => return Err(bad("retry_on", &v, "give a list of error types")),
        };
        if retries == 0 && (!retry_on.is_empty() || backoff.is_some()) {
            return Err(format!("{} has \"retry_on\" or \"backoff\" but no \"retries\": give retries >= 1", label()));
        }
        Ok(CallsDoc { cache, delay, retries, backoff, retry_on, timeout })
    }
}

/// The options as written, before they are checked.
#[derive(Default)]
pub(super) struct Written {
    pub(super) cache: Option<Value>,
    pub(super) delay: Option<Value>,
    pub(super) retries: Option<Value>,
    pub(super) backoff: Option<Value>,
    pub(super) retry_on: Option<Value>,
    pub(super) timeout: Option<Value>,
}
