//! The plugins this process can use: the first-party ones compiled into the
//! binary and vendor plugins from directories, each compiled, admitted and
//! asked what it handles.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use crate::detect::{self, DeclaredMagic};
use crate::policy::Class;
use crate::sandbox::{Compiled, Sandbox, SandboxError, wit};

include!(concat!(env!("OUT_DIR"), "/builtin_plugins.rs"));

/// Where a plugin came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "path")]
pub enum Origin {
    /// Compiled into the `sekisho` binary.
    BuiltIn,
    /// Loaded from a `.wasm` file.
    File(PathBuf),
}

/// A format as a plugin declares it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FormatInfo {
    pub id: String,
    pub media_types: Vec<String>,
    pub extensions: Vec<String>,
}

impl FormatInfo {
    /// The canonical media type.
    pub fn media_type(&self) -> &str {
        self.media_types.first().map_or("application/octet-stream", String::as_str)
    }
    /// The canonical extension.
    pub fn extension(&self) -> &str {
        self.extensions.first().map_or("bin", String::as_str)
    }
}

/// A loaded plugin.
#[derive(Serialize)]
pub struct Plugin {
    pub name: String,
    pub version: String,
    pub formats: Vec<FormatInfo>,
    pub classes: Vec<Class>,
    pub origin: Origin,
    /// sha256 of the `.wasm` component.
    pub sha256: String,
    #[serde(skip)]
    pub(crate) compiled: Compiled,
}

impl Plugin {
    /// The compiled component, for running it directly in the sandbox.
    pub fn compiled(&self) -> &Compiled {
        &self.compiled
    }

    /// The plugin's declaration of `format`.
    pub fn format(&self, id: &str) -> Option<&FormatInfo> {
        self.formats.iter().find(|f| f.id == id)
    }
}

/// Errors building the registry.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    #[error("cannot read plugin directory {path}: {source}")]
    Dir { path: String, source: std::io::Error },
    #[error("plugin {plugin} declares format {format:?}, already provided by plugin {owner}")]
    Conflict { plugin: String, format: String, owner: String },
    #[error("plugin {plugin}: {message}")]
    Invalid { plugin: String, message: String },
}

/// All loaded plugins, by format.
pub struct Registry {
    plugins: Vec<Arc<Plugin>>,
    by_format: BTreeMap<String, usize>,
    declared_magic: Vec<DeclaredMagic>,
}

