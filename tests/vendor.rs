//! The vendor kit end to end: `sekisho plugin check` passes every built-in
//! plugin, the vendor example and a crate made by `sekisho plugin new`, and
//! fails each misbehaving test plugin with the reason; `--require-signed`
//! loads signed plugins and refuses the others.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::Instant;

use sekisho::registry::BUILTIN_PLUGINS;
use sekisho::vendor::check::{self, CheckOptions, CheckReport, Verdict};
use sekisho::vendor::signature::{TrustedKeys, signature_path};
use sekisho_testkit as kit;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// A plugin's wasm file (built-in and test plugins).
fn wasm(file: &str) -> PathBuf {
    sekisho_test_plugins::plugin_wasm(file)
}

/// Compiled plugins are cached here, shared by every test binary.
fn cache_dir() -> PathBuf {
    root().join("target").join("sekisho-test-cache")
}

fn sekisho(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sekisho"))
        .args(args)
        .env("SEKISHO_CACHE_DIR", cache_dir())
        .env_remove("SEKISHO_PLUGINS_DIR")
        .env_remove("SEKISHO_REQUIRE_SIGNED")
        .env_remove("SEKISHO_TRUSTED_KEYS")
        .output()
        .unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Writes the samples into `dir` and answers their paths.
fn write_samples(dir: &Path, samples: &[(&str, Vec<u8>)]) -> Vec<PathBuf> {
    samples
        .iter()
        .map(|(name, data)| {
            let path = dir.join(name);
            std::fs::write(&path, data).unwrap();
            path
        })
        .collect()
}

/// Runs the check in process, with `mutations` mutations of each sample.
fn run_check(plugin: &Path, samples: &[(&str, Vec<u8>)], mutations: u32) -> CheckReport {
    let dir = tempfile::tempdir().unwrap();
    let mut options = CheckOptions::new(plugin, write_samples(dir.path(), samples));
    options.sandbox.cache_dir = Some(cache_dir());
    options.mutations = mutations;
    check::check(options).unwrap()
}

fn table(report: &CheckReport) -> String {
    report.checks.iter().map(|r| format!("{:<40} {:<4} {}\n", r.check, r.result.label(), r.detail)).collect()
}

fn assert_passes(report: &CheckReport) {
    assert!(report.passed, "{} does not pass:\n{}", report.plugin, table(report));
}

/// The row `check`, which must have failed; answers its detail.
fn failed<'a>(report: &'a CheckReport, check: &str) -> &'a str {
    let row = report.row(check).unwrap_or_else(|| panic!("no row {check:?}:\n{}", table(report)));
    assert_eq!(row.result, Verdict::Fail, "{check} should fail:\n{}", table(report));
    assert!(!report.passed);
    &row.detail
}

