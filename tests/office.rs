//! Office documents (OOXML and ODF) end to end on the corpus, checked by
//! tools that are not ours: olevba, msodde, oleobj, `check_active.py`, and
//! LibreOffice, which must still open every output and show the same text
//! where there was nothing active to remove.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use sekisho::policy::{Class, Policy};
use sekisho::report::{Outcome, ReasonKind, Report};

const FOLDERS: [&str; 4] = ["ooxml", "ole", "odf", "rtf"];

/// Tags of `check_active.py` that may stay because the strict profile
/// rebuilds embedded documents instead of removing them: `ole-embed` must be
/// backed by a child report that passed; `odf-object` is an ODF sub-document
/// (`Object 1/`), cleaned in place by the same rules as its parent.
fn rebuilt_embedding(tag: &str, report: &Report) -> bool {
    match tag {
        "ole-embed" => report.children.iter().any(|c| c.outcome.passed()),
        "odf-object" => true,
        _ => false,
    }
}

/// One sanitized corpus file.
struct Done {
    /// Relative to the corpus (`ooxml/poi__x.docm`), the baseline's key.
    key: String,
    input: PathBuf,
    output: PathBuf,
    report: Report,
}

/// Sanitizes every file of a corpus folder with the strict profile and
/// writes the outputs to `dir` under unique stems (`name-docm.docx`).
fn sanitize_folder(folder: &str, dir: &Path) -> Vec<Done> {
    let mut done = Vec::new();
    for input in corpus_files(folder) {
        let file = input.file_name().unwrap().to_str().unwrap().to_owned();
        let result = sanitize_file(engine(), &input, &Policy::default());
        let report = result.report;
        match report.outcome {
            Outcome::Clean | Outcome::Sanitized => {}
            Outcome::Failed => {
                let kind = report.reason.as_ref().unwrap().kind;
                assert!(matches!(kind, ReasonKind::InvalidStructure | ReasonKind::Encrypted), "{file}: {report:#?}");
                continue;
            }
            // What cannot be removed from a binary record stream is refused, with its class.
            Outcome::Blocked => {
                let reason = report.reason.as_ref().unwrap();
                assert!(reason.class.is_some() && !reason.detail.is_empty(), "{file}: {report:#?}");
                continue;
            }
            other => panic!("{file}: {other:?} {report:#?}"),
        }
        let (stem, ext) = file.rsplit_once('.').unwrap();
        let extension = &report.output.as_ref().unwrap().extension;
        let output = dir.join(format!("{stem}-{ext}.{extension}"));
        std::fs::write(&output, result.output.unwrap()).unwrap();
        done.push(Done { key: format!("{folder}/{file}"), input, output, report });
    }
    done
}

fn oracles_available() -> bool {
    let magic = Command::new("python3").args(["-c", "import magic, oletools"]).status().is_ok_and(|s| s.success());
    if !magic {
        assert!(std::env::var_os("SEKISHO_REQUIRE_ORACLES").is_none(), "python3 with oletools is required");
        eprintln!("skipping: python3 with python-magic and oletools is not installed");
    }
    magic && tool("olevba") && tool("msodde") && tool("oleobj") && tool("rtfobj")
}

#[test]
fn no_active_content_survives_in_office_documents() {
    if !oracles_available() {
        return;
    }
    let baseline = baseline();
    for folder in FOLDERS {
        let work = tempfile::tempdir().unwrap();
        let done = sanitize_folder(folder, work.path());
        // Files rebuilt today (the others are refused with a reason, checked
        // above): fewer means a regression.
        let expected = match folder {
            "ooxml" => 39,
            "ole" => 14,
            "odf" => 10,
            _ => 8,
        };
        assert!(done.len() >= expected, "{folder}: only {} files passed", done.len());
        let outputs: Vec<&Path> = done.iter().map(|d| d.output.as_path()).collect();
        let tags = check_active(&outputs, work.path());
        for file in &done {
            let before = baseline.get(&file.key).unwrap_or_else(|| panic!("{} is not in the baseline", file.key));
            let after = &tags[&file.output];
            for tag in after.iter().filter(|t| before.contains(t)) {
                assert!(rebuilt_embedding(tag, &file.report), "{}: {tag} survived: {:#?}", file.key, file.report.items);
            }
            match folder {
                "ooxml" | "ole" => assert_office_oracles_find_nothing(&file.key, &file.output),
                "rtf" => assert_rtf_oracles_find_nothing(&file.key, &file.output),
                _ => {}
            }
        }
    }
}

