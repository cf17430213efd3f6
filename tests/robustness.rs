//! The host survives misbehaving plugins: every failure ends in a precise
//! outcome, and the same process goes on sanitizing the next file correctly.

mod common;

use common::*;
use sekisho::Sekisho;
use sekisho::policy::Policy;
use sekisho::report::Outcome;
use sekisho::sandbox::Allocator;

fn misbehave_engine(allocator: Allocator) -> (Sekisho, tempfile::TempDir) {
    let dir = plugin_dir(&[&test_plugin("sekisho_test_misbehave.wasm")]);
    let engine = Sekisho::new(options(allocator, vec![dir.path().to_path_buf()])).expect("engine");
    (engine, dir)
}

/// Small limits so the hostile cases end quickly.
fn tight_policy() -> Policy {
    let mut policy = Policy::default();
    policy.limits.time_limit_ms = 2_000;
    policy.limits.memory_limit_mb = 64;
    policy.limits.fuel_base = 200_000_000;
    policy.limits.max_output_bytes = 1 << 20;
    policy
}

/// After a hostile case, the next files still come out right.
fn still_works(engine: &Sekisho) {
    let ok = sanitize_bytes(engine, "fine.bad", b"MISBEHAVE:ok\n", &tight_policy());
    assert_eq!(ok.report.outcome, Outcome::Clean, "{:#?}", ok.report);
    assert_eq!(ok.output.as_deref(), Some(&b"MISBEHAVE:ok\n"[..]));
    let csv = sanitize_bytes(engine, "t.csv", b"a,=1+2\n", &Policy::default());
    assert_eq!(csv.report.outcome, Outcome::Sanitized);
    assert_eq!(csv.output.as_deref(), Some(&b"a,'=1+2\n"[..]));
}

fn expect_failure(allocator: Allocator, command: &str, kinds: &[(&str, Option<&str>)]) {
    let (engine, _dir) = misbehave_engine(allocator);
    let input = format!("MISBEHAVE:{command}\n");
    let result = sanitize_bytes(&engine, "case.bad", input.as_bytes(), &tight_policy());
    assert_eq!(result.report.outcome, Outcome::Failed, "{command}: {:#?}", result.report);
    assert!(result.output.is_none(), "{command}: a failed file must have no output");
    let (kind, limit) = reason(&result.report);
    assert!(
        kinds.iter().any(|(k, l)| *k == kind && l.map(str::to_owned) == limit),
        "{command}: got {kind} {limit:?}, expected one of {kinds:?}"
    );
    still_works(&engine);
}

#[test]
fn infinite_loop_ends_on_fuel_or_time() {
    for allocator in [Allocator::OnDemand, Allocator::Pooling] {
        expect_failure(allocator, "loop", &[("limit-exceeded", Some("fuel")), ("limit-exceeded", Some("time"))]);
    }
}

#[test]
fn infinite_loop_ends_on_time_when_fuel_is_plenty() {
    let (engine, _dir) = misbehave_engine(Allocator::Auto);
    let mut policy = tight_policy();
    policy.limits.fuel_base = u64::MAX / 2;
    policy.limits.time_limit_ms = 300;
    let result = sanitize_bytes(&engine, "case.bad", b"MISBEHAVE:loop", &policy);
    assert_eq!(reason(&result.report), ("limit-exceeded".into(), Some("time".into())));
    still_works(&engine);
}

#[test]
fn unbounded_allocation_ends_on_memory() {
    for allocator in [Allocator::OnDemand, Allocator::Pooling] {
        expect_failure(allocator, "alloc", &[("limit-exceeded", Some("memory"))]);
    }
}

#[test]
fn trap_is_a_plugin_fault() {
    expect_failure(Allocator::Auto, "trap", &[("plugin-fault", None)]);
}

#[test]
fn runaway_recursion_ends_on_stack() {
    expect_failure(Allocator::Auto, "recurse", &[("limit-exceeded", Some("stack"))]);
}

#[test]
fn wrong_output_is_refused() {
    expect_failure(Allocator::Auto, "wrong-output", &[("plugin-fault", None)]);
}

#[test]
fn oversized_output_is_refused() {
    expect_failure(Allocator::Auto, "huge-output", &[("limit-exceeded", Some("output"))]);
}

#[test]
fn undeclared_output_format_is_refused() {
    expect_failure(Allocator::Auto, "undeclared-format", &[("plugin-fault", None)]);
}

