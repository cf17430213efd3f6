//! The PDF plugin end to end on the corpus, checked by tools that are not
//! ours: pdfid (raw and after a qpdf rewrite), qpdf --check, pdftoppm and
//! pdftotext.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use common::*;
use sekisho::policy::Policy;
use sekisho::report::{Outcome, ReasonKind};

/// Names that must not survive as PDF objects under the strict profile.
const REMOVED_NAMES: [&str; 16] = [
    "/JS",
    "/JavaScript",
    "/AA",
    "/Launch",
    "/RichMedia",
    "/XFA",
    "/GoToR",
    "/GoToE",
    "/SubmitForm",
    "/ImportData",
    "/OpenAction",
    "/AcroForm",
    "/URI",
    "/Movie",
    "/Sound",
    "/Rendition",
];
/// Names that may stay only when sanitized attachments were put back.
const ATTACHMENT_NAMES: [&str; 4] = ["/EmbeddedFile", "/EmbeddedFiles", "/EF", "/FileAttachment"];

/// `pdfid -a` counts of every name it lists.
fn pdfid(path: &Path) -> BTreeMap<String, u64> {
    let out = Command::new("python3").args(["-m", "pdfid.pdfid", "-a"]).arg(path).output().unwrap();
    let mut counts = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let mut parts = line.split_whitespace();
        if let (Some(name), Some(count)) = (parts.next(), parts.next())
            && let Ok(n) = count.split('(').next().unwrap_or("").parse::<u64>()
        {
            counts.insert(name.to_owned(), n);
        }
    }
    counts
}

/// Occurrences of `/Name` as a PDF name token outside stream data: pdfid also
/// counts bytes inside streams (page text that says "/RichMedia", font
/// programs), which are not objects.
fn names_outside_streams(pdf: &[u8], name: &str) -> usize {
    let mut count = 0;
    let mut rest = pdf;
    loop {
        let (head, tail) = match find(rest, b"stream") {
            Some(i) if !rest[..i].ends_with(b"end") => (&rest[..i], Some(&rest[i..])),
            Some(i) => (&rest[..i + 6], Some(&rest[i + 6..])),
            None => (rest, None),
        };
        count += count_name(head, name.as_bytes());
        let Some(tail) = tail else { break };
        if head.len() + 6 > rest.len() || !tail.starts_with(b"stream") {
            rest = tail;
            continue;
        }
        match find(tail, b"endstream") {
            Some(end) => rest = &tail[end + 9..],
            None => break,
        }
    }
    count
}

