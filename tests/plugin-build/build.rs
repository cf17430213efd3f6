//! Builds the test-only plugins (misbehaving, lying and legacy ones that the
//! host's tests load) for wasm32-wasip2, into the folder where the host's
//! build script puts the built-in plugins. Only the host's tests and benches
//! depend on this crate, so only they pay for these.

#[path = "../../host/build/wasm_plugins.rs"]
mod wasm_plugins;

use std::path::PathBuf;

const TEST_ONLY: &[(&str, &str)] = &[
    ("sekisho-test-misbehave", "tests/plugins/misbehave"),
    ("sekisho-test-fs-import", "tests/plugins/fs-import"),
    ("sekisho-test-impostor", "tests/plugins/impostor"),
    ("sekisho-test-liar", "tests/plugins/liar"),
    ("sekisho-test-legacy-v01", "tests/plugins/legacy-v01"),
    ("sekisho-test-legacy-v02", "tests/plugins/legacy-v02"),
];

fn main() {
    let crate_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = crate_dir.join("../..").canonicalize().expect("the workspace root exists");
    for dir in TEST_ONLY.iter().map(|(_, dir)| *dir).chain(["plugins/sdk"]) {
        wasm_plugins::watch_crate(&root.join(dir));
    }
    for watched in ["wit", "Cargo.lock", ".cargo/config.toml"] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    println!("cargo:rerun-if-env-changed=SEKISHO_PLUGIN_TARGET_DIR");
    let target_dir = std::env::var_os("SEKISHO_PLUGIN_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target").join("plugins"));
    wasm_plugins::require_target();
    let packages: Vec<&str> = TEST_ONLY.iter().map(|(package, _)| *package).collect();
    wasm_plugins::build(&root, &target_dir, &packages);
    let wasm_dir = target_dir.join(wasm_plugins::TARGET).join("release");
    println!("cargo:rustc-env=SEKISHO_PLUGIN_WASM_DIR={}", wasm_dir.display());
}
