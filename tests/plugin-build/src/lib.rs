//! Where the tests find plugin wasm files. The build script of this crate
//! builds the test-only plugins; only the host's tests and benches depend
//! on it, so `cargo build` and `cargo run` never build them.

use std::path::{Path, PathBuf};

/// A plugin's wasm file by name (`sekisho_text.wasm`,
/// `sekisho_test_misbehave.wasm`): the built-in plugins as the host's build
/// script built them, and the test-only plugins this crate's build script
/// builds beside them.
pub fn plugin_wasm(file: &str) -> PathBuf {
    Path::new(env!("SEKISHO_PLUGIN_WASM_DIR")).join(file)
}
