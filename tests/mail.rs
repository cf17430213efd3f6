//! E-mail end to end: a Japanese message built by Python's `email` package
//! around a generated macro document, and the corpus when `SEKISHO_CORPUS`
//! names it, checked by Python (no defects) and `check_active.py`.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::mail::{inspect, japanese_message, pictures};
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

/// A message with an inline PNG (a text chunk with a position) under its
/// HTML and a JPEG photo attached (a comment), built by Python's `email`.
const WITH_PICTURES: &str = r#"
import sys
from email.message import EmailMessage
m = EmailMessage()
m["From"] = "a@example.jp"
m["To"] = "b@example.jp"
m["Subject"] = "site photos"
m.set_content("see the photos")
m.add_alternative('<p>map</p><img src="cid:map@example.jp">', subtype="html")
m.get_payload()[1].add_related(open(sys.argv[1], "rb").read(), "image", "png", cid="<map@example.jp>")
m.add_attachment(open(sys.argv[2], "rb").read(), maintype="image", subtype="jpeg", filename="site.jpg")
sys.stdout.buffer.write(m.as_bytes())
"#;

#[test]
fn pictures_inline_or_attached_in_a_message_lose_their_metadata() {
    if !tool("exiftool") || !tool("python3") {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let (png, jpeg) = (work.path().join("map.png"), work.path().join("site.jpg"));
    std::fs::write(&png, kit::fixtures::png_with_text(40, 30, "Comment", "GPS 35.6895N 139.6917E")).unwrap();
    std::fs::write(&jpeg, kit::fixtures::jpeg_with_comment(48, 32, "GPS 35.6895N 139.6917E, site photo")).unwrap();
    let built =
        std::process::Command::new("python3").args(["-c", WITH_PICTURES]).arg(&png).arg(&jpeg).output().unwrap();
    assert!(built.status.success(), "{}", String::from_utf8_lossy(&built.stderr));
    let result = sanitize_bytes(engine(), "photos.eml", &built.stdout, &Policy::default());
    assert!(result.report.outcome.passed(), "{:#?}", result.report);
    let rebuilt = work.path().join("rebuilt.eml");
    std::fs::write(&rebuilt, result.output.unwrap()).unwrap();
    let source = work.path().join("source.eml");
    std::fs::write(&source, &built.stdout).unwrap();
    let before = pictures(&source, &work.path().join("in"));
    let after = pictures(&rebuilt, &work.path().join("out"));
    assert_eq!((before.len(), after.len()), (2, 2), "both pictures stay");
    let tags = |files: &[PathBuf]| exiftool_tags(&files.iter().map(PathBuf::as_path).collect::<Vec<_>>());
    assert!(tags(&before).iter().all(|t| !picture_metadata(t).is_empty()), "the fixtures carry metadata");
    for (path, tags) in after.iter().zip(tags(&after)) {
        assert!(picture_metadata(&tags).is_empty(), "{} keeps {:?}", path.display(), picture_metadata(&tags));
    }
    let size = |path: &PathBuf| kit::fixtures::picture_size(&std::fs::read(path).unwrap());
    assert_eq!(after.iter().map(size).collect::<Vec<_>>(), before.iter().map(size).collect::<Vec<_>>());
}

/// Every picture inside the corpus's messages (inline or attached, in
/// forwarded messages too), as exiftool sees it: no metadata left after
/// the rebuild, and the same size as before. A picture that cannot be
/// rebuilt (the corpus has a truncated PNG) is removed, and the report
/// says so.
#[test]
fn pictures_inside_corpus_mail_lose_their_metadata() {
    let Some(corpus) = corpus!() else { return };
    if !tool("exiftool") {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let (mut inputs, mut outputs) = (Vec::new(), Vec::new());
    for (i, input) in corpus.files("eml").into_iter().enumerate() {
        let result = sanitize_file(engine(), &input, &Policy::default());
        let Some(output) = result.output.filter(|_| result.report.outcome.passed()) else { continue };
        let rebuilt = work.path().join(format!("{i}.eml"));
        std::fs::write(&rebuilt, output).unwrap();
        let before = pictures(&input, &work.path().join(format!("{i}-in")));
        let after = pictures(&rebuilt, &work.path().join(format!("{i}-out")));
        let label = input.file_name().unwrap().to_string_lossy().into_owned();
        if before.len() == after.len() {
            for (original, picture) in before.iter().zip(&after) {
                let size = |path: &Path| kit::fixtures::picture_size(&std::fs::read(path).unwrap());
                assert_eq!(size(picture), size(original), "{label}");
            }
        } else {
            let removed = result
                .report
                .items
                .iter()
                .filter(|i| i.class == "embedded-files" && i.detail.contains("could not be rebuilt"));
            assert_eq!(removed.count(), before.len() - after.len(), "{label}: a missing picture is reported");
        }
        inputs.extend(before);
        outputs.extend(after.into_iter().map(|path| (label.clone(), path)));
    }
    assert!(!outputs.is_empty(), "no picture in the corpus's rebuilt messages");
    let before = exiftool_tags(&inputs.iter().map(PathBuf::as_path).collect::<Vec<_>>());
    let after = exiftool_tags(&outputs.iter().map(|(_, path)| path.as_path()).collect::<Vec<_>>());
    let had = before.iter().filter(|t| !picture_metadata(t).is_empty()).count();
    for ((label, _), tags) in outputs.iter().zip(&after) {
        assert!(picture_metadata(tags).is_empty(), "{label} keeps {:?}", picture_metadata(tags));
    }
    eprintln!(
        "{} pictures in corpus messages ({had} with metadata), {} in the rebuilt ones, none with metadata",
        inputs.len(),
        outputs.len()
    );
    assert!(had > 0, "the corpus has message pictures with metadata to remove");
}
