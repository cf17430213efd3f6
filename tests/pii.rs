//! The outbound personal-information audit (#15): findings from every level
//! of a tree, rules that hold or block, and values that never appear whole
//! in anything a run writes.

mod common;

use std::process::Command;

use common::*;
use sekisho::policy::Policy;
use sekisho::report::{Outcome, ReasonKind};
use sekisho_testkit::{fixtures, office};

/// A valid My Number (check digit 8) and the same with a wrong check digit.
const MY_NUMBER: &str = "123456789018";
const WRONG_CHECK_DIGIT: &str = "123456789017";

const POLICY: &str = r#"
name = "outbound-test"
[pii]
direction = "outbound"
[[pii.rule]]
detector = "email"
at-least = 3
action = "hold"
[[pii.rule]]
detector = "my-number"
at-least = 1
action = "block"
"#;

fn policy() -> Policy {
    engine().admit(Policy::from_toml(POLICY, "outbound-test.toml").unwrap()).unwrap()
}

#[test]
fn three_addresses_in_a_workbook_inside_a_document_inside_a_zip_hold_it() {
    let document = office::docx_embedding_workbook(&["tanaka@example.jp", "suzuki@example.co.jp", "sato@example.org"]);
    let archive = make_zip(&[("report.docx", &document)]);
    let result = sanitize_bytes(engine(), "outbox.zip", &archive, &policy());
    let report = &result.report;
    assert_eq!(report.outcome, Outcome::Held, "{report:#?}");
    assert_eq!(report.reason.as_ref().unwrap().kind, ReasonKind::PersonalInformation);
    assert!(result.output.is_some(), "a held file is rebuilt, for whoever approves it");
    let emails: Vec<_> = report.pii.iter().filter(|f| f.detector == "email").collect();
    assert_eq!(emails.iter().map(|f| f.count).sum::<u32>(), 3, "{:#?}", report.pii);
    for finding in &emails {
        assert!(finding.file.starts_with("outbox.zip/report.docx/") && finding.file.ends_with(".xlsx"), "{finding:?}");
        assert!(finding.location.contains('!'), "a cell address: {finding:?}");
    }
    let masked: Vec<&str> = emails.iter().flat_map(|f| f.masked.iter().map(String::as_str)).collect();
    assert!(masked.contains(&"t***@example.jp"), "{masked:?}");
    let json = serde_json::to_string(report).unwrap();
    assert!(!json.contains("tanaka@") && !json.contains("suzuki@"), "{json}");

    // Two addresses stay under the rule: the file passes, findings reported.
    let two = make_zip(&[("report.docx", &office::docx_embedding_workbook(&["a1@example.jp", "b2@example.jp"]))]);
    let result = sanitize_bytes(engine(), "outbox.zip", &two, &policy());
    assert!(result.report.outcome.passed(), "{:#?}", result.report);
    assert_eq!(result.report.pii.iter().map(|f| f.count).sum::<u32>(), 2);
}

#[test]
fn one_valid_my_number_blocks_a_csv_and_a_wrong_check_digit_does_not() {
    let csv = format!("氏名,個人番号\n山田太郎,{MY_NUMBER}\n");
    let result = sanitize_bytes(engine(), "list.csv", csv.as_bytes(), &policy());
    assert_eq!(result.report.outcome, Outcome::Blocked, "{:#?}", result.report);
    assert_eq!(result.report.reason.as_ref().unwrap().kind, ReasonKind::PersonalInformation);
    assert!(result.output.is_none());
    let finding = result.report.pii.iter().find(|f| f.detector == "my-number").expect("a my-number finding");
    assert_eq!(finding.masked, ["****-****-9018"]);

    let decoy = format!("氏名,個人番号\n山田太郎,{WRONG_CHECK_DIGIT}\n");
    let result = sanitize_bytes(engine(), "list.csv", decoy.as_bytes(), &policy());
    assert_eq!(result.report.outcome, Outcome::Clean, "{:#?}", result.report);
    assert!(result.report.pii.iter().all(|f| f.detector != "my-number"), "{:#?}", result.report.pii);
}

#[test]
fn inbound_policies_do_not_audit() {
    let csv = format!("a,{MY_NUMBER}\n");
    let result = sanitize_bytes(engine(), "list.csv", csv.as_bytes(), &Policy::default());
    assert_eq!(result.report.outcome, Outcome::Clean);
    assert!(result.report.pii.is_empty());
}

