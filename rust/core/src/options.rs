//! [`EngineOptions`]: the builder's settings for the resource hub and the environment
//! ([`crate::OperonBuilder::resources`], [`crate::OperonBuilder::load_dotenv`],
//! [`crate::OperonBuilder::no_resources`], [`crate::OperonBuilder::install_global_hub`]).
//!
//! The resource hub (`resources.yaml`, provider ops) is not part of this engine yet: the settings
//! are recorded and readable through [`crate::Operon::options`]; `build()` checks that a
//! `resources(path)` file exists (as the published crate does) and loads `.env` when asked; an op
//! that uses a resource (a provider op such as `"type": "llm"` with `"resource": "gpt"`) is
//! refused by `build()`, naming the op and its resource.

use std::path::{Path, PathBuf};

use crate::error::{OperonError, Result};

/// How an engine was set up for resources and the environment.
///
/// ```
/// use operonx::{Operon, OperonError};
/// use serde_json::{json, Map, Value};
///
/// let doc = json!({"schema_version": "1.0", "type": "graph", "name": "g",
///     "ops": {"f": {"type": "code"}}, "edges": [], "entries": ["f"], "exits": ["f"]});
/// let engine = Operon::builder(&doc.to_string())
///     .op("f", |_: Map<String, Value>| Ok(json!({})))
///     .install_global_hub(false)
///     .no_resources()
///     .build()?;
/// assert!(!engine.options().install_global_hub());
/// assert!(engine.options().no_resources());
/// assert_eq!(engine.options().resources_path(), None);
/// # Ok::<(), OperonError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineOptions {
    resources: Option<PathBuf>,
    load_dotenv: bool,
    no_resources: bool,
    install_global_hub: bool,
    dotenv_loaded: Option<PathBuf>,
}

impl Default for EngineOptions {
    /// The published crate's defaults: no `resources.yaml` required, `.env` not loaded, the hub
    /// installed as the process's hub.
    fn default() -> Self {
        EngineOptions {
            resources: None,
            load_dotenv: false,
            no_resources: false,
            install_global_hub: true,
            dotenv_loaded: None,
        }
    }
}

impl EngineOptions {
    /// The `resources.yaml` given to [`crate::OperonBuilder::resources`].
    #[doc = include_str!("../doc/options/EngineOptions.resources_path.md")]
    pub fn resources_path(&self) -> Option<&Path> {
        self.resources.as_deref()
    }

    /// True when `build()` loads `./.env` ([`crate::OperonBuilder::load_dotenv`]).
    #[doc = include_str!("../doc/options/EngineOptions.load_dotenv.md")]
    pub fn load_dotenv(&self) -> bool {
        self.load_dotenv
    }

    /// True when [`crate::OperonBuilder::no_resources`] was called.
    #[doc = include_str!("../doc/options/EngineOptions.no_resources.md")]
    pub fn no_resources(&self) -> bool {
        self.no_resources
    }

    /// True when the engine's hub is to be installed as the process's hub
    /// ([`crate::OperonBuilder::install_global_hub`]; true by default).
    #[doc = include_str!("../doc/options/EngineOptions.install_global_hub.md")]
    pub fn install_global_hub(&self) -> bool {
        self.install_global_hub
    }

    /// The `.env` file `build()` loaded, if it loaded one.
    #[doc = include_str!("../doc/options/EngineOptions.dotenv_loaded.md")]
    pub fn dotenv_loaded(&self) -> Option<&Path> {
        self.dotenv_loaded.as_deref()
    }

    /// Sets the `resources.yaml` path.
    pub(crate) fn set_resources(&mut self, path: PathBuf) {
        self.resources = Some(path);
    }

    /// Sets whether `build()` loads `./.env`.
    pub(crate) fn set_load_dotenv(&mut self, enable: bool) {
        self.load_dotenv = enable;
    }

    /// Records that the engine uses no resources.
    pub(crate) fn set_no_resources(&mut self) {
        self.no_resources = true;
    }

    /// Sets whether the hub is installed as the process's hub.
    pub(crate) fn set_install_global_hub(&mut self, enable: bool) {
        self.install_global_hub = enable;
    }

    /// What `build()` does with the settings: a `resources(path)` that does not exist is a
    /// [`OperonError::Config`] error naming it; with `load_dotenv(true)`, `./.env` (of the current
    /// directory) is loaded when present, its values overriding the environment's (as the
    /// published builder does), and a file that cannot be read is a [`OperonError::Config`]
    /// error naming it.
    pub(crate) fn apply(&mut self) -> Result<()> {
        if let Some(path) = &self.resources {
            if !path.is_file() {
                return Err(OperonError::Config(format!(
                    "resources.yaml not found at: {}\n  Create the file or omit `.resources(...)`",
                    path.display()
                )));
            }
        }
        if self.load_dotenv {
            let cwd = std::env::current_dir()
                .map_err(|e| OperonError::Config(format!("load_dotenv: the current directory cannot be read: {e}")))?;
            let path = cwd.join(".env");
            if path.is_file() {
                dotenvy::from_path_override(&path).map_err(|e| {
                    OperonError::Config(format!("load_dotenv: {} cannot be loaded: {e}", path.display()))
                })?;
                self.dotenv_loaded = Some(path);
            }
        }
        Ok(())
    }
}