#[test]
fn plugin_importing_the_filesystem_is_refused_at_load() {
    let dir = plugin_dir(&[&test_plugin("sekisho_test_fs_import.wasm")]);
    let error = Sekisho::new(options(Allocator::Auto, vec![dir.path().to_path_buf()])).err().expect("must refuse");
    let message = error.to_string();
    assert!(message.contains("wasi:filesystem"), "{message}");
    assert!(message.contains("never grants"), "{message}");
}

#[test]
fn precompiled_plugins_are_refused() {
    let wasm = std::fs::read(test_plugin("sekisho_test_misbehave.wasm")).unwrap();
    let engine = wasmtime::Engine::default();
    let cwasm = engine.precompile_component(&wasm).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("sneaky.wasm"), cwasm).unwrap();
    let error = Sekisho::new(options(Allocator::Auto, vec![dir.path().to_path_buf()])).err().expect("must refuse");
    assert!(error.to_string().contains("precompiled"), "{error}");
}

#[test]
fn nesting_deeper_than_the_limit_fails() {
    let mut data = make_zip(&[("data.csv", b"a,b\n")]);
    for level in 1..7 {
        data = make_zip(&[(&format!("level{level}.zip"), &data)]);
    }
    let result = sanitize_bytes(engine(), "deep.zip", &data, &Policy::default());
    assert_eq!(result.report.outcome, Outcome::Failed, "{:#?}", result.report);
    assert_eq!(reason(&result.report), ("limit-exceeded".into(), Some("depth".into())));
    assert!(result.output.is_none());

    let mut shallow = Policy::default();
    shallow.limits.max_depth = 8;
    let result = sanitize_bytes(engine(), "deep.zip", &data, &shallow);
    assert_eq!(result.report.outcome, Outcome::Clean, "{:#?}", result.report);
}

#[test]
fn total_expansion_is_limited_across_nested_archives() {
    // Each inner archive is small; together they inflate past the limit.
    let block = vec![b'x'; 400 << 10];
    let inner = make_zip(&[("a.txt", &block), ("b.txt", &block)]);
    let outer = make_zip(&[("1.zip", &inner), ("2.zip", &inner), ("3.zip", &inner)]);
    let mut policy = Policy::default();
    policy.limits.max_expanded_bytes = 2 << 20;
    let result = sanitize_bytes(engine(), "bomb.zip", &outer, &policy);
    assert_eq!(result.report.outcome, Outcome::Failed, "{:#?}", result.report);
    assert_eq!(reason(&result.report).0, "limit-exceeded", "{:#?}", result.report.reason);
    assert!(result.output.is_none());
}

#[test]
fn zip_bomb_fails_on_inflated_bytes() {
    let zeros = vec![0u8; 100 << 20];
    let bomb = make_zip(&[("zeros.txt", &zeros)]);
    drop(zeros);
    let result = sanitize_bytes(engine(), "bomb.zip", &bomb, &Policy::default());
    assert_eq!(result.report.outcome, Outcome::Failed, "{:#?}", result.report);
    assert_eq!(reason(&result.report).0, "limit-exceeded");
}

#[test]
fn blocked_member_blocks_the_archive() {
    let archive = make_zip(&[("ok.txt", b"hello"), ("bad.csv", b"=cmd|' /C calc'!A0\n")]);
    let policy = Policy::from_toml("[classes]\ndde = \"block\"\n", "test").unwrap();
    let result = sanitize_bytes(engine(), "a.zip", &archive, &policy);
    assert_eq!(result.report.outcome, Outcome::Blocked, "{:#?}", result.report);
    assert_eq!(result.report.reason.as_ref().unwrap().class.as_deref(), Some(sekisho::policy::Class::Dde.name()));
    assert!(result.output.is_none());
}

#[test]
fn unsupported_member_is_dropped_or_blocks_by_policy() {
    let archive = make_zip(&[("ok.txt", b"hello"), ("tool.exe", b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0")]);
    let result = sanitize_bytes(engine(), "a.zip", &archive, &Policy::default());
    assert_eq!(result.report.outcome, Outcome::Sanitized, "{:#?}", result.report);
    assert_eq!(zip_names(result.output.as_ref().unwrap()), vec!["ok.txt"]);
    assert!(result.report.items.iter().any(|i| i.location == "tool.exe"));

    let strict = Policy::from_toml("[classes]\nunknown-parts = \"block\"\n", "test").unwrap();
    let result = sanitize_bytes(engine(), "a.zip", &archive, &strict);
    assert_eq!(result.report.outcome, Outcome::Blocked, "{:#?}", result.report);
}
