//! `sekisho plugin new NAME`: writes a plugin crate that builds for
//! wasm32-wasip2 and passes `sekisho plugin check` on the sample it comes
//! with. The files are those of `examples/plugin-template/` (a plugin that
//! builds in place), embedded in the binary, with the template's names
//! replaced by the new plugin's.

use std::path::{Path, PathBuf};

use crate::detect;

/// The template's files: (path in the crate, text).
const FILES: &[(&str, &str)] = &[
    ("Cargo.toml", include_str!("../../../examples/plugin-template/Cargo.toml")),
    ("rust-toolchain.toml", include_str!("../../../examples/plugin-template/rust-toolchain.toml")),
    (".gitignore", include_str!("../../../examples/plugin-template/.gitignore")),
    ("README.md", include_str!("../../../examples/plugin-template/README.md")),
    ("src/lib.rs", include_str!("../../../examples/plugin-template/src/lib.rs")),
    ("src/tests.rs", include_str!("../../../examples/plugin-template/src/tests.rs")),
    ("samples/sample.ptpl", include_str!("../../../examples/plugin-template/samples/sample.ptpl")),
];

/// The SDK dependency of the template, as it reads in the repository.
const TEMPLATE_SDK: &str = "path = \"../../plugins/sdk\"";

/// The SDK of the checkout this binary was built from, if it is still there.
pub fn checkout_sdk() -> Option<PathBuf> {
    let sdk = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/sdk");
    sdk.join("Cargo.toml").is_file().then(|| sdk.canonicalize().ok()).flatten()
}

/// What `plugin new` wrote.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The crate's folder.
    pub dir: PathBuf,
    /// Every file written.
    pub files: Vec<PathBuf>,
    /// The sample file.
    pub sample: PathBuf,
    /// The component `cargo build --release --target wasm32-wasip2` makes,
    /// relative to the crate's target folder.
    pub wasm: String,
    /// The SDK the crate depends on; `None` when no SDK was found and
    /// `Cargo.toml` must be edited.
    pub sdk: Option<PathBuf>,
}

/// Checks a plugin name: lowercase words of letters and digits joined by
/// `-`, starting with a letter, at most 40 characters, not a format the
/// host knows.
pub fn check_name(name: &str) -> Result<(), String> {
    let words_ok =
        name.split('-').all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
    if !words_ok || !name.starts_with(|c: char| c.is_ascii_lowercase()) || name.len() > 40 {
        return Err(format!(
            "plugin name {name:?}: lowercase letters and digits in words joined by '-', starting with a letter, at most \
             40 characters (e.g. ichitaro, jw-cad)"
        ));
    }
    if detect::known_format(name).is_some() {
        return Err(format!("plugin name {name:?} is a format the host already knows; name your own format"));
    }
    Ok(())
}

/// Checks the extension a new format would claim, as the registry will.
pub fn check_extension(ext: &str) -> Result<(), String> {
    if !(1..=10).contains(&ext.len()) || !ext.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()) {
        return Err(format!("extension {ext:?}: 1 to 10 lowercase letters or digits, without the dot"));
    }
    let claimed = detect::KNOWN.iter().any(|k| k.extensions.contains(&ext));
    if claimed || detect::executables::is_runnable_extension(ext) || detect::markup_name(ext).is_some() {
        return Err(format!(
            "extension .{ext} already means something else to the host; pick another with --extension"
        ));
    }
    Ok(())
}

/// The extension a name gives by default: its letters and digits, at most 10.
pub fn default_extension(name: &str) -> String {
    name.chars().filter(char::is_ascii_alphanumeric).take(10).collect()
}

