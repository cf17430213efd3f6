//! The plugins this process can use: the first-party ones compiled into the
//! binary and vendor plugins from directories, each compiled, admitted and
//! asked what it handles.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use serde::Serialize;
use sha2::Digest;

use crate::contract::{self, ClassDecl, OptionDecl, Signature};
use crate::detect::{self, Declared, DeclaredMagic};
use crate::policy::{Class, Vocabulary};
use crate::sandbox::{Compiled, Sandbox, SandboxError};

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
pub type FormatInfo = contract::FormatDecl;

/// A loaded plugin.
#[derive(Serialize)]
pub struct Plugin {
    /// Plugin name, e.g. "zip".
    pub name: String,
    /// Plugin version (semver).
    pub version: String,
    /// The contract version it was built against.
    pub contract: &'static str,
    /// The formats it rebuilds.
    pub formats: Vec<FormatInfo>,
    /// Classes it declares beyond the shared vocabulary.
    pub classes: Vec<ClassDecl>,
    /// Options it takes in the policy's `[options]`.
    pub options: Vec<OptionDecl>,
    /// Built in, or the `.wasm` file it was loaded from.
    pub origin: Origin,
    /// sha256 of the `.wasm` component.
    pub sha256: String,
    /// The component, compiled when a file first routes to the plugin.
    #[serde(skip)]
    code: Code,
    #[serde(skip)]
    compiled: OnceLock<Result<Compiled, String>>,
}

/// A plugin's `.wasm` bytes, kept to compile it when it is first needed
/// (a vendor file is read once: what was checked is what runs).
enum Code {
    BuiltIn(&'static [u8]),
    Loaded(Arc<[u8]>),
}

impl Code {
    fn bytes(&self) -> &[u8] {
        match self {
            Code::BuiltIn(bytes) => bytes,
            Code::Loaded(bytes) => bytes,
        }
    }
}

impl Plugin {
    /// The compiled component, loaded from the compile cache (or compiled)
    /// the first time it is asked for.
    pub fn compiled(&self, sandbox: &Sandbox) -> Result<&Compiled, String> {
        let compiled = self.compiled.get_or_init(|| {
            let started = std::time::Instant::now();
            let loaded = sandbox.load_hashed(&self.name, self.code.bytes(), &self.sha256).map_err(|e| e.to_string());
            let ms = started.elapsed().as_secs_f64() * 1000.0;
            tracing::debug!(plugin = %self.name, ms, cached = loaded.as_ref().is_ok_and(|c| c.from_cache), "plugin loaded");
            loaded
        });
        compiled.as_ref().map_err(Clone::clone)
    }

    /// True once the component has been loaded.
    pub fn is_loaded(&self) -> bool {
        self.compiled.get().is_some()
    }

    /// The plugin's declaration of `format`.
    pub fn format(&self, id: &str) -> Option<&FormatInfo> {
        self.formats.iter().find(|f| f.id == id)
    }

    /// What the plugin declared, as the policy reads it.
    pub fn info(&self) -> contract::PluginInfo {
        contract::PluginInfo {
            name: self.name.clone(),
            version: self.version.clone(),
            formats: self.formats.clone(),
            classes: self.classes.clone(),
            options: self.options.clone(),
        }
    }
}

/// Errors building the registry.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// A plugin could not be compiled or loaded.
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    /// A plugin directory, or a plugin file in it, could not be read.
    #[error("cannot read plugin directory {path}: {source}")]
    Dir {
        /// The directory or file.
        path: String,
        /// Why it could not be read.
        source: std::io::Error,
    },
    /// Two plugins declare the same format.
    #[error("plugin {plugin} declares format {format:?}, already provided by plugin {owner}")]
    Conflict {
        /// The plugin loaded second.
        plugin: String,
        /// The format id both declare.
        format: String,
        /// The plugin that already provides it.
        owner: String,
    },
    /// A plugin was refused: its signature (`--require-signed`) or its
    /// description does not pass.
    #[error("plugin {plugin}: {message}")]
    Invalid {
        /// The plugin: its name, or the path of its `.wasm` file.
        plugin: String,
        /// What is wrong.
        message: String,
    },
}

