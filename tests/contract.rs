//! Contract versions side by side: plugins built against the frozen 0.1
//! and 0.2 (`tests/plugins/legacy-v01`, `legacy-v02`, wit-bindgen and no
//! SDK) load beside the 0.3 plugins and sanitize; a class a newer plugin
//! declares does not break the 0.1 plugin, and a policy may name it; the
//! text channel of 0.2; a 0.2 plugin never gets password candidates.

mod common;

use common::*;
use sekisho::Sekisho;
use sekisho::policy::Policy;
use sekisho::report::Outcome;
use sekisho::sandbox::Allocator;

fn engine_with(plugins: &[&str]) -> (Sekisho, tempfile::TempDir) {
    let files: Vec<_> = plugins.iter().map(|p| test_plugin(p)).collect();
    let dir = plugin_dir(&files.iter().map(|p| p.as_path()).collect::<Vec<_>>());
    let engine = Sekisho::new(options(Allocator::Auto, vec![dir.path().to_path_buf()])).expect("engine");
    (engine, dir)
}

#[test]
fn a_0_1_plugin_and_0_2_plugins_load_side_by_side_and_sanitize() {
    let (engine, _dir) = engine_with(&["sekisho_test_legacy_v01.wasm", "sekisho_test_misbehave.wasm"]);
    let contracts: Vec<(&str, &str)> =
        engine.registry().plugins().iter().map(|p| (p.name.as_str(), p.contract)).collect();
    assert!(contracts.contains(&("legacy", "0.1.0")), "{contracts:?}");
    assert!(contracts.contains(&("misbehave", "0.3.0")), "{contracts:?}");
    assert!(contracts.contains(&("zip", "0.3.0")), "{contracts:?}");

    let policy = Policy::default();
    let legacy = sanitize_bytes(&engine, "a.legacy", b"LEGACY01\nkept line\n!macro line\n", &policy);
    assert_eq!(legacy.report.outcome, Outcome::Sanitized, "{:#?}", legacy.report);
    assert_eq!(legacy.output.as_deref(), Some(&b"LEGACY01\nkept line\n"[..]));
    assert_eq!(legacy.report.items[0].class, "macros");

    // A 0.1 plugin inside a ZIP, rebuilt by a 0.2 plugin: the tree mixes versions.
    let archive = make_zip(&[("in/a.legacy", b"LEGACY01\n!x\n"), ("in/b.csv", b"a,=1+1\n")]);
    let mixed = sanitize_bytes(&engine, "mixed.zip", &archive, &policy);
    assert_eq!(mixed.report.outcome, Outcome::Sanitized, "{:#?}", mixed.report);
    let plugins: Vec<&str> = mixed.report.plugins().iter().map(|p| p.name.as_str()).collect();
    assert_eq!(plugins, ["zip", "legacy", "text"]);

    // The policy blocks macros: the 0.1 plugin hears it through its enum.
    let block = Policy::from_toml("[classes]\nmacros = \"block\"\n", "t").unwrap();
    let blocked = sanitize_bytes(&engine, "a.legacy", b"LEGACY01\n!macro\n", &block);
    assert_eq!(blocked.report.outcome, Outcome::Blocked);
    assert_eq!(blocked.report.reason.unwrap().class.as_deref(), Some("macros"));
}

#[test]
fn a_0_2_plugin_still_sanitizes_hands_over_text_and_gets_no_passwords() {
    let (engine, _dir) = engine_with(&["sekisho_test_legacy_v02.wasm"]);
    let contracts: Vec<(&str, &str)> =
        engine.registry().plugins().iter().map(|p| (p.name.as_str(), p.contract)).collect();
    assert!(contracts.contains(&("legacy2", "0.2.0")), "{contracts:?}");
    assert!(contracts.contains(&("zip", "0.3.0")), "{contracts:?}");

    let input = b"LEGACY02
kept line
!macro line
";
    let legacy = sanitize_bytes(&engine, "a.legacy2", input, &Policy::default());
    assert_eq!(legacy.report.outcome, Outcome::Sanitized, "{:#?}", legacy.report);
    assert_eq!(
        legacy.output.as_deref(),
        Some(
            &b"LEGACY02
kept line
"[..]
        )
    );
    assert_eq!(legacy.report.items[0].class, "macros");
    let text = engine.extract(sekisho::source::Source::bytes(input.to_vec()), "a.legacy2", &Policy::default());
    assert_eq!(text.text.iter().map(|p| p.text.as_str()).collect::<Vec<_>>(), ["kept line"]);

    // Inside an archive rebuilt by a 0.3 plugin: the tree mixes versions.
    let archive = make_zip(&[("in/a.legacy2", input)]);
    let mixed = sanitize_bytes(&engine, "mixed.zip", &archive, &Policy::default());
    assert_eq!(mixed.report.outcome, Outcome::Sanitized, "{:#?}", mixed.report);
    let plugins: Vec<&str> = mixed.report.plugins().iter().map(|p| p.name.as_str()).collect();
    assert_eq!(plugins, ["zip", "legacy2"]);

    // A 0.2 plugin cannot hear password candidates: encrypted input still fails as encrypted.
    let policy = Policy::from_toml("encrypted = \"try-passwords\"\n", "t").unwrap().with_passwords(vec![
        sekisho::policy::Password::new("legacy-secret", sekisho::policy::PasswordSource::Request),
    ]);
    let locked = sanitize_bytes(
        &engine,
        "b.legacy2",
        b"LEGACY02-ENCRYPTED
",
        &policy,
    );
    assert_eq!(locked.report.outcome, Outcome::Failed);
    assert_eq!(reason(&locked.report).0, "encrypted");
}

