//! Builds the first-party plugins for wasm32-wasip2 and embeds them in the
//! `sekisho` binary, so `cargo build --release` alone gives a working tool.
//!
//! The plugins are built by a nested cargo with its own target directory
//! (`target/plugins`): sharing the outer one deadlocks on its lock. The test
//! plugins (misbehaving ones for the host's robustness tests) are built in
//! the same call, which costs seconds, and are not embedded.

use std::env;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::Digest;

const TARGET: &str = "wasm32-wasip2";
/// Packages embedded in the binary, and their wasm file names.
const BUILTIN: &[(&str, &str)] = &[
    ("sekisho-text", "sekisho_text"),
    ("sekisho-zip", "sekisho_zip"),
    ("sekisho-pdf", "sekisho_pdf"),
    ("sekisho-ooxml", "sekisho_ooxml"),
    ("sekisho-ole", "sekisho_ole"),
    ("sekisho-odf", "sekisho_odf"),
    ("sekisho-rtf", "sekisho_rtf"),
    ("sekisho-image", "sekisho_image"),
    ("sekisho-svg", "sekisho_svg"),
    ("sekisho-html-plugin", "sekisho_html_plugin"),
    ("sekisho-mail", "sekisho_mail"),
];
/// Packages built for the host's tests only.
const TEST_ONLY: &[&str] = &[
    "sekisho-test-misbehave",
    "sekisho-test-fs-import",
    "sekisho-test-impostor",
    "sekisho-test-liar",
    "sekisho-test-legacy-v01",
];

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest_dir.parent().expect("host/ sits in the workspace root").to_path_buf();
    for watched in ["plugins", "wit", "tests/plugins", "Cargo.lock", ".cargo/config.toml"] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    println!("cargo:rerun-if-env-changed=SEKISHO_PLUGIN_TARGET_DIR");

    println!("cargo:rustc-env=SEKISHO_GIT_REVISION={}", git_revision(&root));

    let target_dir = env::var_os("SEKISHO_PLUGIN_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target").join("plugins"));
    ensure_wasm_target();
    build_plugins(&root, &target_dir);

    let wasm_dir = target_dir.join(TARGET).join("release");
    let mut code = String::from("/// First-party plugins compiled into the binary: (file name, component bytes).\n");
    code.push_str("pub static BUILTIN_PLUGINS: &[(&str, &[u8])] = &[\n");
    let mut hashes = String::from("/// The sha256 of each built-in plugin, in the same order.\n");
    hashes.push_str("pub static BUILTIN_SHA256: &[&str] = &[\n");
    for (_, file) in BUILTIN {
        let path = wasm_dir.join(format!("{file}.wasm"));
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("plugin build did not produce {}: {e}", path.display()));
        writeln!(code, "    ({file:?}, include_bytes!({:?})),", path.display().to_string()).unwrap();
        let digest: String = sha2::Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
        writeln!(hashes, "    {digest:?},").unwrap();
    }
    code.push_str("];\n");
    hashes.push_str("];\n");
    code.push_str(&hashes);
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("builtin_plugins.rs"), code).expect("write builtin_plugins.rs");
    println!("cargo:rustc-env=SEKISHO_TEST_PLUGINS_DIR={}", wasm_dir.display());
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

/// Installs the wasm32-wasip2 target through rustup when it is missing, so a
/// fresh machine needs no manual step.
fn ensure_wasm_target() {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let sysroot = Command::new(&rustc).args(["--print", "sysroot"]).output().ok();
    let installed = sysroot
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| Path::new(s.trim()).join("lib/rustlib").join(TARGET).exists())
        .unwrap_or(false);
    if installed {
        return;
    }
    let mut rustup = Command::new("rustup");
    rustup.args(["target", "add", TARGET]);
    if let Ok(toolchain) = env::var("RUSTUP_TOOLCHAIN") {
        rustup.args(["--toolchain", &toolchain]);
    }
    match rustup.status() {
        Ok(status) if status.success() => {}
        _ => panic!("the {TARGET} target is missing and `rustup target add {TARGET}` failed; install it and rebuild"),
    }
}

fn build_plugins(root: &Path, target_dir: &Path) {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(root)
        .args(["build", "--release", "--locked", "--target", TARGET, "--target-dir"])
        .arg(target_dir);
    for package in BUILTIN.iter().map(|(p, _)| *p).chain(TEST_ONLY.iter().copied()) {
        command.args(["-p", package]);
    }
    // The outer build's flags are for the host, not for wasm.
    for var in
        ["CARGO_ENCODED_RUSTFLAGS", "RUSTFLAGS", "CARGO_TARGET_DIR", "CARGO_BUILD_TARGET", "RUSTC_WORKSPACE_WRAPPER"]
    {
        command.env_remove(var);
    }
    let output = command.output().expect("run cargo to build the plugins");
    if !output.status.success() {
        panic!("building the plugins for {TARGET} failed:\n{}", String::from_utf8_lossy(&output.stderr));
    }
}
