//! The PDF plugin end to end: generated PDFs for each behaviour, and the
//! corpus when `SEKISHO_CORPUS` names it, checked by tools that are not
//! ours: pdfid (raw and after a qpdf rewrite), qpdf --check, pdftoppm and
//! pdftotext.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use common::*;
use sekisho::policy::{Class, Policy};
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

/// `pdfid -a` counts of every name it lists. pdfid must have run and read
/// the file: a missing module or an error is a failure, never an empty
/// (and so passing) count.
fn pdfid(path: &Path) -> BTreeMap<String, u64> {
    let out = Command::new("python3").args(["-m", "pdfid.pdfid", "-a"]).arg(path).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.lines().next().is_some_and(|l| l.starts_with("PDFiD ")),
        "pdfid did not run on {}: {}{}",
        path.display(),
        stdout,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("PDF Header: %PDF-"), "pdfid does not see a PDF in {}: {stdout}", path.display());
    let mut counts = BTreeMap::new();
    for line in stdout.lines() {
        let mut parts = line.split_whitespace();
        if let (Some(name), Some(count)) = (parts.next(), parts.next())
            && let Ok(n) = count.split('(').next().unwrap_or("").parse::<u64>()
        {
            counts.insert(name.to_owned(), n);
        }
    }
    assert!(counts.contains_key("obj") && counts.contains_key("/JS"), "pdfid listed no counts: {stdout}");
    counts
}

