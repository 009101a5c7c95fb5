//! The resource hub (feature `resources`, on by default): named provider configurations read from
//! `resources.yaml`, with `${VAR}` taken from the environment and a `.env` file.
//!
//! ```
//! use operonx::resources::ResourceHub;
//!
//! let dir = std::env::temp_dir().join(format!("operonx-doc-resources-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! std::fs::write(dir.join("resources.yaml"), "llm:\n  gpt:\n    model: gpt-4o\n    api_key: ${DOC_HUB_KEY}\n    url: ${DOC_HUB_URL:-https://api.example.org}\n")?;
//! std::fs::write(dir.join(".env"), "DOC_HUB_KEY=sk-from-dotenv\n")?;
//!
//! let hub = ResourceHub::load(dir.join("resources.yaml"), Some(dir.join(".env")))?;
//! let gpt = hub.get("llm:gpt")?;
//! assert_eq!(gpt["api_key"], "sk-from-dotenv");
//! assert_eq!(gpt["url"], "https://api.example.org");
//! assert!(hub.warnings().is_empty());
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! **Where a variable comes from.** The process environment first, then the `.env` file given to
//! [`ResourceHub::load`]: a variable set in the environment wins over the file, as dotenvy does.
//! See [`interpolation`](self#interpolation) for the syntax.
//!
//! **An unset variable.** A `${VAR}` with no default whose variable is set nowhere does not fail the
//! load: it is returned by [`ResourceHub::warnings`] (an [`UnsetVariable`] naming the variable,
//! the key that reads it and the file; the engine builder and [`bootstrap`] also log it), and
//! [`ResourceHub::get`] of that resource fails with [`OperonError::EnvVarUnset`] naming the same.
//! Other resources of the file work.
//!
//! **Malformed files** fail the load with [`OperonError::ResourceFile`] naming the file and, where
//! the parser says, the line.
//!
//! **How an op reaches the hub.** An op written in Rust takes its inputs only, so it reaches a
//! resource either through the process-wide hub ([`get`], installed by [`bootstrap`], by
//! [`install`], or by an engine built with [`crate::OperonBuilder::resources`] when no hub is
//! installed yet), or through an `Arc<ResourceHub>` its closure captures (the same hub can be
//! given to the engine with [`crate::OperonBuilder::resource_hub`]).
//!
//! # Interpolation
//!
//! `${VAR}` (required), `${VAR:-default}` (when unset or empty), `${VAR:default}` (when unset, the
//! published 0.7.1 form), `$${` for a literal `${`; in string values only.

mod files;
mod interpolate;

use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

use serde_json::{Map, Value};

use crate::error::{OperonError, Result};

/// A `${VAR}` (with no default) whose variable was set nowhere when the hub was loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsetVariable {
    /// The variable.
    pub variable: String,
    /// The key that reads it: the resource and the path of the setting (`llm:gpt.api_key`).
    pub key: String,
    /// The resource that reads it (`llm:gpt`), which fails when it is used.
    pub resource: String,
    /// The `resources.yaml` it is written in.
    pub file: PathBuf,
}

impl std::fmt::Display for UnsetVariable {
    /// `${VAR} is not set (read by llm:gpt.api_key in /path/resources.yaml)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "${{{}}} is not set (read by {} in {})", self.variable, self.key, self.file.display())
    }
}

/// One named resource: its settings (interpolated) and the variables it lacks.
#[derive(Debug, Clone)]
struct Entry {
    name: String,
    settings: Map<String, Value>,
    unset: Vec<UnsetVariable>,
}

/// Named provider configurations (see the [module documentation](self)).
#[derive(Debug, Clone, Default)]
pub struct ResourceHub {
    source: Option<PathBuf>,
    env_file: Option<PathBuf>,
    entries: Vec<Entry>,
}

impl ResourceHub {
    /// A hub with no resources (every [`get`](Self::get) fails naming the resource).
    pub fn empty() -> Self {
        ResourceHub::default()
    }

    /// The hub of a `resources.yaml`, with variables from the process environment only (the
    /// published crate's constructor).
    pub fn from_yaml(path: impl AsRef<Path>) -> Result<Self> {
        ResourceHub::load(path, None::<PathBuf>)
    }