#[test]
fn a_declared_class_follows_its_fallback_unless_the_policy_names_it() {
    let (engine, _dir) = engine_with(&["sekisho_test_legacy_v01.wasm", "sekisho_test_misbehave.wasm"]);
    let vocabulary = engine.registry().vocabulary();
    assert_eq!(vocabulary.classes["misbehave-tricks"].fallback, "macros");

    let strict = sanitize_bytes(&engine, "t.bad", b"MISBEHAVE:trick\n", &Policy::default());
    assert_eq!(strict.report.outcome, Outcome::Sanitized, "{:#?}", strict.report);
    assert_eq!(strict.report.items[0].class, "misbehave-tricks");

    let fallback = Policy::from_toml("[classes]\nmacros = \"block\"\n", "t").unwrap();
    let blocked = sanitize_bytes(&engine, "t.bad", b"MISBEHAVE:trick\n", &fallback);
    assert_eq!(blocked.report.outcome, Outcome::Blocked, "the fallback's action: {:#?}", blocked.report);

    let named = Policy::from_toml("[classes]\nmacros = \"block\"\nmisbehave-tricks = \"allow\"\n", "t").unwrap();
    named.check(&vocabulary).unwrap();
    let allowed = sanitize_bytes(&engine, "t.bad", b"MISBEHAVE:trick\n", &named);
    assert_eq!(allowed.report.outcome, Outcome::Clean, "{:#?}", allowed.report);
    // The 0.1 plugin, which cannot name the new class, is unaffected.
    let legacy = sanitize_bytes(&engine, "a.legacy", b"LEGACY01\n!m\n", &named);
    assert_eq!(legacy.report.outcome, Outcome::Blocked, "macros are still blocked for it");

    // A policy naming a class nobody declares is refused, with a suggestion.
    let typo = Policy::from_toml("[classes]\nmisbehave-trick = \"allow\"\n", "p.toml").unwrap();
    let error = typo.check(&vocabulary).unwrap_err().to_string();
    assert!(error.contains("did you mean \"misbehave-tricks\""), "{error}");
}

#[test]
fn the_text_channel_carries_the_text_of_every_file_of_the_tree() {
    let page = "<html><body><p>山田太郎</p><script>secret()</script></body></html>";
    let archive = make_zip(&[
        ("docs/page.html", page.as_bytes()),
        ("docs/list.csv", "名前,メール\n山田,a@example.jp\n".as_bytes()),
    ]);
    let result = engine().extract(sekisho::source::Source::bytes(archive), "bundle.zip", &Policy::default());
    assert!(result.report.outcome.passed(), "{:#?}", result.report);
    let pieces: Vec<(String, String, String)> =
        result.text.iter().map(|p| (p.file.clone(), p.location.clone(), p.text.clone())).collect();
    assert!(pieces.contains(&("bundle.zip/docs/page.html".into(), "block 1".into(), "山田太郎".into())), "{pieces:?}");
    assert!(pieces.contains(&("bundle.zip/docs/list.csv".into(), "row 2, column 2".into(), "a@example.jp".into())));
    assert!(pieces.iter().all(|(_, _, text)| !text.contains("secret")), "removed scripts are not text");
    // Plain sanitizing keeps no text.
    let plain = sanitize_bytes(engine(), "p.html", page.as_bytes(), &Policy::default());
    assert!(plain.text.is_empty());
    // A tree that does not pass hands over no text: nothing of it is kept.
    let blocked = Policy::from_toml("[classes]\ndde = \"block\"\n", "t").unwrap();
    let dde = make_zip(&[("notes.txt", "山田太郎".as_bytes()), ("x.csv", b"a,=cmd|' /C calc'!A0\n")]);
    let refused = engine().extract(sekisho::source::Source::bytes(dde), "dde.zip", &blocked);
    assert_eq!(refused.report.outcome, Outcome::Blocked);
    assert!(refused.text.is_empty(), "{:?}", refused.text);
}