/// All loaded plugins, by format.
pub struct Registry {
    plugins: Vec<Arc<Plugin>>,
    by_format: BTreeMap<String, usize>,
    declared: Declared,
}

impl Registry {
    /// Loads the built-in plugins and every `*.wasm` in `dirs` (sorted by
    /// name). `notice` hears about a first run that must compile them. With
    /// `trusted` keys, a plugin from `dirs` must be signed by one of them.
    pub fn load(
        sandbox: &Sandbox,
        dirs: &[PathBuf],
        notice: Option<fn(&str)>,
        trusted: Option<&crate::vendor::signature::TrustedKeys>,
    ) -> Result<Registry, RegistryError> {
        let mut registry = Registry { plugins: Vec::new(), by_format: BTreeMap::new(), declared: Declared::default() };
        // What each built-in plugin handles comes from the cache when this
        // host described it before; only the others are compiled now, on
        // all cores, and registered in order.
        let cached: Vec<_> = BUILTIN_SHA256.iter().map(|sha256| sandbox.cached_description(sha256)).collect();
        if let Some(notice) = notice
            && cached.iter().any(Option::is_none)
        {
            notice("compiling plugins for this machine, once (about 10 s)…");
        }
        let prepared: Vec<_> = std::thread::scope(|scope| {
            let jobs: Vec<_> = BUILTIN_PLUGINS
                .iter()
                .zip(BUILTIN_SHA256)
                .zip(cached)
                .map(|(((name, wasm), sha256), cached)| match cached {
                    Some((info, contract)) => Err(Ok(Prepared { info, contract, compiled: None })),
                    None => Ok(scope.spawn(move || prepare(sandbox, name, wasm, sha256))),
                })
                .collect();
            let join = |job: std::thread::ScopedJoinHandle<'_, _>| {
                job.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            };
            jobs.into_iter().map(|job| job.map_or_else(|cached| cached, join)).collect()
        });
        for (((name, wasm), sha256), prepared) in BUILTIN_PLUGINS.iter().zip(BUILTIN_SHA256).zip(prepared) {
            registry.register(name, prepared?, Code::BuiltIn(wasm), sha256, Origin::BuiltIn)?;
        }
        for dir in dirs {
            for path in wasm_files(dir)? {
                let wasm = std::fs::read(&path)
                    .map_err(|source| RegistryError::Dir { path: path.display().to_string(), source })?;
                let label = path.display().to_string();
                crate::vendor::signature::admit(&path, &wasm, trusted)
                    .map_err(|message| RegistryError::Invalid { plugin: label.clone(), message })?;
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
        let sha256 = hex::encode(sha2::Sha256::digest(wasm));
        let prepared = match sandbox.cached_description(&sha256) {
            Some((info, contract)) => Prepared { info, contract, compiled: None },
            None => prepare(sandbox, label, wasm, &sha256)?,
        };
        self.register(label, prepared, Code::Loaded(wasm.into()), &sha256, origin)
    }

    /// Checks a plugin's description and makes it routable.
    fn register(
        &mut self,
        label: &str,
        prepared: Prepared,
        code: Code,
        sha256: &str,
        origin: Origin,
    ) -> Result<Arc<Plugin>, RegistryError> {
        let Prepared { info, contract, compiled } = prepared;
        let invalid = |message: String| RegistryError::Invalid { plugin: label.to_owned(), message };
        if info.name.is_empty() || info.formats.is_empty() {
            return Err(invalid("describe() names no plugin or no format".into()));
        }
        let index = self.plugins.len();
        let mut declared = Declared::default();
        for format in &info.formats {
            let id_ok = !format.id.is_empty() && format.id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
            if !id_ok {
                return Err(invalid(format!("format id {:?} is not [a-z0-9-]+", format.id)));
            }
            check_declaration(&format.id, &format.media_types, &format.extensions).map_err(invalid)?;
            if let Some(&owner) = self.by_format.get(&format.id) {
                return Err(RegistryError::Conflict {
                    plugin: info.name.clone(),
                    format: format.id.clone(),
                    owner: self.plugins[owner].name.clone(),
                });
            }
            // Signatures only matter for formats the host does not detect itself.
            if detect::known_format(&format.id).is_none() {
                for signature in &format.signatures {
                    let id = format.id.clone();
                    match signature.clone() {
                        Signature::Magic { offset, bytes } if !bytes.is_empty() => {
                            declared.magic.push(DeclaredMagic { format: id, offset, bytes })
                        }
                        Signature::Magic { .. } => {}
                        Signature::ZipMember(member) => declared.zip_members.push((member, id)),
                        Signature::XmlRoot { namespace, local_name } => {
                            declared.xml_roots.push((namespace, local_name, id))
                        }
                    }
                }
            }
        }
        for format in &info.formats {
            self.by_format.insert(format.id.clone(), index);
        }
        self.declared.magic.extend(declared.magic);
        self.declared.zip_members.extend(declared.zip_members);
        self.declared.xml_roots.extend(declared.xml_roots);
        self.check_vocabulary(&info).map_err(invalid)?;
        let plugin = Arc::new(Plugin {
            name: info.name,
            version: info.version,
            contract,
            formats: info.formats,
            classes: info.classes,
            options: info.options,
            origin,
            sha256: sha256.to_owned(),
            code,
            compiled: compiled.map(|c| OnceLock::from(Ok(c))).unwrap_or_default(),
        });
        self.plugins.push(plugin.clone());
        Ok(plugin)
    }

    /// Checks a plugin's class and option declarations: a class must not
    /// shadow the shared vocabulary and must fall back on it; an option
    /// declared by several plugins must be declared the same way.
    fn check_vocabulary(&self, info: &contract::PluginInfo) -> Result<(), String> {
        let vocabulary = self.vocabulary();
        for class in &info.classes {
            if Class::named(&class.name).is_some() {
                return Err(format!("class {:?} is already in the shared vocabulary", class.name));
            }
            if Class::named(&class.fallback).is_none_or(|c| !c.in_contract()) {
                return Err(format!("class {:?} falls back on {:?}, not a shared class", class.name, class.fallback));
            }
        }
        for option in &info.options {
            if !option.values.contains(&option.default) {
                return Err(format!(
                    "option {:?} defaults to {:?}, not one of its values",
                    option.name, option.default
                ));
            }
            if let Some(other) = vocabulary.options.get(&option.name)
                && (other.values != option.values || other.default != option.default)
            {
                return Err(format!("option {:?} is declared differently by another plugin", option.name));
            }
        }
        Ok(())
    }

    /// The classes and options the loaded plugins declare.
    pub fn vocabulary(&self) -> Vocabulary {
        let mut vocabulary = Vocabulary::default();
        for plugin in &self.plugins {
            for class in &plugin.classes {
                vocabulary.classes.insert(class.name.clone(), class.clone());
            }
            for option in &plugin.options {
                vocabulary.options.insert(option.name.clone(), option.clone());
            }
        }
        vocabulary
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
    pub fn declared(&self) -> &Declared {
        &self.declared
    }

    /// Media type and extensions of a format, from its plugin or the built-in table.
    pub fn format_info(&self, id: &str) -> Option<FormatInfo> {
        if let Some(format) = self.plugin_for(id).and_then(|p| p.format(id)) {
            return Some(format.clone());
        }
        detect::known_format(id).map(|k| FormatInfo {
            id: k.id.into(),
            description: k.id.into(),
            media_types: vec![k.media_type.into()],
            extensions: k.extensions.iter().map(|e| e.to_string()).collect(),
            signatures: Vec::new(),
            classes: Vec::new(),
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

/// Media types a browser renders or runs: no plugin may claim them for a
/// format the host does not know, since a gateway would then serve the
/// plugin's output under them.
const ACTIVE_MEDIA_TYPES: [&str; 14] = [
    "text/html",
    "application/xhtml+xml",
    "text/xml",
    "application/xml",
    "text/javascript",
    "application/javascript",
    "application/x-javascript",
    "application/ecmascript",
    "text/ecmascript",
    "text/vbscript",
    "application/hta",
    "text/x-component",
    "application/x-msdownload",
    "application/x-sh",
];

/// Checks what a plugin declares about a format before the host trusts it
/// with detection and naming. A format the host knows keeps the host's media
/// type and extensions; any other format needs well-formed media types that
/// nothing renders as markup or runs, and extensions of 1 to 10 lowercase
/// letters or digits that no known format, browser or operating system
/// reads as something else.
fn check_declaration(id: &str, media_types: &[String], extensions: &[String]) -> Result<(), String> {
    let known = detect::known_format(id);
    if let Some(known) = known
        && media_types.first().is_some_and(|m| m != known.media_type)
    {
        return Err(format!("format {id} must use the media type {}", known.media_type));
    }
    for media_type in media_types {
        let token = |s: &str| {
            !s.is_empty() && s.len() <= 127 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
        };
        let lower = media_type.to_ascii_lowercase();
        let well_formed = lower.split_once('/').is_some_and(|(kind, sub)| token(kind) && token(sub));
        if !well_formed {
            return Err(format!("media type {media_type:?} of format {id} is not type/subtype"));
        }
        if known.is_some_and(|k| k.media_type == lower) {
            continue;
        }
        let elsewhere = detect::KNOWN.iter().any(|k| k.media_type == lower);
        // The host's markup formats are markup: their plugin may name its variants.
        let markup = known.is_some_and(|k| matches!(k.id, "html" | "svg"));
        let active = ACTIVE_MEDIA_TYPES.contains(&lower.as_str()) || lower.ends_with("+xml");
        if elsewhere || (active && !markup) {
            return Err(format!("format {id} cannot be served as {media_type}: browsers render or run that type"));
        }
    }
    for ext in extensions {
        let well_formed =
            (1..=10).contains(&ext.len()) && ext.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        if !well_formed {
            return Err(format!("extension {ext:?} of format {id} is not 1 to 10 lowercase letters or digits"));
        }
        if known.is_some_and(|k| k.extensions.contains(&ext.as_str())) {
            continue;
        }
        let claimed = detect::KNOWN.iter().any(|k| k.extensions.contains(&ext.as_str()));
        if claimed || detect::executables::is_runnable_extension(ext) || detect::markup_name(ext).is_some() {
            return Err(format!("format {id} cannot claim the extension .{ext}: it means something else"));
        }
    }
    Ok(())
}

/// What a plugin says it handles, and its compiled component when it had
/// to be compiled to say it.
struct Prepared {
    info: contract::PluginInfo,
    contract: &'static str,
    compiled: Option<Compiled>,
}

/// Compiles (or loads from the cache) one plugin, admits it, asks it to
/// describe itself and keeps the description for the next runs.
fn prepare(sandbox: &Sandbox, label: &str, wasm: &[u8], sha256: &str) -> Result<Prepared, RegistryError> {
    let compiled = sandbox.load_hashed(label, wasm, sha256)?;
    let info = sandbox.describe(label, &compiled)?;
    sandbox.store_description(sha256, &info, compiled.contract);
    Ok(Prepared { info, contract: compiled.contract, compiled: Some(compiled) })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn declarations_cannot_claim_what_browsers_or_systems_run() {
        assert!(check_declaration("farbfeld", &strings(&["image/x-farbfeld"]), &strings(&["ff"])).is_ok());
        let refused = [
            (&["text/html"][..], &["ff"][..]),
            (&["image/svg+xml"], &["ff"]),
            (&["application/pdf"], &["ff"]),
            (&["not a type"], &["ff"]),
            (&["image/x-farbfeld"], &["a/b"]),
            (&["image/x-farbfeld"], &["FF"]),
            (&["image/x-farbfeld"], &["html"]),
            (&["image/x-farbfeld"], &["js"]),
            (&["image/x-farbfeld"], &["pdf"]),
            (&["image/x-farbfeld"], &["waytoolongext"]),
        ];
        for (media, ext) in refused {
            assert!(check_declaration("farbfeld", &strings(media), &strings(ext)).is_err(), "{media:?} {ext:?}");
        }
        assert!(check_declaration("html", &strings(&["text/html"]), &strings(&["html", "htm"])).is_ok());
        assert!(check_declaration("epub", &strings(&["text/html"]), &strings(&["epub"])).is_err());
    }
}