#[test]
fn a_rule_naming_no_detector_is_refused_with_the_known_ones() {
    let error = Policy::from_toml(
        "[pii]\ndirection = \"outbound\"\n[[pii.rule]]\ndetector = \"e-mail\"\naction = \"hold\"\n",
        "p.toml",
    )
    .unwrap_err()
    .to_string();
    assert!(error.contains("\"e-mail\"") && error.contains("email") && error.contains("my-number"), "{error}");
    let custom = Policy::from_toml(
        "[pii]\ndirection = \"outbound\"\n[[pii.detector]]\nname = \"staff-id\"\npattern = \"EMP-[0-9]{6}\"\n\
         [[pii.rule]]\ndetector = \"staff-id\"\naction = \"block\"\n",
        "p.toml",
    )
    .unwrap();
    let result = sanitize_bytes(engine(), "n.txt", b"owner EMP-123456\n", &engine().admit(custom).unwrap());
    assert_eq!(result.report.outcome, Outcome::Blocked, "{:#?}", result.report);
    let bad = Policy::from_toml("[pii]\n[[pii.detector]]\nname = \"x\"\npattern = \"(unclosed\"\n", "p.toml");
    assert!(bad.unwrap_err().to_string().contains("\"x\""));
}

/// Everything one CLI run writes (output, report, audit log, stdout, the
/// most verbose log) is free of every full value the audit found.
#[test]
fn no_full_value_appears_in_anything_a_run_writes() {
    let dir = tempfile::tempdir().unwrap();
    let (card, phone) = ("4111 1111 1111 1111", "090-1234-5678");
    let mail = fixtures::eml_with_attachment(
        "名簿",
        &format!("番号 {MY_NUMBER}\r\nカード {card}\r\n電話 {phone}\r\n"),
        "list.csv",
        "text/csv",
        format!("tanaka@example.jp,{MY_NUMBER}\n").as_bytes(),
    );
    let input = dir.path().join("out.eml");
    std::fs::write(&input, &mail).unwrap();
    let (report, audit, output) = (dir.path().join("r.json"), dir.path().join("audit.jsonl"), dir.path().join("o.eml"));
    let run = Command::new(env!("CARGO_BIN_EXE_sekisho"))
        .args(["-vvv", "sanitize", "--profile", "outbound", "--report"])
        .arg(&report)
        .arg("--audit")
        .arg(&audit)
        .arg("-o")
        .arg(&output)
        .arg(&input)
        .env("SEKISHO_CACHE_DIR", cache_dir())
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1), "blocked: {}", String::from_utf8_lossy(&run.stderr));
    let report_text = std::fs::read_to_string(&report).unwrap();
    assert!(report_text.contains("\"my-number\"") && report_text.contains("****-****-9018"), "{report_text}");
    let mut written = vec![report_text, std::fs::read_to_string(&audit).unwrap()];
    written.push(String::from_utf8_lossy(&run.stdout).into_owned());
    written.push(String::from_utf8_lossy(&run.stderr).into_owned());
    assert!(!output.exists(), "a blocked file leaves no output");
    for text in &written {
        for value in
            [MY_NUMBER, "1234 5678 9018", "1234-5678-9018", card, "4111111111111111", phone, "tanaka@example.jp"]
        {
            assert!(!text.contains(value), "{value} appears in:\n{text}");
        }
    }

    // Held (addresses only): exit status 3, nothing written.
    let held_input = dir.path().join("contacts.csv");
    std::fs::write(&held_input, "a@example.jp\nb@example.jp\nc@example.jp\n").unwrap();
    let held_output = dir.path().join("contacts.clean.csv");
    let run = Command::new(env!("CARGO_BIN_EXE_sekisho"))
        .args(["sanitize", "--profile", "outbound", "-o"])
        .arg(&held_output)
        .arg(&held_input)
        .env("SEKISHO_CACHE_DIR", cache_dir())
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(3), "held: {}", String::from_utf8_lossy(&run.stderr));
    assert!(!held_output.exists(), "a held file is not written by the CLI");
}

#[test]
fn scan_pii_reports_findings_without_writing() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("n.csv");
    std::fs::write(&input, format!("x,{MY_NUMBER}\n")).unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_sekisho"))
        .args(["scan", "--pii"])
        .arg(&input)
        .env("SEKISHO_CACHE_DIR", cache_dir())
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(report["outcome"], "blocked", "{report:#}");
    assert_eq!(report["pii"][0]["detector"], "my-number");
    assert_eq!(run.status.code(), Some(1));
}