/// olevba finds no VBA or XLM, msodde no DDE link, oleobj nothing to
/// extract and no external relationship.
fn assert_office_oracles_find_nothing(key: &str, output: &Path) {
    let olevba = Command::new("olevba").arg("--json").arg(output).output().unwrap();
    let results: serde_json::Value = serde_json::from_slice(&olevba.stdout).unwrap();
    for entry in results.as_array().unwrap() {
        let macros = entry["macros"].as_array().map_or(0, Vec::len);
        assert_eq!(macros, 0, "{key}: olevba finds macros: {entry}");
    }
    let msodde = Command::new("msodde").arg("-j").arg(output).output().unwrap();
    let messages: serde_json::Value = serde_json::from_slice(&msodde.stdout).unwrap();
    let messages: Vec<&str> = messages.as_array().unwrap().iter().filter_map(|m| m["msg"].as_str()).collect();
    let links = messages.iter().position(|m| *m == "DDE Links:").map(|i| &messages[i + 1..]).unwrap_or_default();
    // msodde lists every field; mail merge and page fields are not DDE.
    let dde = |text: &&str| {
        text.split(|c: char| !c.is_ascii_alphanumeric())
            .any(|w| matches!(w.to_ascii_uppercase().as_str(), "DDE" | "DDEAUTO"))
    };
    assert!(!links.iter().any(dde), "{key}: msodde finds {links:?}");
    let extracted = tempfile::tempdir().unwrap();
    let oleobj = Command::new("oleobj").arg("-d").arg(extracted.path()).arg(output).output().unwrap();
    let listing = String::from_utf8_lossy(&oleobj.stdout);
    assert!(!listing.contains("external link"), "{key}: oleobj lists {listing}");
    assert_eq!(std::fs::read_dir(extracted.path()).unwrap().count(), 0, "{key}: oleobj extracts objects");
}

/// rtfobj finds no object, msodde no DDE.
fn assert_rtf_oracles_find_nothing(key: &str, output: &Path) {
    let rtfobj = Command::new("rtfobj").arg(output).output().unwrap();
    let listing = String::from_utf8_lossy(&rtfobj.stdout);
    // Its table has one row per object, starting with the object's number.
    let objects = listing.lines().filter(|l| l.split('|').next().is_some_and(|id| id.trim().parse::<u32>().is_ok()));
    assert_eq!(objects.count(), 0, "{key}: rtfobj lists {listing}");
    let msodde = Command::new("msodde").arg(output).output().unwrap();
    let text = String::from_utf8_lossy(&msodde.stdout);
    let links = text.split("DDE Links:").nth(1).unwrap_or_default();
    assert!(!links.to_ascii_uppercase().contains("DDE"), "{key}: msodde finds {links}");
}

/// Converts `files` to PDF with LibreOffice, in one run with its own profile.
fn libreoffice_pdfs(files: &[&Path], dir: &Path) -> PathBuf {
    let out = dir.join("pdf");
    let profile = dir.join("profile");
    let status = Command::new("soffice")
        .arg(format!("-env:UserInstallation=file://{}", profile.display()))
        .args(["--headless", "--convert-to", "pdf", "--outdir"])
        .arg(&out)
        .args(files)
        .output()
        .unwrap();
    assert!(status.status.success(), "soffice: {}", String::from_utf8_lossy(&status.stderr));
    out
}