/// An OpenDocument text with a paragraph, a macro library and metadata.
fn odt() -> Vec<u8> {
    use std::io::Write;
    let stored = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .last_modified_time(zip::DateTime::default());
    let deflated = stored.compression_method(zip::CompressionMethod::Deflated);
    let content = r#"<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body><office:text><text:p>Quarterly report</text:p></office:text></office:body></office:document-content>"#;
    let meta = r#"<?xml version="1.0" encoding="UTF-8"?>
<office:document-meta xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0" office:version="1.2"><office:meta><meta:initial-creator>Someone</meta:initial-creator></office:meta></office:document-meta>"#;
    let manifest = r#"<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">
 <manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.text"/>
 <manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>
 <manifest:file-entry manifest:full-path="meta.xml" manifest:media-type="text/xml"/>
 <manifest:file-entry manifest:full-path="Basic/Standard/Module1.xml" manifest:media-type="text/xml"/>
</manifest:manifest>"#;
    let module = r#"<?xml version="1.0" encoding="UTF-8"?>
<script:module xmlns:script="http://openoffice.org/2000/script" script:name="Module1" script:language="StarBasic">Sub Main
Shell("calc.exe")
End Sub</script:module>"#;
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let members: [(&str, &[u8], zip::write::SimpleFileOptions); 5] = [
        ("mimetype", b"application/vnd.oasis.opendocument.text", stored),
        ("content.xml", content.as_bytes(), deflated),
        ("meta.xml", meta.as_bytes(), deflated),
        ("Basic/Standard/Module1.xml", module.as_bytes(), deflated),
        ("META-INF/manifest.xml", manifest.as_bytes(), deflated),
    ];
    for (name, data, options) in members {
        writer.start_file(name, options).unwrap();
        writer.write_all(data).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

/// Sample files: (name, bytes).
type Samples = Vec<(&'static str, Vec<u8>)>;

/// A sample for each built-in plugin (file name of its component), with
/// active content each one removes.
fn built_in_samples() -> Vec<(&'static str, Samples)> {
    let word97 = kit::office::WordOptions { macros: true, properties: true, ..Default::default() };
    let svg = "<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"40\" height=\"20\" \
               onload=\"alert(1)\"><script>alert(2)</script><rect width=\"40\" height=\"20\" fill=\"red\"/>\
               <text x=\"2\" y=\"15\">Hello</text></svg>\n";
    let rtf = "{\\rtf1\\ansi{\\fonttbl{\\f0 Times New Roman;}}{\\info{\\author Someone}}\\f0 Quarterly report\\par \
               {\\field{\\*\\fldinst DDEAUTO cmd \"/c calc.exe\"}{\\fldrslt 42}}\\par}\n";
    vec![
        ("sekisho_text", vec![("table.csv", kit::fixtures::csv_dde())]),
        ("sekisho_zip", vec![("archive.zip", kit::fixtures::zip_traversal())]),
        ("sekisho_pdf", vec![("script.pdf", kit::pdf::with_javascript())]),
        ("sekisho_ooxml", vec![("report.docm", kit::office::docm("Quarterly report"))]),
        ("sekisho_ole", vec![("report.doc", kit::office::word97("Quarterly report\r", word97))]),
        ("sekisho_odf", vec![("report.odt", odt())]),
        ("sekisho_rtf", vec![("report.rtf", rtf.as_bytes().to_vec())]),
        (
            "sekisho_image",
            vec![("picture.png", kit::fixtures::png(24, 16)), ("photo.jpg", kit::fixtures::jpeg(24, 16))],
        ),
        ("sekisho_svg", vec![("drawing.svg", svg.as_bytes().to_vec())]),
        ("sekisho_html_plugin", vec![("page.html", kit::fixtures::html_with_scripts())]),
        ("sekisho_mail", vec![("message.eml", kit::fixtures::eml_with_docm())]),
    ]
}

/// Every plugin compiled into the binary passes the check, with the
/// default 200 mutations of each sample (`SEKISHO_CHECK_MUTATIONS=N` for a
/// deeper run).
#[test]
fn every_built_in_plugin_passes_the_check() {
    let mutations = std::env::var("SEKISHO_CHECK_MUTATIONS").ok().and_then(|n| n.parse().ok());
    let samples = built_in_samples();
    let covered: Vec<&str> = samples.iter().map(|(file, _)| *file).collect();
    for (file, _) in BUILTIN_PLUGINS {
        assert!(covered.contains(file), "no sample for the built-in plugin {file}: add one here");
    }
    for (file, samples) in &samples {
        let started = Instant::now();
        let report = run_check(&wasm(&format!("{file}.wasm")), samples, mutations.unwrap_or(check::DEFAULT_MUTATIONS));
        assert!(report.built_in, "{file}: not recognized as built in");
        assert_passes(&report);
        let robustness: Vec<&str> =
            report.checks.iter().filter(|r| r.check.ends_with("robustness")).map(|r| r.detail.as_str()).collect();
        eprintln!("{file}: passed in {:.1} s; {}", started.elapsed().as_secs_f64(), robustness.join("; "));
    }
}

/// Builds the vendor example out of tree, as a vendor does (the CLI test
/// does the same), and answers its component.
fn build_vendor_example() -> PathBuf {
    let target = root().join("target/plugins");
    let build = Command::new(env!("CARGO"))
        .current_dir(root().join("examples/vendor-plugin"))
        .args(["build", "--release", "--target", "wasm32-wasip2", "--target-dir"])
        .arg(&target)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .output()
        .unwrap();
    assert!(build.status.success(), "{}", stderr(&build));
    target.join("wasm32-wasip2/release/sekisho_farbfeld.wasm")
}

/// The vendor example's sample: a 2×1 farbfeld image followed by a
/// smuggled archive.
fn farbfeld_with_trailer() -> Vec<u8> {
    let sample = std::fs::read(root().join("examples/vendor-plugin/samples/picture.ff")).unwrap();
    let mut image = b"farbfeld\0\0\0\x02\0\0\0\x01".to_vec();
    image.extend_from_slice(&[0xff; 16]);
    image.extend_from_slice(b"PK\x03\x04 hidden archive");
    assert_eq!(sample, image);
    sample
}

#[test]
fn the_vendor_example_passes_the_check() {
    let plugin = build_vendor_example();
    let report = run_check(&plugin, &[("picture.ff", farbfeld_with_trailer())], check::DEFAULT_MUTATIONS);
    assert_passes(&report);
    assert!(!report.built_in);
    assert_eq!(report.name.as_deref(), Some("farbfeld"));
    assert_eq!(report.contract.as_deref(), Some("0.3.0"));
    // Through the command line too: the table, and exit status 0.
    let dir = tempfile::tempdir().unwrap();
    let samples = write_samples(dir.path(), &[("picture.ff", farbfeld_with_trailer())]);
    let output =
        sekisho(&["plugin", "check", plugin.to_str().unwrap(), samples[0].to_str().unwrap(), "--mutations", "50"]);
    let table = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{table}{}", stderr(&output));
    assert!(
        table.contains("CHECK") && table.contains("picture.ff: idempotent") && table.contains("passed:"),
        "{table}"
    );
}

/// A misbehaving plugin fails the check on each of its commands, with the
/// reason, and the robustness check finds a mutation that traps.
#[test]
fn a_misbehaving_plugin_fails_with_the_reason() {
    let samples = [
        ("trap.bad", b"MISBEHAVE:trap\n".to_vec()),
        ("loop.bad", b"MISBEHAVE:loop\n".to_vec()),
        ("wrong-output.bad", b"MISBEHAVE:wrong-output\n".to_vec()),
        ("undeclared-format.bad", b"MISBEHAVE:undeclared-format\n".to_vec()),
        ("recurse.bad", b"MISBEHAVE:recurse\n".to_vec()),
        ("sleep.bad", b"MISBEHAVE:sleep\n".to_vec()),
        // Passes as it is (an unknown command is echoed), but truncated
        // after "trap" it traps.
        ("nearly.bad", b"MISBEHAVE:trap-not\n".to_vec()),
    ];
    let report = run_check(&wasm("sekisho_test_misbehave.wasm"), &samples, 200);
    let trap = failed(&report, "trap.bad: rebuild");
    assert!(trap.contains("plugin-fault") && trap.contains("wasm trap"), "{trap}");
    assert!(!trap.contains('\n'), "one line: {trap}");
    let endless = failed(&report, "loop.bad: rebuild");
    assert!(endless.contains("limit-exceeded"), "{endless}");
    let wrong = failed(&report, "wrong-output.bad: re-detect");
    assert!(wrong.contains("not a valid misbehave"), "{wrong}");
    let undeclared = failed(&report, "undeclared-format.bad: re-detect");
    assert!(undeclared.contains("\"pdf\", which it does not declare"), "{undeclared}");
    let deep = failed(&report, "recurse.bad: rebuild");
    assert!(deep.contains("stack"), "{deep}");
    let waiting = failed(&report, "sleep.bad: rebuild");
    assert!(waiting.contains("plugin-fault"), "{waiting}");
    assert_eq!(report.row("nearly.bad: idempotent").map(|r| r.result), Some(Verdict::Pass), "{}", table(&report));
    let robustness = failed(&report, "nearly.bad: robustness");
    assert!(robustness.contains("plugin-fault") && robustness.contains("--seed 14"), "{robustness}");

    // The same mutation fails again with --seed, and is saved with --save-failures.
    let dir = tempfile::tempdir().unwrap();
    let sample = write_samples(dir.path(), &samples[6..]);
    let saved = dir.path().join("failures");
    let output = sekisho(&[
        "plugin",
        "check",
        wasm("sekisho_test_misbehave.wasm").to_str().unwrap(),
        sample[0].to_str().unwrap(),
        "--seed",
        "14",
        "--save-failures",
        saved.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["passed"], false);
    let row = json["checks"].as_array().unwrap().iter().find(|r| r["check"] == "nearly.bad: robustness").unwrap();
    let detail = row["detail"].as_str().unwrap();
    assert!(detail.starts_with(robustness) && detail.contains("saved as"), "the same mutation: {detail}");
    let kept: Vec<_> = std::fs::read_dir(&saved).unwrap().map(|e| std::fs::read(e.unwrap().path()).unwrap()).collect();
    assert_eq!(kept.len(), 1);
    assert!(kept[0].starts_with(b"MISBEHAVE:trap") && !kept[0].starts_with(b"MISBEHAVE:trap-"), "{:?}", kept[0]);
}

/// Plugins the registry refuses fail at load, with the registry's reason;
/// an impostor's samples are not detected as its format.
#[test]
fn refused_plugins_and_impostors_fail_with_the_reason() {
    let sample = [("a.imp", b"IMPOSTOR a\n".to_vec())];
    let liar_path = wasm("sekisho_test_liar.wasm");
    let liar = run_check(&liar_path, &sample, 0);
    let detail = failed(&liar, "load");
    assert!(detail.contains("text/html"), "{detail}");
    assert!(detail.contains(&liar_path.display().to_string()), "the plugin's own path is named: {detail}");

    let snoop = run_check(&wasm("sekisho_test_fs_import.wasm"), &sample, 0);
    assert!(failed(&snoop, "load").contains("imports wasi:filesystem"));

    let samples = [
        ("own.imp", b"IMPOSTOR hello\n".to_vec()),
        ("page.imp", kit::fixtures::html_with_scripts()),
        ("doc.imp", kit::pdf::with_javascript()),
    ];
    let impostor = run_check(&wasm("sekisho_test_impostor.wasm"), &samples, 20);
    assert!(failed(&impostor, "format impostor").contains("b\"%PDF-\" at offset 0 is detected as pdf"));
    assert!(failed(&impostor, "page.imp: detect").contains("detected as html"));
    assert!(failed(&impostor, "doc.imp: detect").contains("detected as pdf"));
    assert_eq!(impostor.row("own.imp: robustness").map(|r| r.result), Some(Verdict::Pass));

    // A sample of no declared format, and no sample at all.
    let legacy = run_check(&wasm("sekisho_test_legacy_v01.wasm"), &[("notes.txt", b"just text\n".to_vec())], 0);
    assert!(failed(&legacy, "notes.txt: detect").contains("detected as text"));
    let none = run_check(&wasm("sekisho_test_legacy_v01.wasm"), &[], 0);
    assert!(failed(&none, "samples").contains("none given"));
}

/// `sekisho plugin new` writes a crate that builds for wasm32-wasip2,
/// passes its native tests and passes the check on its own sample.
#[test]
fn a_new_plugin_builds_and_passes_the_check() {
    let dir = tempfile::tempdir().unwrap();
    let crate_dir = dir.path().join("demo-format");
    let output = sekisho(&["plugin", "new", "demo-format", "--dir", crate_dir.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let sample = crate_dir.join("samples/sample.demoformat");
    assert!(sample.is_file(), "{}", String::from_utf8_lossy(&output.stdout));

    // Beside the other plugins' builds, so compiled dependencies are reused.
    let target = root().join("target/plugins");
    let cargo = |args: &[&str]| {
        let output = Command::new(env!("CARGO"))
            .current_dir(&crate_dir)
            .args(args)
            .arg("--target-dir")
            .arg(&target)
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .output()
            .unwrap();
        assert!(output.status.success(), "cargo {args:?}: {}", stderr(&output));
    };
    cargo(&["build", "--release", "--target", "wasm32-wasip2"]);
    cargo(&["test", "--release"]);
    let plugin = target.join("wasm32-wasip2/release/sekisho_demo_format.wasm");
    let output = sekisho(&["plugin", "check", plugin.to_str().unwrap(), sample.to_str().unwrap(), "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(0), "{json:#}");
    assert_eq!(json["name"], "demo-format");
    let text = json["checks"].as_array().unwrap().iter().find(|r| r["check"] == "sample.demoformat: text").unwrap();
    assert_eq!(text["result"], "pass", "the template hands the host its text: {text}");
}

/// A minisign key pair made in the test: the public key file's text and
/// the secret key.
fn key_pair() -> (String, minisign::SecretKey) {
    let pair = minisign::KeyPair::generate_unencrypted_keypair().unwrap();
    (pair.pk.to_box().unwrap().into_string(), pair.sk)
}

fn sign(plugin: &Path, secret: &minisign::SecretKey) {
    let data = std::fs::read(plugin).unwrap();
    let signature = minisign::sign(None, secret, data.as_slice(), None, None).unwrap();
    std::fs::write(signature_path(plugin), signature.into_string()).unwrap();
}

/// With --require-signed, a vendor plugin loads only when signed by a
/// trusted key over its exact bytes; the built-in plugins need nothing.
#[test]
fn require_signed_loads_signed_plugins_only() {
    let (public, secret) = key_pair();
    let (_, stranger) = key_pair();
    let work = tempfile::tempdir().unwrap();
    let keys = work.path().join("trusted-keys");
    std::fs::write(&keys, format!("# vendors we trust\n{public}")).unwrap();
    let dir = work.path().join("plugins");
    std::fs::create_dir(&dir).unwrap();
    let plugin = dir.join("misbehave.wasm");
    std::fs::copy(wasm("sekisho_test_misbehave.wasm"), &plugin).unwrap();
    let (dir_arg, keys_arg) = (dir.to_str().unwrap(), keys.to_str().unwrap());
    let list = |extra: &[&str]| {
        let mut args = vec!["plugins", "--plugins-dir", dir_arg];
        args.extend_from_slice(extra);
        sekisho(&args)
    };
    let required = ["--require-signed", "--trusted-keys", keys_arg];

    // Unsigned: loads without --require-signed, refused with it.
    assert_eq!(list(&[]).status.code(), Some(0));
    let unsigned = list(&required);
    assert_eq!(unsigned.status.code(), Some(2));
    let message = stderr(&unsigned);
    assert!(message.contains("misbehave.wasm") && message.contains("misbehave.wasm.minisig is missing"), "{message}");

    // Signed by a trusted key: loads, beside the built-in plugins.
    sign(&plugin, &secret);
    let signed = list(&required);
    assert_eq!(signed.status.code(), Some(0), "{}", stderr(&signed));
    let listed = String::from_utf8_lossy(&signed.stdout);
    assert!(listed.contains("misbehave") && listed.contains("built-in"), "{listed}");
    // The same from the environment.
    let from_env = Command::new(env!("CARGO_BIN_EXE_sekisho"))
        .args(["plugins", "--plugins-dir", dir_arg])
        .env("SEKISHO_CACHE_DIR", cache_dir())
        .env("SEKISHO_REQUIRE_SIGNED", "1")
        .env("SEKISHO_TRUSTED_KEYS", keys_arg)
        .output()
        .unwrap();
    assert_eq!(from_env.status.code(), Some(0), "{}", stderr(&from_env));

    // Tampered after signing: refused.
    let original = std::fs::read(&plugin).unwrap();
    let mut tampered = original.clone();
    tampered.extend_from_slice(b"\0");
    std::fs::write(&plugin, &tampered).unwrap();
    let refused = list(&required);
    assert_eq!(refused.status.code(), Some(2));
    assert!(stderr(&refused).contains("does not match the file"), "{}", stderr(&refused));
    std::fs::write(&plugin, &original).unwrap();

    // Signed by a key that is not trusted: refused, naming the key.
    sign(&plugin, &stranger);
    let untrusted = list(&required);
    assert_eq!(untrusted.status.code(), Some(2));
    assert!(stderr(&untrusted).contains("which is not one of the trusted keys"), "{}", stderr(&untrusted));
    let without = sekisho(&["plugins", "--require-signed", "--plugins-dir", dir_arg]);
    assert_eq!(without.status.code(), Some(2), "--require-signed needs --trusted-keys");

    // The check reports the signature, and loads as the host would.
    let trusted = Arc::new(TrustedKeys::load(&keys).unwrap());
    let samples_dir = tempfile::tempdir().unwrap();
    let samples = write_samples(samples_dir.path(), &[("ok.bad", b"MISBEHAVE:ok\n".to_vec())]);
    let run = |require_signed: bool| {
        let mut options = CheckOptions::new(&plugin, samples.clone());
        options.sandbox.cache_dir = Some(cache_dir());
        options.mutations = 0;
        options.trusted_keys = Some(trusted.clone());
        options.require_signed = require_signed;
        check::check(options).unwrap()
    };
    assert!(failed(&run(false), "signature").contains("not one of the trusted keys"));
    assert!(failed(&run(true), "load").contains("refused by --require-signed"));
    sign(&plugin, &secret);
    let report = run(true);
    assert_passes(&report);
    assert_eq!(report.row("signature").map(|r| r.result), Some(Verdict::Pass));
}