/// The benign files of the shared corpus (`active` = `none` in its
/// MANIFEST.tsv), audited with the outbound rules: every hit is listed, and
/// none comes from a number detector. The e-mail hits are real addresses
/// (mail headers, a paper's authors), not false positives.
#[test]
fn benign_corpus_files_raise_no_number_detector() {
    let Some(corpus) = kit::corpus_for("the personal-information audit of the benign corpus files") else { return };
    let manifest = std::fs::read_to_string(corpus.root().join("MANIFEST.tsv")).unwrap();
    let benign: Vec<&str> = manifest
        .lines()
        .skip(1)
        .filter_map(|l| l.split('\t').collect::<Vec<_>>().get(..9).map(|f| (f[0], f[8])))
        .filter(|(_, active)| *active == "none")
        .map(|(path, _)| path)
        .collect();
    assert!(benign.len() >= 50, "the manifest lists {} benign files", benign.len());
    let outbound = engine().admit(Policy::profile("outbound").unwrap()).unwrap();
    let mut hits = Vec::new();
    for path in &benign {
        let result = sanitize_file(engine(), &corpus.root().join(path), &outbound);
        for finding in &result.report.pii {
            eprintln!(
                "{path}\t{}\t{}\t{}\t{}\t{:?}",
                result.report.outcome.name(),
                finding.detector,
                finding.count,
                finding.location,
                finding.masked
            );
            hits.push(finding.detector.clone());
        }
    }
    eprintln!("{} benign files, {} findings", benign.len(), hits.len());
    assert!(hits.iter().all(|d| d == "email"), "a number detector fired on a benign file: {hits:?}");
}

/// The labelled evaluation set of `sekisho-pii`, put through the documents
/// people send (docx paragraphs, xlsx cells, CSV fields, mail bodies, text
/// inside a ZIP): precision and recall per detector and format, counted on
/// what the plugins hand over, as the audit sees it. The goal of the issue:
/// 0.99 or more for My Number, corporate number, e-mail, phone and card.
#[test]
fn precision_and_recall_through_documents() {
    use sekisho_pii::evaluation::{SEED, generate};
    use std::collections::BTreeMap;
    let samples = generate(SEED, 150);
    let outbound = engine().admit(Policy::profile("outbound").unwrap()).unwrap();
    let xml = |text: &str| text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    type Wrap = fn(&str, &dyn Fn(&str) -> String) -> (String, Vec<u8>);
    let formats: [(&str, Wrap); 5] = [
        ("docx", |t, x| ("s.docx".into(), office::docx(&office::paragraph(&x(t)), &[], &[], &[]))),
        ("xlsx", |t, x| ("s.xlsx".into(), office::workbook(&[&x(t)], false))),
        ("csv", |t, _| ("s.csv".into(), format!("id,text\n1,\"{}\"\n", t.replace('"', "\"\"")).into_bytes())),
        ("eml", |t, _| ("s.eml".into(), fixtures::eml_with_attachment("s", t, "a.txt", "text/plain", b"x"))),
        ("zip", |t, _| ("s.zip".into(), fixtures::zip(&[("s.txt", t.as_bytes())]))),
    ];
    let mut table = String::new();
    for (format, wrap) in formats {
        // detector → (true positives, false positives, false negatives)
        let mut counts: BTreeMap<String, (u32, u32, u32)> = BTreeMap::new();
        for sample in &samples {
            let (name, data) = wrap(&sample.text, &xml);
            let result = sanitize_bytes(engine(), &name, &data, &outbound);
            let mut found: BTreeMap<String, u32> = BTreeMap::new();
            // The mail fixture's own From/To addresses are not the sample's.
            for finding in result.report.pii.iter().filter(|f| !f.location.starts_with("header")) {
                *found.entry(finding.detector.clone()).or_default() += finding.count;
            }
            let mut expected: BTreeMap<String, u32> = BTreeMap::new();
            for label in &sample.labels {
                *expected.entry(label.detector.name().to_owned()).or_default() += 1;
            }
            for detector in found.keys().chain(expected.keys()).cloned().collect::<std::collections::BTreeSet<_>>() {
                let (f, e) =
                    (found.get(&detector).copied().unwrap_or(0), expected.get(&detector).copied().unwrap_or(0));
                let entry = counts.entry(detector).or_default();
                entry.0 += f.min(e);
                entry.1 += f.saturating_sub(e);
                entry.2 += e.saturating_sub(f);
            }
        }
        for (detector, (tp, fp, fn_)) in &counts {
            let precision = f64::from(*tp) / f64::from((tp + fp).max(1));
            let recall = f64::from(*tp) / f64::from((tp + fn_).max(1));
            table.push_str(&format!("{format}\t{detector}\t{tp}\t{fp}\t{fn_}\t{precision:.4}\t{recall:.4}\n"));
            if ["my-number", "corporate-number", "email", "phone", "payment-card"].contains(&detector.as_str()) {
                assert!(
                    precision >= 0.99 && recall >= 0.99,
                    "{format} {detector}: precision {precision:.4}, recall {recall:.4}\n{table}"
                );
            }
        }
    }
    eprintln!("format\tdetector\tTP\tFP\tFN\tprecision\trecall\n{table}");
}
