//! Builds the first-party plugins for wasm32-wasip2 and embeds them in the
//! `sekisho` binary, so `cargo build --release` alone gives a working tool.
//!
//! The plugins are built by a nested cargo with its own target directory
//! (`target/plugins`): sharing the outer one deadlocks on its lock. The
//! test-only plugins are built by the test kit's build script, so only the
//! tests pay for them.
//!
//! Packagers who build the plugins apart set `SEKISHO_PREBUILT_PLUGINS=DIR`:
//! DIR holds each `NAME.wasm` below and a `SHA256SUMS` file (as `sha256sum`
//! writes it) naming every one; a missing or mismatched file fails the build.

#[path = "build/wasm_plugins.rs"]
mod wasm_plugins;

use std::env;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::Digest;

/// Packages embedded in the binary: (package, its folder, its wasm file name).
const BUILTIN: &[(&str, &str, &str)] = &[
    ("sekisho-text", "plugins/text", "sekisho_text"),
    ("sekisho-zip", "plugins/zip", "sekisho_zip"),
    ("sekisho-pdf", "plugins/pdf", "sekisho_pdf"),
    ("sekisho-ooxml", "plugins/ooxml", "sekisho_ooxml"),
    ("sekisho-ole", "plugins/ole", "sekisho_ole"),
    ("sekisho-odf", "plugins/odf", "sekisho_odf"),
    ("sekisho-rtf", "plugins/rtf", "sekisho_rtf"),
    ("sekisho-image", "plugins/image", "sekisho_image"),
    ("sekisho-svg", "plugins/svg", "sekisho_svg"),
    ("sekisho-html-plugin", "plugins/html/adapter", "sekisho_html_plugin"),
    ("sekisho-mail", "plugins/mail", "sekisho_mail"),
];
/// Crates the plugins are built from besides their own.
const SHARED: &[&str] = &["plugins/sdk", "plugins/html"];

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest_dir.parent().expect("the host has a parent folder").to_path_buf();
    println!("cargo:rustc-env=SEKISHO_GIT_REVISION={}", git_revision(&root));
    println!("cargo:rerun-if-env-changed=SEKISHO_PREBUILT_PLUGINS");
    println!("cargo:rerun-if-env-changed=SEKISHO_PLUGIN_TARGET_DIR");

    let wasm_dir = match env::var_os("SEKISHO_PREBUILT_PLUGINS").filter(|v| !v.is_empty()) {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            println!("cargo:rerun-if-changed={}", dir.display());
            check_prebuilt(&dir);
            dir
        }
        None => build_from_source(&root),
    };

    let mut code = String::from("/// First-party plugins compiled into the binary: (file name, component bytes).\n");
    code.push_str("pub static BUILTIN_PLUGINS: &[(&str, &[u8])] = &[\n");
    let mut hashes = String::from("/// The sha256 of each built-in plugin, in the same order.\n");
    hashes.push_str("pub static BUILTIN_SHA256: &[&str] = &[\n");
    for (_, _, file) in BUILTIN {
        let path = wasm_dir.join(format!("{file}.wasm"));
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("no plugin {}: {e}", path.display()));
        writeln!(code, "    ({file:?}, include_bytes!({:?})),", path.display().to_string()).unwrap();
        writeln!(hashes, "    {:?},", sha256(&bytes)).unwrap();
    }
    code.push_str("];\n");
    hashes.push_str("];\n");
    code.push_str(&hashes);
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("builtin_plugins.rs"), code).expect("write builtin_plugins.rs");
}

/// Builds the built-in plugins from the workspace; returns where their wasm files are.
fn build_from_source(root: &Path) -> PathBuf {
    if !root.join("plugins/sdk/Cargo.toml").exists() {
        panic!(
            "the plugin sources are not beside the host ({}): build inside the Sekisho workspace, \
             or set SEKISHO_PREBUILT_PLUGINS=DIR to plugins built apart (see the README)",
            root.join("plugins").display()
        );
    }
    for dir in BUILTIN.iter().map(|(_, dir, _)| *dir).chain(SHARED.iter().copied()) {
        wasm_plugins::watch_crate(&root.join(dir));
    }
    for watched in ["wit", "Cargo.lock", ".cargo/config.toml", "rust-toolchain.toml"] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    let target_dir = env::var_os("SEKISHO_PLUGIN_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target").join("plugins"));
    wasm_plugins::require_target();
    let packages: Vec<&str> = BUILTIN.iter().map(|(package, _, _)| *package).collect();
    wasm_plugins::build(root, &target_dir, &packages);
    target_dir.join(wasm_plugins::TARGET).join("release")
}

/// Every built-in plugin is in `dir` and matches its line in `dir/SHA256SUMS`.
fn check_prebuilt(dir: &Path) {
    let sums_path = dir.join("SHA256SUMS");
    let sums = std::fs::read_to_string(&sums_path).unwrap_or_else(|e| {
        panic!("SEKISHO_PREBUILT_PLUGINS: {}: {e} (write it with `sha256sum *.wasm > SHA256SUMS`)", sums_path.display())
    });
    let listed: Vec<(&str, &str)> = sums
        .lines()
        .filter_map(|line| line.split_once(char::is_whitespace))
        .map(|(hash, file)| (hash, file.trim_start().trim_start_matches('*')))
        .collect();
    for (_, _, file) in BUILTIN {
        let name = format!("{file}.wasm");
        let expected = listed
            .iter()
            .find(|(_, listed)| *listed == name)
            .map(|(hash, _)| hash.to_ascii_lowercase())
            .unwrap_or_else(|| panic!("SEKISHO_PREBUILT_PLUGINS: {} does not list {name}", sums_path.display()));
        let bytes = std::fs::read(dir.join(&name))
            .unwrap_or_else(|e| panic!("SEKISHO_PREBUILT_PLUGINS: {}: {e}", dir.join(&name).display()));
        let actual = sha256(&bytes);
        if actual != expected {
            panic!("SEKISHO_PREBUILT_PLUGINS: {name} has sha256 {actual}, SHA256SUMS says {expected}");
        }
    }
}

fn sha256(bytes: &[u8]) -> String {
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The commit the binary is built from (`unknown` outside a git checkout),
/// for `sekisho --version`. The build reruns when HEAD moves.
fn git_revision(root: &Path) -> String {
    let git = root.join(".git");
    if git.is_dir() {
        println!("cargo:rerun-if-changed={}", git.join("HEAD").display());
        if let Ok(head) = std::fs::read_to_string(git.join("HEAD"))
            && let Some(reference) = head.trim().strip_prefix("ref: ")
        {
            // A missing watched path would rerun the build every time.
            for watched in [git.join(reference), git.join("packed-refs")] {
                if watched.exists() {
                    println!("cargo:rerun-if-changed={}", watched.display());
                }
            }
        }
    }
    let revision = Command::new("git")
        .current_dir(root)
        .args(["rev-parse", "--short=12", "HEAD"])
        .stdin(std::process::Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned());
    revision.filter(|r| !r.is_empty()).unwrap_or_else(|| "unknown".into())
}