fn pdf_text(pdf: &Path) -> String {
    let out = Command::new("pdftotext").arg(pdf).arg("-").output().unwrap();
    assert!(out.status.success(), "pdftotext {}", pdf.display());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn office_documents_still_open_and_keep_their_text() {
    if !(tool("soffice") && tool("pdftotext")) {
        return;
    }
    let baseline = baseline();
    for folder in FOLDERS {
        let work = tempfile::tempdir().unwrap();
        let done = sanitize_folder(folder, work.path());
        let outputs: Vec<&Path> = done.iter().map(|d| d.output.as_path()).collect();
        let pdfs = libreoffice_pdfs(&outputs, work.path());
        // The inputs, under the same unique stems.
        let inputs = work.path().join("inputs");
        std::fs::create_dir_all(&inputs).unwrap();
        let copies: Vec<PathBuf> = done
            .iter()
            .map(|file| {
                let stem = file.output.file_stem().unwrap().to_str().unwrap();
                let copy = inputs.join(format!("{stem}.{}", file.input.extension().unwrap().to_str().unwrap()));
                std::fs::copy(&file.input, &copy).unwrap();
                copy
            })
            .collect();
        let input_pdfs = libreoffice_pdfs(&copies.iter().map(PathBuf::as_path).collect::<Vec<_>>(), &inputs);
        let pdf_of =
            |dir: &Path, file: &Done| dir.join(format!("{}.pdf", file.output.file_stem().unwrap().to_str().unwrap()));
        for file in &done {
            // The output opens wherever the input did (a few corpus files are
            // broken for LibreOffice itself).
            if pdf_of(&input_pdfs, file).is_file() {
                assert!(pdf_of(&pdfs, file).is_file(), "{}: LibreOffice cannot open the output", file.key);
            }
        }
        let mut compared = Vec::new();
        for (file, copy) in done.iter().zip(&copies) {
            // Removing active content keeps what the document shows (a field's
            // result, an object's preview); accepting tracked changes does not,
            // nor does neutralizing a MACROBUTTON, whose label is in its code,
            // or removing an XLM macro sheet, which LibreOffice shows as a sheet.
            let changes_text = file.report.items.iter().any(|i| {
                matches!(i.class, Class::Revisions | Class::Comments)
                    || i.detail.starts_with("MACROBUTTON")
                    || i.detail.contains("macro sheet")
            });
            if !changes_text {
                compared.push((file, copy));
            }
        }
        for (file, copy) in &compared {
            let stem = copy.file_stem().unwrap().to_str().unwrap();
            let before = input_pdfs.join(format!("{stem}.pdf"));
            if !before.is_file() {
                continue;
            }
            let (before, after) = (pdf_text(&before), pdf_text(&pdfs.join(format!("{stem}.pdf"))));
            if baseline[&file.key].is_empty() {
                assert_eq!(before, after, "{}: the text changed", file.key);
            } else {
                // An object's preview may now show text the live object did
                // not, and removed controls may let the layout move lines.
                let mut left: Vec<&str> = after.lines().collect();
                let lost: Vec<&str> = before
                    .lines()
                    .filter(|line| !line.trim().is_empty() && !is_error_value(line))
                    .filter(|line| match left.iter().position(|l| l == line) {
                        Some(i) => {
                            left.swap_remove(i);
                            false
                        }
                        None => true,
                    })
                    .collect();
                assert!(lost.is_empty(), "{}: text lost: {lost:?}", file.key);
            }
        }
        assert!(compared.len() * 2 > done.len(), "{folder}: only {} documents had their text compared", compared.len());
    }
}

/// A spreadsheet error (`#NAME?`, `#REF!`): a cut external reference shows
/// its cached error where LibreOffice recomputed another.
fn is_error_value(line: &str) -> bool {
    let line = line.trim();
    line.starts_with('#') && (line.ends_with('!') || line.ends_with('?') || line == "#N/A")
}

#[test]
fn office_documents_are_idempotent_and_deterministic() {
    for folder in FOLDERS {
        assert_idempotent_and_deterministic(folder, &Policy::default(), false);
    }
}

#[test]
fn the_workbook_in_a_word_document_is_rebuilt_by_its_plugin() {
    let path = corpus("ooxml").join("poi__WordWithAttachments.docx");
    let result = sanitize_file(engine(), &path, &Policy::default());
    let workbooks: Vec<&Report> =
        result.report.children.iter().filter(|c| c.input.format.as_deref() == Some("xlsx")).collect();
    assert!(!workbooks.is_empty(), "{:#?}", result.report.children);
    for child in workbooks {
        assert!(child.outcome.passed(), "{child:#?}");
        assert_eq!(child.plugin.as_ref().unwrap().name, "ooxml");
    }
    let names = zip_names(result.output.as_ref().unwrap());
    assert!(names.iter().any(|n| n.starts_with("word/embeddings/") && n.ends_with(".xlsx")), "{names:?}");
}

#[test]
fn macro_enabled_documents_get_the_macro_free_extension() {
    // testPPT.ppsm is macro-enabled without a VBA project: only its type changes.
    for (file, extension, had_macros) in [
        ("poi__SimpleMacro.docm", "docx", true),
        ("poi__testPPT.ppsm", "ppsx", false),
        ("poi__SimpleMacro.xlsm", "xlsx", true),
    ] {
        let result = sanitize_file(engine(), &corpus("ooxml").join(file), &Policy::default());
        let output = result.report.output.as_ref().unwrap_or_else(|| panic!("{file}: {:#?}", result.report));
        assert_eq!(output.extension, extension, "{file}");
        assert_eq!(result.report.items.iter().any(|i| i.class == Class::Macros), had_macros, "{file}");
    }
    let keep = Policy::profile("keep-macros").unwrap();
    let result = sanitize_file(engine(), &corpus("ooxml").join("poi__SimpleMacro.docm"), &keep);
    assert_eq!(result.report.output.as_ref().unwrap().extension, "docm");
}

#[test]
fn binary_workbooks_are_refused_with_a_reason() {
    let types = r#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Override PartName="/xl/workbook.bin" ContentType="application/vnd.ms-excel.sheet.binary.macroEnabled.main"/></Types>"#;
    let xlsb = make_zip(&[("[Content_Types].xml", types.as_bytes()), ("xl/workbook.bin", b"\x83\x01\x00")]);
    let result = sanitize_bytes(engine(), "book.xlsb", &xlsb, &Policy::default());
    assert!(!result.report.outcome.passed(), "{:#?}", result.report);
    assert!(result.output.is_none());
    assert!(result.report.reason.as_ref().unwrap().detail.contains("xlsb"), "{:#?}", result.report);
}