/// The oracles of the PDF tests: qpdf, poppler and pdfid.
fn pdf_oracles() -> bool {
    tool("qpdf") && tool("pdftoppm") && tool("pdfinfo") && tool("pdftotext") && python_modules("pdfid")
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

/// The checks every sanitized PDF passes: no active name left (pdfid on
/// the output and on its qpdf rewrite), qpdf accepts it whenever it
/// accepted the input, same page count, renders wherever the input did.
fn assert_pdf_output(file: &str, input: &Path, out: &Path, report: &sekisho::report::Report, work: &Path) {
    let output = std::fs::read(out).unwrap();
    let qdf = work.join(format!("{file}.qdf.pdf"));
    let rewrite = Command::new("qpdf").args(["--qdf", "--object-streams=disable"]).arg(out).arg(&qdf).status().unwrap();
    assert_ne!(rewrite.code(), Some(2), "{file}: qpdf cannot rewrite the output");
    let attachments_back = report.children.iter().any(|c| c.outcome.passed());
    for (variant, bytes, counts) in [("raw", output, pdfid(out)), ("qdf", std::fs::read(&qdf).unwrap(), pdfid(&qdf))] {
        let checked = REMOVED_NAMES.iter().chain(if attachments_back { &[][..] } else { &ATTACHMENT_NAMES[..] });
        for name in checked {
            if counts.get(*name).copied().unwrap_or(0) > 0 {
                // pdfid counts raw bytes; only names outside stream data are objects.
                assert_eq!(names_outside_streams(&bytes, name), 0, "{file} ({variant}): {name} survived");
            }
        }
    }
    // qpdf accepts the output whenever it accepted the input.
    let input_ok = Command::new("qpdf").arg("--check").arg(input).output().unwrap().status.code() != Some(2);
    let output_check = Command::new("qpdf").arg("--check").arg(out).output().unwrap();
    if input_ok {
        assert_ne!(output_check.status.code(), Some(2), "{file}: {}", String::from_utf8_lossy(&output_check.stdout));
    }
    // Same number of pages, and the output renders wherever the input did.
    if let Some(count) = pages(input) {
        assert_eq!(Some(count), pages(out), "{file}: page count");
    }
    if renders(input, work) {
        assert!(renders(out, work), "{file}: the output does not render");
    }
}

#[test]
fn a_pdf_with_javascript_and_a_launch_action_comes_out_inert_and_readable() {
    if !pdf_oracles() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let input = work.path().join("js.pdf");
    std::fs::write(&input, kit::pdf::with_javascript()).unwrap();
    // The oracle sees what the fixture is for.
    let before = pdfid(&input);
    for name in ["/JS", "/JavaScript", "/OpenAction", "/Launch"] {
        assert!(before.get(name).copied().unwrap_or(0) > 0, "the fixture has no {name}: {before:?}");
    }
    let result = sanitize_file(engine(), &input, &Policy::default());
    assert_eq!(result.report.outcome, Outcome::Sanitized, "{:#?}", result.report);
    for class in [Class::Scripts, Class::AutoActions, Class::ExternalActions] {
        assert!(
            result.report.items.iter().any(|i| i.class == class.name()),
            "{class:?} not reported: {:#?}",
            result.report
        );
    }
    let out = work.path().join("js.out.pdf");
    std::fs::write(&out, result.output.as_ref().unwrap()).unwrap();
    assert_pdf_output("js.pdf", &input, &out, &result.report, work.path());
    // Nothing was active in the text: it is all still there.
    assert_eq!(pdftotext(&input), pdftotext(&out), "the text changed");
    assert_eq!(pages(&out), Some(3));
}

#[test]
fn every_corpus_pdf_ends_with_a_precise_outcome_and_no_active_names() {
    let Some(corpus) = corpus!() else { return };
    if !pdf_oracles() {
        return;
    }
    let baseline = baseline(&corpus);
    let work = tempfile::tempdir().unwrap();
    let mut passed = 0;
    for path in corpus.files("pdf") {
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
        let out = work.path().join(&file);
        std::fs::write(&out, result.output.as_ref().unwrap()).unwrap();
        assert_pdf_output(&file, &path, &out, report, work.path());
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
    let Some(corpus) = corpus!() else { return };
    assert_idempotent_and_deterministic(&corpus, "pdf", &Policy::default(), false);
}

#[test]
fn a_generated_pdf_is_idempotent_and_deterministic() {
    for (name, pdf) in [
        ("js.pdf", kit::pdf::with_javascript()),
        ("attached.pdf", kit::pdf::with_attachments(&[("notes.txt", b"a,b\n=1+1,2\n")])),
    ] {
        let first = sanitize_bytes(engine(), name, &pdf, &Policy::default());
        let output = first.output.unwrap_or_else(|| panic!("{name}: {:#?}", first.report));
        let again = sanitize_bytes(engine(), name, &pdf, &Policy::default());
        assert_eq!(again.output.as_ref(), Some(&output), "{name} is not deterministic");
        let second = sanitize_bytes(engine(), name, &output, &Policy::default());
        assert_eq!(second.output.as_ref(), Some(&output), "{name} is not idempotent: {:#?}", second.report);
    }
}

#[test]
fn attachments_go_through_their_own_plugins() {
    // A text attachment is rebuilt by the text plugin and put back.
    let pdf = kit::pdf::with_attachments(&[("notes.csv", b"name,total\nalpha,=1+1\n")]);
    let result = sanitize_bytes(engine(), "attached.pdf", &pdf, &Policy::default());
    assert_eq!(result.report.outcome, Outcome::Sanitized, "{:#?}", result.report);
    let child = &result.report.children[0];
    assert_eq!(child.plugin.as_ref().unwrap().name, "text");
    assert_eq!(child.outcome, Outcome::Sanitized, "the formula cell is neutralized: {child:#?}");
    assert!(child.output.is_some(), "{child:#?}");
    let output = result.output.unwrap();
    assert!(names_outside_streams(&output, "/EmbeddedFiles") > 0, "the rebuilt attachment is put back");
    // Files no plugin reads are children too, unsupported, and removed.
    let elf = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0 a program".to_vec();
    let pdf = kit::pdf::with_attachments(&[("tool", &elf), ("clip.bin", &[0u8, 1, 2, 3, 0xFF, 0xFE][..])]);
    let result = sanitize_bytes(engine(), "programs.pdf", &pdf, &Policy::default());
    assert_eq!(result.report.outcome, Outcome::Sanitized, "{:#?}", result.report);
    assert_eq!(result.report.children.len(), 2, "{:#?}", result.report.children);
    assert!(result.report.children.iter().all(|c| c.outcome == Outcome::Unsupported), "{:#?}", result.report.children);
    let output = result.output.unwrap();
    assert!(!output.windows(4).any(|w| w == b"\x7fELF"), "the program is not in the output");
    assert_eq!(names_outside_streams(&output, "/EmbeddedFiles"), 0, "no attachment is left");
}

#[test]
fn attachments_in_the_corpus_go_through_their_own_plugins() {
    let Some(corpus) = corpus!() else { return };
    let path = corpus.file("pdf", "pdfjs__multimedia_annotations.pdf");
    let result = sanitize_file(engine(), &path, &Policy::default());
    assert_eq!(result.report.outcome, Outcome::Sanitized);
    assert!(result.report.children.iter().all(|c| c.outcome == Outcome::Unsupported), "{:#?}", result.report.children);
    assert!(!result.report.children.is_empty());
    let path = corpus.file("pdf", "pdfjs__attachment.pdf");
    let result = sanitize_file(engine(), &path, &Policy::default());
    let child = &result.report.children[0];
    assert_eq!(child.plugin.as_ref().unwrap().name, "text");
    assert!(child.outcome.passed());
}

/// A JPEG drawn on a page goes through the image plugin: its comment is
/// gone, it still decodes at its size, and the report has it as a child.
#[test]
fn jpeg_images_inside_a_pdf_are_rebuilt_by_the_image_plugin() {
    let photo = kit::fixtures::jpeg_with_comment(48, 32, "GPS 35.6895N 139.6917E, site photo");
    let pdf = kit::pdf::with_jpeg(&photo, 48, 32);
    let result = sanitize_bytes(engine(), "site.pdf", &pdf, &Policy::default());
    assert_eq!(result.report.outcome, Outcome::Sanitized, "{}", result.report.summary());
    let output = result.output.unwrap();
    assert!(!String::from_utf8_lossy(&output).contains("GPS 35.6895N"), "the comment is gone");
    let child = result.report.children.iter().find(|c| c.input.name == "image-5-0.jpg").expect("a child report");
    assert_eq!(child.plugin.as_ref().map(|p| p.name.as_str()), Some("image"));
    // The rebuilt JPEG is in the PDF as it is (DCTDecode): find it and decode it.
    let start = output.windows(3).position(|w| w == b"\xFF\xD8\xFF").expect("a JPEG in the output");
    let end = output[start..].windows(2).rposition(|w| w == b"\xFF\xD9").unwrap() + start + 2;
    assert_eq!(kit::fixtures::picture_size(&output[start..end]), Some((48, 32)));

    let keep =
        engine().admit(Policy::from_toml("[options]\nembedded-images = \"keep\"\n", "keep.toml").unwrap()).unwrap();
    let kept = sanitize_bytes(engine(), "site.pdf", &pdf, &keep);
    assert!(String::from_utf8_lossy(kept.output.as_deref().unwrap()).contains("GPS 35.6895N"));
    assert!(kept.report.children.is_empty());
}

/// The JPEG images of a PDF (image XObjects whose only filter is
/// `/DCTDecode`), as qpdf reads them: its object list (JSON) and each
/// stream's raw data.
fn jpegs_of(pdf: &Path) -> Vec<Vec<u8>> {
    let listing = Command::new("qpdf")
        .args(["--json=2", "--json-key=qpdf", "--json-stream-data=none"])
        .arg(pdf)
        .output()
        .unwrap();
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(&listing.stdout) else { return Vec::new() };
    let Some(objects) = json["qpdf"][1].as_object() else { return Vec::new() };
    let dct = |filter: &serde_json::Value| {
        filter == "/DCTDecode" || filter.as_array().is_some_and(|f| f.len() == 1 && f[0] == "/DCTDecode")
    };
    objects
        .iter()
        .filter(|(_, o)| o["stream"]["dict"]["/Subtype"] == "/Image" && dct(&o["stream"]["dict"]["/Filter"]))
        .filter_map(|(key, _)| {
            let number = key.strip_prefix("obj:")?.split_whitespace().next()?;
            let raw = Command::new("qpdf")
                .arg(format!("--show-object={number}"))
                .arg("--raw-stream-data")
                .arg(pdf)
                .output()
                .ok()?;
            raw.status.success().then_some(raw.stdout)
        })
        .collect()
}

/// Every JPEG drawn in a rebuilt corpus PDF, as qpdf reads it and
/// exiftool sees it: no metadata left.
#[test]
fn jpeg_images_inside_corpus_pdfs_lose_their_metadata() {
    let Some(corpus) = corpus!() else { return };
    if !tool("exiftool") || !tool("qpdf") {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let mut pictures = Vec::new();
    for (n, input) in corpus.files("pdf").into_iter().enumerate() {
        let result = sanitize_file(engine(), &input, &Policy::default());
        let Some(output) = result.output.filter(|_| result.report.outcome.passed()) else { continue };
        let rebuilt = work.path().join(format!("{n}.pdf"));
        std::fs::write(&rebuilt, output).unwrap();
        for (side, pdf) in [("in", input.as_path()), ("out", rebuilt.as_path())] {
            for (i, jpeg) in jpegs_of(pdf).into_iter().enumerate() {
                let file = work.path().join(format!("{side}-{n}-{i}.jpg"));
                std::fs::write(&file, jpeg).unwrap();
                pictures.push((side, input.clone(), file));
            }
        }
    }
    let files = |side: &str| pictures.iter().filter(|p| p.0 == side).map(|p| p.2.as_path()).collect::<Vec<_>>();
    let (before, after) = (files("in"), files("out"));
    assert!(!after.is_empty(), "the corpus PDFs draw JPEGs");
    for (file, tags) in after.iter().zip(exiftool_tags(&after)) {
        assert!(picture_metadata(&tags).is_empty(), "{} keeps {:?}", file.display(), picture_metadata(&tags));
    }
    let had = exiftool_tags(&before).iter().filter(|t| !picture_metadata(t).is_empty()).count();
    eprintln!(
        "{} JPEGs in the corpus PDFs, {had} with metadata; {} after the rebuild, none with metadata",
        before.len(),
        after.len()
    );
}