impl Registry {
    /// Loads the built-in plugins and every `*.wasm` in `dirs` (sorted by
    /// name). `notice` hears about a first run that must compile them.
    pub fn load(sandbox: &Sandbox, dirs: &[PathBuf], notice: Option<fn(&str)>) -> Result<Registry, RegistryError> {
        let mut registry = Registry { plugins: Vec::new(), by_format: BTreeMap::new(), declared_magic: Vec::new() };
        if let Some(notice) = notice
            && BUILTIN_PLUGINS.iter().any(|(_, wasm)| !sandbox.is_cached(wasm))
        {
            notice("compiling plugins for this machine, once (about 10 s)…");
        }
        // Loading (cache lookup, admission, pre-instantiation, `describe`)
        // is independent per plugin: do it on all cores, register in order.
        let prepared: Vec<_> = std::thread::scope(|scope| {
            let jobs: Vec<_> =
                BUILTIN_PLUGINS.iter().map(|(name, wasm)| scope.spawn(move || prepare(sandbox, name, wasm))).collect();
            jobs.into_iter().map(|job| job.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))).collect()
        });
        for ((name, _), prepared) in BUILTIN_PLUGINS.iter().zip(prepared) {
            let (compiled, info) = prepared?;
            registry.register(name, compiled, info, Origin::BuiltIn)?;
        }
        for dir in dirs {
            for path in wasm_files(dir)? {
                let wasm = std::fs::read(&path)
                    .map_err(|source| RegistryError::Dir { path: path.display().to_string(), source })?;
                let label = path.display().to_string();
                registry.add(sandbox, &label, &wasm, Origin::File(path))?;
            }
        }
        Ok(registry)
    }

    /// Adds one plugin from its component bytes.
    pub fn add(
        &mut self,
        sandbox: &Sandbox,
        label: &str,
        wasm: &[u8],
        origin: Origin,
    ) -> Result<Arc<Plugin>, RegistryError> {
        let (compiled, info) = prepare(sandbox, label, wasm)?;
        self.register(label, compiled, info, origin)
    }

    /// Checks a loaded plugin's description and makes it routable.
    fn register(
        &mut self,
        label: &str,
        compiled: Compiled,
        info: wit::PluginInfo,
        origin: Origin,
    ) -> Result<Arc<Plugin>, RegistryError> {
        let invalid = |message: String| RegistryError::Invalid { plugin: label.to_owned(), message };
        if info.name.is_empty() || info.formats.is_empty() {
            return Err(invalid("describe() names no plugin or no format".into()));
        }
        let index = self.plugins.len();
        let mut magic = Vec::new();
        for format in &info.formats {
            let id_ok = !format.id.is_empty() && format.id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
            if !id_ok {
                return Err(invalid(format!("format id {:?} is not [a-z0-9-]+", format.id)));
            }
            if let Some(&owner) = self.by_format.get(&format.id) {
                return Err(RegistryError::Conflict {
                    plugin: info.name.clone(),
                    format: format.id.clone(),
                    owner: self.plugins[owner].name.clone(),
                });
            }
            // Signatures only matter for formats the host does not detect itself.
            if detect::known_format(&format.id).is_none() {
                magic.extend(format.magic.iter().filter(|m| !m.bytes.is_empty()).map(|m| DeclaredMagic {
                    format: format.id.clone(),
                    offset: m.offset as u64,
                    bytes: m.bytes.clone(),
                }));
            }
        }
        for format in &info.formats {
            self.by_format.insert(format.id.clone(), index);
        }
        self.declared_magic.extend(magic);
        let plugin = Arc::new(Plugin {
            name: info.name,
            version: info.version,
            formats: info
                .formats
                .into_iter()
                .map(|f| FormatInfo { id: f.id, media_types: f.media_types, extensions: f.extensions })
                .collect(),
            classes: info.classes.into_iter().map(Class::from).collect(),
            origin,
            sha256: compiled.sha256.clone(),
            compiled,
        });
        self.plugins.push(plugin.clone());
        Ok(plugin)
    }

    /// Every loaded plugin, built-in first.
    pub fn plugins(&self) -> &[Arc<Plugin>] {
        &self.plugins
    }

    /// The plugin that rebuilds `format`.
    pub fn plugin_for(&self, format: &str) -> Option<&Arc<Plugin>> {
        self.by_format.get(format).map(|&i| &self.plugins[i])
    }

    /// Signatures declared by plugins for formats the host does not know.
    pub fn declared_magic(&self) -> &[DeclaredMagic] {
        &self.declared_magic
    }

    /// Media type and extensions of a format, from its plugin or the built-in table.
    pub fn format_info(&self, id: &str) -> Option<FormatInfo> {
        if let Some(format) = self.plugin_for(id).and_then(|p| p.format(id)) {
            return Some(format.clone());
        }
        detect::known_format(id).map(|k| FormatInfo {
            id: k.id.into(),
            media_types: vec![k.media_type.into()],
            extensions: k.extensions.iter().map(|e| e.to_string()).collect(),
        })
    }

    /// True when some format other than `id` claims the extension `ext`.
    pub fn extension_belongs_elsewhere(&self, id: &str, ext: &str) -> bool {
        let claims = |exts: &[String]| exts.iter().any(|e| e.eq_ignore_ascii_case(ext));
        if self.format_info(id).is_some_and(|f| claims(&f.extensions)) {
            return false;
        }
        let known =
            detect::KNOWN.iter().any(|k| k.id != id && k.extensions.iter().any(|e| e.eq_ignore_ascii_case(ext)));
        known || self.plugins.iter().flat_map(|p| &p.formats).any(|f| f.id != id && claims(&f.extensions))
    }
}

/// Compiles (or loads from the cache) one plugin and asks it to describe itself.
fn prepare(sandbox: &Sandbox, label: &str, wasm: &[u8]) -> Result<(Compiled, wit::PluginInfo), RegistryError> {
    let compiled = sandbox.load(label, wasm)?;
    let info = sandbox.describe(label, &compiled)?;
    Ok((compiled, info))
}

fn wasm_files(dir: &Path) -> Result<Vec<PathBuf>, RegistryError> {
    let read_error = |source| RegistryError::Dir { path: dir.display().to_string(), source };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_error)? {
        let path = entry.map_err(read_error)?.path();
        if path.extension().is_some_and(|e| e == "wasm") && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}
