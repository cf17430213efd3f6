//! E-mail end to end: a Japanese message built by Python's `email` package
//! around a generated macro document, and the corpus when `SEKISHO_CORPUS`
//! names it, checked by Python (no defects) and `check_active.py`.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::mail::{inspect, japanese_message};
use common::*;
use sekisho::policy::Policy;
use sekisho::report::{Outcome, ReasonKind, Report};

/// The output hashes of every child that passed, at any depth.
fn rebuilt_children(report: &Report, hashes: &mut BTreeSet<String>) {
    for child in &report.children {
        if let Some(output) = &child.output {
            hashes.insert(output.sha256.clone());
        }
        rebuilt_children(child, hashes);
    }
}

#[test]
fn every_message_is_rebuilt_and_parses_without_defects() {
    let Some(corpus) = corpus!() else { return };
    if !tool("python3") {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let mut done = Vec::new();
    for input in corpus.files("eml") {
        let file = input.file_name().unwrap().to_str().unwrap().to_owned();
        let result = sanitize_file(engine(), &input, &Policy::default());
        match result.report.outcome {
            Outcome::Clean | Outcome::Sanitized => {}
            Outcome::Failed => {
                let kind = result.report.reason.as_ref().unwrap().kind;
                assert!(matches!(kind, ReasonKind::InvalidStructure | ReasonKind::Encrypted), "{file}");
                continue;
            }
            other => panic!("{file}: {other:?} {:#?}", result.report),
        }
        let output = work.path().join(format!("{file}.eml"));
        std::fs::write(&output, result.output.unwrap()).unwrap();
        done.push((format!("eml/{file}"), output, result.report));
    }
    assert!(done.len() >= 20, "only {} messages passed", done.len());
    let outputs: Vec<&Path> = done.iter().map(|(_, o, _)| o.as_path()).collect();
    let inspected = inspect(&outputs);
    for (key, output, report) in &done {
        let found = &inspected[output.to_str().unwrap()];
        assert_eq!(found["defects"].as_array().unwrap().len(), 0, "{key}: {}", found["defects"]);
        // Every attachment left is the output of a child sandbox.
        let mut children = BTreeSet::new();
        rebuilt_children(report, &mut children);
        for hash in found["attachments"].as_array().unwrap() {
            assert!(children.contains(hash.as_str().unwrap()), "{key}: an attachment that no plugin rebuilt");
        }
    }
    // check_active: no script in HTML, no TNEF, no broken parts.
    if python_modules("magic") {
        for (file, tags) in check_active(&corpus.oracle("check_active.py"), &outputs, work.path()) {
            for forbidden in ["html-script", "tnef", "part-defects"] {
                assert!(!tags.iter().any(|t| t == forbidden), "{}: {forbidden}", file.display());
            }
        }
    }
}

#[test]
fn messages_are_idempotent_and_deterministic() {
    let Some(corpus) = corpus!() else { return };
    assert_idempotent_and_deterministic(&corpus, "eml", &Policy::default(), false);
}

#[test]
fn a_japanese_message_comes_out_readable_with_its_attachment_rebuilt() {
    if !tool("python3") {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let docm = work.path().join("report.docm");
    std::fs::write(&docm, kit::office::docm("報告書の本文")).unwrap();
    let built = japanese_message(&docm);
    let mut policy = Policy::default();
    policy.options.insert("html-mode".into(), "text".into());
    let result = sanitize_bytes(engine(), "jp.eml", &built, &policy);
    assert_eq!(result.report.outcome, Outcome::Sanitized, "{:#?}", result.report);
    let output = work.path().join("jp.eml");
    std::fs::write(&output, result.output.as_ref().unwrap()).unwrap();
    let found = &inspect(&[output.as_path()])[output.to_str().unwrap()];
    assert_eq!(found["defects"].as_array().unwrap().len(), 0, "{}", found["defects"]);
    let texts: Vec<&str> = found["texts"].as_array().unwrap().iter().filter_map(|t| t.as_str()).collect();
    assert!(texts.iter().any(|t| t.contains("会議資料をお送りします。")), "{texts:?}");
    let raw = String::from_utf8_lossy(result.output.as_ref().unwrap());
    assert!(!raw.contains("text/html") && !raw.contains("tracker.example/p.gif\""), "no HTML part, no pixel: {raw}");
    // The Word attachment went through the OOXML plugin and lost its macros.
    let child = result.report.children.iter().find(|c| c.plugin.as_ref().is_some_and(|p| p.name == "ooxml"));
    let child = child.unwrap_or_else(|| panic!("{:#?}", result.report.children));
    assert_eq!(child.output.as_ref().unwrap().extension, "docx");
    assert!(
        child.items.iter().any(|i| i.class == sekisho::policy::Class::Macros.name()),
        "the VBA project is reported: {child:#?}"
    );
    assert_eq!(found["attachments"].as_array().unwrap().len(), 1);
    assert_eq!(found["attachments"][0].as_str(), Some(child.output.as_ref().unwrap().sha256.as_str()));
}