    /// The hub of a `resources.yaml`, with variables from the process environment, then from
    /// `env_file` (read, never written into the process environment). A file that does not exist,
    /// cannot be read or does not parse is an [`OperonError::ResourceFile`] naming it.
    pub fn load(resources: impl AsRef<Path>, env_file: Option<impl AsRef<Path>>) -> Result<Self> {
        let source = absolute(resources.as_ref());
        let env_file = env_file.map(|p| absolute(p.as_ref()));
        for file in std::iter::once(&source).chain(env_file.as_ref()) {
            if !file.is_file() {
                return Err(OperonError::ResourceFile { file: file.clone(), line: None, message: "does not exist".into() });
            }
        }
        let dotenv = match &env_file {
            Some(file) => files::read_env_file(file)?,
            None => Vec::new(),
        };
        let lookup = |name: &str| {
            std::env::var(name).ok().or_else(|| dotenv.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
        };
        let mut entries = Vec::new();
        for (name, settings) in files::read_yaml(&source)? {
            let mut missing = Vec::new();
            let settings = interpolate::interpolate_map(&settings, &name, &lookup, &mut missing);
            let unset = missing
                .into_iter()
                .map(|m| UnsetVariable { variable: m.var, key: m.path, resource: name.clone(), file: source.clone() })
                .collect();
            entries.push(Entry { name, settings, unset });
        }
        Ok(ResourceHub { source: Some(source), env_file, entries })
    }

    /// The resource names, in file order (`category:name` for nested categories).
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|e| e.name.as_str())
    }

    /// The resource names, as the published crate lists them.
    pub fn keys(&self) -> Vec<String> {
        self.names().map(str::to_string).collect()
    }

    /// How many resources the hub has.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when the hub has no resources.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// True when the hub has a resource of this name (usable or not).
    pub fn has(&self, name: &str) -> bool {
        self.entries.iter().any(|e| e.name == name)
    }

    /// The settings of a resource. Fails with [`OperonError::ResourceHub`] naming the resource,
    /// the file and the names the hub has when there is none of that name, and with
    /// [`OperonError::EnvVarUnset`] naming the variable, the key and the file when the resource
    /// reads a variable that was unset when the hub was loaded.
    pub fn get(&self, name: &str) -> Result<&Map<String, Value>> {
        let Some(entry) = self.entries.iter().find(|e| e.name == name) else {
            return Err(OperonError::ResourceHub(self.not_found(name)));
        };
        match entry.unset.first() {
            None => Ok(&entry.settings),
            Some(u) => Err(OperonError::EnvVarUnset {
                var: u.variable.clone(),
                key: u.key.clone(),
                source_path: Some(u.file.clone()),
                env_paths: self.env_file.iter().cloned().collect(),
            }),
        }
    }

    /// An owned copy of [`get`](Self::get)'s settings (the published crate's name).
    pub fn get_config(&self, name: &str) -> Result<Map<String, Value>> {
        self.get(name).cloned()
    }

    /// Every `${VAR}` of the file whose variable was set nowhere, in file order.
    pub fn warnings(&self) -> Vec<UnsetVariable> {
        self.entries.iter().flat_map(|e| e.unset.iter().cloned()).collect()
    }

    /// The `resources.yaml` the hub was loaded from (absolute), if any.
    pub fn source_path(&self) -> Option<&Path> {
        self.source.as_deref()
    }

    /// The `.env` file whose variables the hub read, if any.
    pub fn env_file(&self) -> Option<&Path> {
        self.env_file.as_deref()
    }

    /// Logs each [`warnings`](Self::warnings) entry through `tracing` (target `operonx::resources`).
    pub fn log_warnings(&self) {
        for w in self.warnings() {
            tracing::warn!(target: "operonx::resources", "{w}; the resource fails when it is used");
        }
    }

    fn not_found(&self, name: &str) -> String {
        let source = self.source.as_ref().map_or_else(|| "an empty hub".to_string(), |p| p.display().to_string());
        if self.entries.is_empty() {
            return format!("resource '{name}' not found in {source} (it has no resources)");
        }
        let names: Vec<String> = self.names().map(|n| format!("'{n}'")).collect();
        format!("resource '{name}' not found in {source}; it has: {}", names.join(", "))
    }

    /// The process-wide hub (the published crate's name for [`installed`], as an error when none).
    pub fn instance() -> Result<Arc<ResourceHub>> {
        installed().ok_or_else(no_hub)
    }

    /// Installs `hub` as the process-wide hub (the published crate's name for [`install`]).
    pub fn set_instance(hub: Arc<ResourceHub>) {
        install(hub);
    }

    /// Removes the process-wide hub (the published crate's name for [`uninstall`]).
    pub fn reset_instance() {
        uninstall();
    }
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

static GLOBAL: RwLock<Option<Arc<ResourceHub>>> = RwLock::new(None);

fn no_hub() -> OperonError {
    OperonError::ResourceHub(
        "no resource hub is installed: call operonx::resources::bootstrap(..) (./.env and ./resources.yaml), \
         operonx::resources::install(..), or build an engine with .resources(path)"
            .into(),
    )
}

