//! [`EngineOptions`]: the builder's settings for the resource hub and the environment
//! ([`crate::OperonBuilder::resources`], [`crate::OperonBuilder::resource_hub`],
//! [`crate::OperonBuilder::load_dotenv`], [`crate::OperonBuilder::no_resources`],
//! [`crate::OperonBuilder::install_global_hub`]).
//!
//! `build()` applies them in this order: `load_dotenv(true)` loads `./.env` into the process
//! environment (variables already set win); then the engine's hub is the one given to
//! `resource_hub(..)`, else the `resources(path)` file's (which must exist; `${VAR}` read from the
//! environment, so also from that `.env`), else an empty hub with `no_resources()`, else the
//! process-wide hub when one is installed, else an empty hub. With `install_global_hub(true)` (the
//! default) a hub given or loaded from a file becomes the process-wide hub when none is installed
//! yet (an engine never replaces one). A provider op (`"type": "llm"` with `"resource": ...`) is
//! refused by `build()`, naming the op and its resource: this engine has no provider ops yet.

use std::path::{Path, PathBuf};
#[cfg(feature = "resources")]
use std::sync::Arc;

use crate::error::{OperonError, Result};
#[cfg(feature = "resources")]
use crate::resources::{self, ResourceHub};

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
#[derive(Debug, Clone)]
pub struct EngineOptions {
    resources: Option<PathBuf>,
    load_dotenv: bool,
    no_resources: bool,
    install_global_hub: bool,
    dotenv_loaded: Option<PathBuf>,
    #[cfg(feature = "resources")]
    hub: Option<Arc<ResourceHub>>,
}

impl PartialEq for EngineOptions {
    /// Equal settings; hubs given with `resource_hub(..)` are equal when they are the same hub.
    fn eq(&self, other: &Self) -> bool {
        #[cfg(feature = "resources")]
        let same_hub = match (&self.hub, &other.hub) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (a, b) => a.is_none() && b.is_none(),
        };
        #[cfg(not(feature = "resources"))]
        let same_hub = true;
        same_hub
            && self.resources == other.resources
            && self.load_dotenv == other.load_dotenv
            && self.no_resources == other.no_resources
            && self.install_global_hub == other.install_global_hub
            && self.dotenv_loaded == other.dotenv_loaded
    }
}

impl Eq for EngineOptions {}

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
            #[cfg(feature = "resources")]
            hub: None,
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

    /// Sets the hub the engine uses.
    #[cfg(feature = "resources")]
    pub(crate) fn set_hub(&mut self, hub: Arc<ResourceHub>) {
        self.hub = Some(hub);
    }

    /// Sets whether the hub is installed as the process's hub.
    pub(crate) fn set_install_global_hub(&mut self, enable: bool) {
        self.install_global_hub = enable;
    }

    /// What `build()` does with the settings (see the [module documentation](self)); returns the
    /// engine's hub. A `resources(path)` that does not exist is an [`OperonError::Config`] error
    /// naming it, one that does not parse an [`OperonError::ResourceFile`] naming it and the line;
    /// `resources(path)` or `resource_hub(..)` with `no_resources()`, or both together, are an
    /// [`OperonError::Usage`] error; a `.env` that cannot be read is an [`OperonError::Config`]
    /// error naming it.
    #[cfg(feature = "resources")]
    pub(crate) fn apply(&mut self) -> Result<Arc<ResourceHub>> {
        self.check_resources_path()?;
        let given = usize::from(self.hub.is_some()) + usize::from(self.resources.is_some()) + usize::from(self.no_resources);
        if given > 1 {
            return Err(OperonError::Usage(
                "the builder was given more than one of .resources(path), .resource_hub(..) and .no_resources(): \
                 keep one"
                    .into(),
            ));
        }
        self.apply_dotenv()?;
        let (hub, own) = if let Some(hub) = &self.hub {
            (hub.clone(), true)
        } else if let Some(path) = &self.resources {
            // with load_dotenv(true) the .env values are in the environment already; naming the file
            // lets an unset variable's error say where it was looked for
            let hub = ResourceHub::load(path, self.dotenv_loaded.as_ref())?;
            hub.log_warnings();
            (Arc::new(hub), true)
        } else if self.no_resources {
            (Arc::new(ResourceHub::empty()), false)
        } else {
            (resources::installed().unwrap_or_default(), false)
        };
        if own && self.install_global_hub {
            resources::install_if_none(hub.clone());
        }
        Ok(hub)
    }

    /// What `build()` does with the settings: a `resources(path)` is refused, this build having no
    /// resource hub (feature `resources`); `.env` is loaded as with the feature.
    #[cfg(not(feature = "resources"))]
    pub(crate) fn apply(&mut self) -> Result<()> {
        self.check_resources_path()?;
        if self.resources.is_some() {
            return Err(OperonError::Config(
                "this build of operonx has no resource hub (cargo feature \"resources\"): remove `.resources(...)`".into(),
            ));
        }
        self.apply_dotenv()
    }

    fn check_resources_path(&self) -> Result<()> {
        if let Some(path) = &self.resources {
            if !path.is_file() {
                return Err(OperonError::Config(format!(
                    "resources.yaml not found at: {}\n  Create the file or omit `.resources(...)`",
                    path.display()
                )));
            }
        }
        Ok(())
    }

    /// With `load_dotenv(true)`, loads `./.env` of the current directory when present, keeping
    /// the variables the environment already has (the environment wins, as dotenvy and
    /// `bootstrap` do).
    fn apply_dotenv(&mut self) -> Result<()> {
        if self.load_dotenv {
            let cwd = std::env::current_dir()
                .map_err(|e| OperonError::Config(format!("load_dotenv: the current directory cannot be read: {e}")))?;
            let path = cwd.join(".env");
            if path.is_file() {
                dotenvy::from_path(&path).map_err(|e| {
                    OperonError::Config(format!("load_dotenv: {} cannot be loaded: {e}", path.display()))
                })?;
                self.dotenv_loaded = Some(path);
            }
        }
        Ok(())
    }
}