/// Writes the crate for plugin `name` into `dir` (which must not exist or
/// be empty). `sdk` is the SDK to depend on ([`checkout_sdk`] by default),
/// `extension` the format's extension ([`default_extension`] by default).
pub fn generate(name: &str, dir: &Path, sdk: Option<&Path>, extension: Option<&str>) -> Result<Generated, String> {
    check_name(name)?;
    let ext = extension.map_or_else(|| default_extension(name), str::to_owned);
    check_extension(&ext)?;
    if dir.exists() && std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?.next().is_some() {
        return Err(format!("{} already exists and is not empty", dir.display()));
    }
    let sdk = match sdk {
        Some(path) => {
            let path = path.canonicalize().map_err(|e| format!("SDK {}: {e}", path.display()))?;
            if !path.join("Cargo.toml").is_file() {
                return Err(format!(
                    "{} is not the SDK (plugins/sdk of a Sekisho checkout): no Cargo.toml",
                    path.display()
                ));
            }
            Some(path)
        }
        None => checkout_sdk(),
    };
    let dependency = match &sdk {
        Some(path) => format!("path = {}", toml_string(&path.display().to_string())),
        None => "path = \"EDIT-ME/plugins/sdk\" # no Sekisho checkout found: see README.md".to_owned(),
    };
    let snake = name.replace('-', "_");
    let replacements = [
        ("sekisho-plugin-template", format!("sekisho-{name}")),
        ("sekisho_plugin_template", format!("sekisho_{snake}")),
        ("PLUGIN-TEMPLATE", name.to_ascii_uppercase()),
        ("plugin-template", name.to_owned()),
        ("ptpl", ext.clone()),
        (TEMPLATE_SDK, dependency),
    ];
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut files = Vec::new();
    for (path, text) in FILES {
        let path = dir.join(replace_all(path, &replacements));
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        std::fs::write(&path, replace_all(text, &replacements)).map_err(|e| format!("{}: {e}", path.display()))?;
        files.push(path);
    }
    Ok(Generated {
        dir: dir.to_path_buf(),
        files,
        sample: dir.join("samples").join(format!("sample.{ext}")),
        wasm: format!("wasm32-wasip2/release/sekisho_{snake}.wasm"),
        sdk,
    })
}

/// Replaces every occurrence of each token in one pass, the first token
/// that matches at a position winning (so a replacement is never replaced
/// again).
fn replace_all(text: &str, replacements: &[(&str, String)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    'scan: while !rest.is_empty() {
        for (token, replacement) in replacements {
            if let Some(after) = rest.strip_prefix(token) {
                out.push_str(replacement);
                rest = after;
                continue 'scan;
            }
        }
        let c = rest.chars().next().expect("rest is not empty");
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// A TOML basic string.
fn toml_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_extensions() {
        for ok in ["ichitaro", "jw-cad", "hwp5", "x"] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "Ichitaro", "jw_cad", "-x", "x-", "a--b", "1x", "pdf", "docx", &"a".repeat(41)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        assert_eq!(default_extension("jw-cad"), "jwcad");
        assert_eq!(default_extension("averyveryverylongname"), "averyveryv");
        assert!(check_extension("jtd").is_ok());
        for bad in ["pdf", "js", "html", "exe", "", "A", "a.b"] {
            assert!(check_extension(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn replacements_happen_once_and_in_order() {
        let replacements = [("plugin-template", "ptpl-x".to_owned()), ("ptpl", "jtd".to_owned())];
        assert_eq!(replace_all("a plugin-template.ptpl 日本", &replacements), "a ptpl-x.jtd 日本");
    }

    #[test]
    fn the_crate_is_written_with_its_names() {
        let dir = tempfile::tempdir().unwrap();
        let crate_dir = dir.path().join("jw-cad");
        let sdk = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/sdk");
        let generated = generate("jw-cad", &crate_dir, Some(&sdk), None).unwrap();
        assert_eq!(generated.wasm, "wasm32-wasip2/release/sekisho_jw_cad.wasm");
        assert!(generated.sample.ends_with("samples/sample.jwcad"), "{}", generated.sample.display());
        let manifest = std::fs::read_to_string(crate_dir.join("Cargo.toml")).unwrap();
        assert!(manifest.contains("name = \"sekisho-jw-cad\""), "{manifest}");
        assert!(manifest.contains(&format!("path = \"{}\"", sdk.canonicalize().unwrap().display())), "{manifest}");
        let lib = std::fs::read_to_string(crate_dir.join("src/lib.rs")).unwrap();
        assert!(lib.contains("pub const MAGIC: &str = \"JW-CAD 1\\n\";") && lib.contains("\"jwcad\""), "{lib}");
        assert!(!lib.contains("plugin-template") && !lib.contains("PLUGIN-TEMPLATE"));
        let sample = std::fs::read_to_string(&generated.sample).unwrap();
        assert!(sample.starts_with("JW-CAD 1\n"), "{sample}");
        // Not over a crate that is there.
        assert!(generate("jw-cad", &crate_dir, Some(&sdk), None).unwrap_err().contains("not empty"));
    }
}
