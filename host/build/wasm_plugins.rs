//! Building plugin crates for wasm32-wasip2 from a build script: shared by
//! the host's build script (the built-in plugins) and the test kit's (the
//! test-only plugins), so both run the nested cargo the same way.

use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, Stdio};

/// The target every plugin is built for.
pub const TARGET: &str = "wasm32-wasip2";

/// Fails the build with the one command that fixes it when the wasm target
/// is missing. A build script does not install toolchain parts itself:
/// `rust-toolchain.toml` lists the target, so rustup adds it when cargo is
/// run through rustup.
pub fn require_target() {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let installed = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .stdin(Stdio::null())
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .is_some_and(|sysroot| Path::new(sysroot.trim()).join("lib/rustlib").join(TARGET).exists());
    if !installed {
        panic!(
            "the {TARGET} target is not installed for this toolchain.\n\
             Install it with `rustup target add {TARGET}` (rustup adds it by itself when cargo runs \
             through rustup in this repository, as rust-toolchain.toml lists it), or build with \
             SEKISHO_PREBUILT_PLUGINS=DIR (see the README)."
        );
    }
}

/// Reruns the build script when a file a plugin is built from changes:
/// its manifest and sources, not its tests, benches or fuzz targets.
pub fn watch_crate(dir: &Path) {
    for watched in ["Cargo.toml", "src"] {
        println!("cargo:rerun-if-changed={}", dir.join(watched).display());
    }
}

/// `cargo build --release --target wasm32-wasip2` of `packages`, run from
/// `workspace` into `target_dir`: a null stdin and an environment cleaned of
/// everything the outer build set for itself, so that the nested cargo sees
/// what a cargo run by hand would see.
pub fn build(workspace: &Path, target_dir: &Path, packages: &[&str]) {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(workspace)
        .args(["build", "--release", "--locked", "--target", TARGET, "--target-dir"])
        .arg(target_dir)
        .stdin(Stdio::null())
        .env_clear()
        .envs(passed_through());
    for package in packages {
        command.args(["-p", package]);
    }
    let output = command.output().expect("run cargo to build the plugins");
    if !output.status.success() {
        panic!("building the plugins for {TARGET} failed:\n{}", String::from_utf8_lossy(&output.stderr));
    }
}

/// The variables a nested cargo keeps: where the toolchain and the registry
/// are, and how to reach the network. Not the outer build's flags, target
/// directory, jobserver or per-package variables.
fn passed_through() -> Vec<(OsString, OsString)> {
    const NAMES: &[&str] = &[
        "PATH",
        "HOME",
        "USER",
        "TMPDIR",
        "TEMP",
        "TMP",
        "SYSTEMROOT",
        "RUSTUP_HOME",
        "RUSTUP_TOOLCHAIN",
        "CARGO_HOME",
        "CARGO_NET_OFFLINE",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "NO_PROXY",
        "http_proxy",
        "https_proxy",
        "no_proxy",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
    ];
    const PREFIXES: &[&str] = &["CARGO_HTTP_", "CARGO_NET_", "CARGO_REGISTRIES_", "CARGO_REGISTRY_"];
    std::env::vars_os()
        .filter(|(name, _)| {
            name.to_str().is_some_and(|name| NAMES.contains(&name) || PREFIXES.iter().any(|p| name.starts_with(p)))
        })
        .collect()
}