fn count_name(haystack: &[u8], name: &[u8]) -> usize {
    haystack.windows(name.len() + 1).filter(|w| w.starts_with(name) && !w[name.len()].is_ascii_alphanumeric()).count()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[test]
fn every_corpus_pdf_ends_with_a_precise_outcome_and_no_active_names() {
    if !(tool("qpdf") && tool("pdftoppm") && tool("pdfinfo") && tool("pdftotext") && tool("python3")) {
        return;
    }
    let baseline = baseline();
    let work = tempfile::tempdir().unwrap();
    let mut passed = 0;
    for path in corpus_files("pdf") {
        let file = path.file_name().unwrap().to_str().unwrap().to_owned();
        eprintln!("checking {file}");
        let result = sanitize_file(engine(), &path, &Policy::default());
        let report = &result.report;
        match report.outcome {
            Outcome::Clean | Outcome::Sanitized => {}
            Outcome::Failed => {
                let kind = report.reason.as_ref().unwrap().kind;
                assert!(matches!(kind, ReasonKind::InvalidStructure | ReasonKind::Encrypted), "{file}: {report:#?}");
                continue;
            }
            other => panic!("{file}: {other:?} {report:#?}"),
        }
        passed += 1;
        let output = result.output.unwrap();
        let out = work.path().join(&file);
        std::fs::write(&out, &output).unwrap();
        let qdf = work.path().join(format!("{file}.qdf.pdf"));
        let rewrite =
            Command::new("qpdf").args(["--qdf", "--object-streams=disable"]).arg(&out).arg(&qdf).status().unwrap();
        assert_ne!(rewrite.code(), Some(2), "{file}: qpdf cannot rewrite the output");
        let attachments_back = report.children.iter().any(|c| c.outcome.passed());
        for (variant, bytes, counts) in
            [("raw", output.clone(), pdfid(&out)), ("qdf", std::fs::read(&qdf).unwrap(), pdfid(&qdf))]
        {
            let checked = REMOVED_NAMES.iter().chain(if attachments_back { &[][..] } else { &ATTACHMENT_NAMES[..] });
            for name in checked {
                if counts.get(*name).copied().unwrap_or(0) > 0 {
                    // pdfid counts raw bytes; only names outside stream data are objects.
                    assert_eq!(names_outside_streams(&bytes, name), 0, "{file} ({variant}): {name} survived");
                }
            }
        }
        // qpdf accepts the output whenever it accepted the input.
        let input_ok = Command::new("qpdf").arg("--check").arg(&path).output().unwrap().status.code() != Some(2);
        let output_check = Command::new("qpdf").arg("--check").arg(&out).output().unwrap();
        if input_ok {
            assert_ne!(
                output_check.status.code(),
                Some(2),
                "{file}: {}",
                String::from_utf8_lossy(&output_check.stdout)
            );
        }
        // Same number of pages, and the output renders wherever the input did.
        if let Some(count) = pages(&path) {
            assert_eq!(Some(count), pages(&out), "{file}: page count");
        }
        if renders(&path, work.path()) {
            assert!(renders(&out, work.path()), "{file}: the output does not render");
        }
        // Same text when there was nothing active to remove.
        if baseline.get(&format!("pdf/{file}")).is_some_and(|active| active.is_empty())
            && let Some(text) = pdftotext(&path)
        {
            assert_eq!(Some(text), pdftotext(&out), "{file}: text changed");
        }
    }
    assert!(passed >= 40, "only {passed} PDFs passed");
}

/// Pages as poppler counts them.
fn pages(pdf: &Path) -> Option<u32> {
    let out = Command::new("pdfinfo").arg(pdf).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("Pages:").and_then(|n| n.trim().parse().ok()))
}

/// True when pdftoppm renders the first page (small, with a time limit: the
/// corpus has decompression-bomb pages).
fn renders(pdf: &Path, dir: &Path) -> bool {
    let prefix = dir.join("render");
    let ok = Command::new("timeout")
        .args(["20", "pdftoppm", "-f", "1", "-l", "1", "-scale-to", "32", "-png"])
        .arg(pdf)
        .arg(&prefix)
        .output()
        .is_ok_and(|o| o.status.success());
    for entry in std::fs::read_dir(dir).unwrap().filter_map(|e| e.ok()) {
        if entry.file_name().to_string_lossy().starts_with("render") {
            std::fs::remove_file(entry.path()).unwrap();
        }
    }
    ok
}

/// The text poppler extracts; `None` when it takes too long (bomb pages).
fn pdftotext(pdf: &Path) -> Option<String> {
    let out = Command::new("timeout").args(["20", "pdftotext"]).arg(pdf).arg("-").output().unwrap();
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn every_pdf_is_idempotent_and_deterministic() {
    assert_idempotent_and_deterministic("pdf", &Policy::default(), false);
}

#[test]
fn attachments_go_through_their_own_plugins() {
    let path = corpus("pdf").join("pdfjs__multimedia_annotations.pdf");
    let result = sanitize_file(engine(), &path, &Policy::default());
    assert_eq!(result.report.outcome, Outcome::Sanitized);
    assert!(result.report.children.iter().all(|c| c.outcome == Outcome::Unsupported), "{:#?}", result.report.children);
    assert!(!result.report.children.is_empty());
    let path = corpus("pdf").join("pdfjs__attachment.pdf");
    let result = sanitize_file(engine(), &path, &Policy::default());
    let child = &result.report.children[0];
    assert_eq!(child.plugin.as_ref().unwrap().name, "text");
    assert!(child.outcome.passed());
}