/// Installs `hub` as the process-wide hub, replacing (and returning) the one installed before.
pub fn install(hub: Arc<ResourceHub>) -> Option<Arc<ResourceHub>> {
    GLOBAL.write().unwrap_or_else(PoisonError::into_inner).replace(hub)
}

/// Installs `hub` unless a hub is installed already; true when it was installed.
pub fn install_if_none(hub: Arc<ResourceHub>) -> bool {
    let mut global = GLOBAL.write().unwrap_or_else(PoisonError::into_inner);
    if global.is_some() {
        return false;
    }
    *global = Some(hub);
    true
}

/// The process-wide hub, if one is installed.
pub fn installed() -> Option<Arc<ResourceHub>> {
    GLOBAL.read().unwrap_or_else(PoisonError::into_inner).clone()
}

/// Removes the process-wide hub and returns it.
pub fn uninstall() -> Option<Arc<ResourceHub>> {
    GLOBAL.write().unwrap_or_else(PoisonError::into_inner).take()
}

/// The settings of a resource of the process-wide hub ([`ResourceHub::get`]); fails with
/// [`OperonError::ResourceHub`] when no hub is installed.
pub fn get(name: &str) -> Result<Map<String, Value>> {
    installed().ok_or_else(no_hub)?.get_config(name)
}

/// What [`bootstrap`] reads (the published crate's options): by default `./.env` and
/// `./resources.yaml` of the current directory.
#[derive(Debug, Clone)]
pub struct BootstrapOpts {
    /// The `resources.yaml` to load; `None`: `./resources.yaml`, which may be missing.
    pub resources: Option<PathBuf>,
    /// Whether `./.env` is loaded into the process environment.
    pub env: bool,
}

impl Default for BootstrapOpts {
    fn default() -> Self {
        BootstrapOpts { resources: None, env: true }
    }
}

impl BootstrapOpts {
    /// `./.env` and `./resources.yaml`.
    pub fn new() -> Self {
        BootstrapOpts::default()
    }

    /// Reads this `resources.yaml` instead (it must exist).
    pub fn resources(mut self, path: impl Into<PathBuf>) -> Self {
        self.resources = Some(path.into());
        self
    }

    /// Leaves `./.env` alone.
    pub fn no_env(mut self) -> Self {
        self.env = false;
        self
    }
}

/// Loads `./.env` of the current directory into the process environment (variables already set
/// are kept: the environment wins) and `./resources.yaml` into a hub that becomes the
/// process-wide hub, replacing any installed before; returns it.
///
/// A missing `./.env` is fine. A missing `./resources.yaml` is logged and gives `Ok(None)`
/// (nothing installed); a missing file given to [`BootstrapOpts::resources`], and a file that
/// does not parse, are errors naming the file. Unset variables are logged (see
/// [`ResourceHub::warnings`]).
pub fn bootstrap(opts: BootstrapOpts) -> Result<Option<Arc<ResourceHub>>> {
    let cwd = std::env::current_dir().map_err(|e| OperonError::Config(format!("the current directory cannot be read: {e}")))?;
    let env_path = cwd.join(".env");
    let env_file = (opts.env && env_path.is_file()).then_some(env_path);
    if let Some(path) = &env_file {
        load_dotenv(path)?;
    }
    let yaml = match opts.resources {
        Some(path) => path,
        None => {
            let path = cwd.join("resources.yaml");
            if !path.is_file() {
                tracing::warn!(target: "operonx::resources", "no resources.yaml at {}: no resource hub installed", path.display());
                return Ok(None);
            }
            path
        }
    };
    let hub = Arc::new(ResourceHub::load(&yaml, env_file)?);
    hub.log_warnings();
    install(hub.clone());
    Ok(Some(hub))
}

/// The variables of a `.env` file, in file order, without touching the process environment
/// (dotenvy's syntax). A file that does not exist or does not parse is an
/// [`OperonError::ResourceFile`] naming it (and the line).
pub fn read_env_file(path: &Path) -> Result<Vec<(String, String)>> {
    if !path.is_file() {
        return Err(OperonError::ResourceFile { file: path.to_path_buf(), line: None, message: "does not exist".into() });
    }
    files::read_env_file(path)
}

/// Loads a `.env` file into the process environment; variables already set are kept. A file that
/// does not parse is an [`OperonError::ResourceFile`] naming it and the line.
pub fn load_dotenv(path: &Path) -> Result<()> {
    files::read_env_file(path)?;
    dotenvy::from_path(path).map_err(|e| OperonError::ResourceFile {
        file: path.to_path_buf(),
        line: None,
        message: format!("cannot be loaded: {e}"),
    })
}
