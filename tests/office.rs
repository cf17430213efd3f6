//! Office documents (OOXML, ODF, binary Office, RTF) end to end: generated
//! documents for each behaviour, and the corpus when `SEKISHO_CORPUS` names
//! it, checked by tools that are not ours: olevba, msodde, oleobj,
//! `check_active.py`, and LibreOffice, which must still open every output
//! and show the same text where there was nothing active to remove.

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
fn sanitize_folder(corpus: &Corpus, folder: &str, dir: &Path) -> Vec<Done> {
    let mut done = Vec::new();
    for input in corpus.files(folder) {
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
    python_modules("magic, oletools") && tool("olevba") && tool("msodde") && tool("oleobj") && tool("rtfobj")
}

#[test]
fn no_active_content_survives_in_office_documents() {
    let Some(corpus) = corpus!() else { return };
    if !oracles_available() {
        return;
    }
    let baseline = baseline(&corpus);
    let oracle = corpus.oracle("check_active.py");
    for folder in FOLDERS {
        let work = tempfile::tempdir().unwrap();
        let done = sanitize_folder(&corpus, folder, work.path());
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
        let tags = check_active(&oracle, &outputs, work.path());
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

/// Runs an oletools program; it must have run and read the file (exit
/// status without its error bits, and its banner): an oracle that failed
/// says nothing about the file.
fn oletool(program: &str, args: &[&str], file: &Path) -> std::process::Output {
    let output = Command::new(program).args(args).arg(file).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(
        text.contains(&format!("{program} ")) || text.contains("\"script_name\""),
        "{program} did not run on {}: {text}",
        file.display()
    );
    output
}

/// olevba lists macros, msodde DDE links, oleobj objects and external
/// links: (macros, DDE links, oleobj's listing, files oleobj extracted).
fn office_oracles(output: &Path) -> (usize, Vec<String>, String, usize) {
    let olevba = oletool("olevba", &["--json"], output);
    let results: serde_json::Value = serde_json::from_slice(&olevba.stdout).unwrap();
    let mut macros = 0;
    for entry in results.as_array().unwrap() {
        if entry["type"] == "error" {
            panic!("olevba failed on {}: {entry}", output.display());
        }
        macros += entry["macros"].as_array().map_or(0, Vec::len);
    }
    let msodde = oletool("msodde", &["-j"], output);
    let messages: serde_json::Value = serde_json::from_slice(&msodde.stdout).unwrap();
    let messages: Vec<&str> = messages.as_array().unwrap().iter().filter_map(|m| m["msg"].as_str()).collect();
    assert!(messages.contains(&"DDE Links:"), "msodde did not read {}: {messages:?}", output.display());
    let links = messages.iter().position(|m| *m == "DDE Links:").map(|i| &messages[i + 1..]).unwrap_or_default();
    // msodde lists every field; mail merge and page fields are not DDE.
    let dde = |text: &&&str| {
        text.split(|c: char| !c.is_ascii_alphanumeric())
            .any(|w| matches!(w.to_ascii_uppercase().as_str(), "DDE" | "DDEAUTO"))
    };
    let dde_links = links.iter().filter(dde).map(|l| l.to_string()).collect();
    let extracted = tempfile::tempdir().unwrap();
    let oleobj = Command::new("oleobj").arg("-d").arg(extracted.path()).arg(output).output().unwrap();
    // oleobj's exit status: 0 nothing found, 1 dumped; 2, 4, 8 are errors.
    assert!(
        matches!(oleobj.status.code(), Some(0 | 1)),
        "oleobj failed on {}: {}{}",
        output.display(),
        String::from_utf8_lossy(&oleobj.stdout),
        String::from_utf8_lossy(&oleobj.stderr)
    );
    let listing = String::from_utf8_lossy(&oleobj.stdout).into_owned();
    assert!(listing.contains("oleobj "), "oleobj did not run on {}: {listing}", output.display());
    let files = std::fs::read_dir(extracted.path()).unwrap().count();
    (macros, dde_links, listing, files)
}

/// olevba finds no VBA or XLM, msodde no DDE link, oleobj nothing to
/// extract and no external relationship.
fn assert_office_oracles_find_nothing(key: &str, output: &Path) {
    let (macros, dde, listing, extracted) = office_oracles(output);
    assert_eq!(macros, 0, "{key}: olevba finds macros");
    assert!(dde.is_empty(), "{key}: msodde finds {dde:?}");
    assert!(!listing.contains("external link"), "{key}: oleobj lists {listing}");
    assert_eq!(extracted, 0, "{key}: oleobj extracts objects");
}

/// rtfobj finds no object, msodde no DDE.
fn assert_rtf_oracles_find_nothing(key: &str, output: &Path) {
    let rtfobj = oletool("rtfobj", &[], output);
    assert!(rtfobj.status.success(), "rtfobj failed on {key}");
    let listing = String::from_utf8_lossy(&rtfobj.stdout);
    // Its table has one row per object, starting with the object's number.
    let objects = listing.lines().filter(|l| l.split('|').next().is_some_and(|id| id.trim().parse::<u32>().is_ok()));
    assert_eq!(objects.count(), 0, "{key}: rtfobj lists {listing}");
    let msodde = oletool("msodde", &[], output);
    let text = String::from_utf8_lossy(&msodde.stdout);
    assert!(text.contains("DDE Links:"), "msodde did not read {key}: {text}");
    let links = text.split("DDE Links:").nth(1).unwrap_or_default();
    assert!(!links.to_ascii_uppercase().contains("DDE"), "{key}: msodde finds {links}");
}

/// The generated documents: what the oracles find in each, then nothing
/// once it is sanitized, and the type its macros gave it goes with them.
#[test]
fn generated_office_documents_lose_what_the_oracles_find() {
    if !oracles_available() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let word97 = kit::office::WordOptions { macros: true, properties: true, packaged_file: true, encrypted: false };
    let cases: [(&str, Vec<u8>, &str); 3] = [
        ("report.docm", kit::office::docm("Quarterly report"), "docx"),
        ("book.xlsm", kit::office::workbook(&["total", "42"], true), "xlsx"),
        ("letter.doc", kit::office::word97(&kit::office::word_text_with_dde(), word97), "doc"),
    ];
    for (name, data, extension) in cases {
        let input = work.path().join(name);
        std::fs::write(&input, &data).unwrap();
        let (macros, dde, _, extracted) = office_oracles(&input);
        assert!(macros > 0, "{name}: olevba finds no macro in the fixture");
        if name.ends_with(".doc") {
            assert!(!dde.is_empty() && extracted > 0, "{name}: the fixture has no DDE field or packaged file");
        }
        let result = sanitize_file(engine(), &input, &Policy::default());
        assert_eq!(result.report.outcome, Outcome::Sanitized, "{name}: {:#?}", result.report);
        let info = result.report.output.as_ref().unwrap();
        assert_eq!(info.extension, extension, "{name}");
        let output = work.path().join(format!("{name}.clean.{extension}"));
        std::fs::write(&output, result.output.unwrap()).unwrap();
        assert_office_oracles_find_nothing(name, &output);
    }
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
    let Some(corpus) = corpus!() else { return };
    if !(tool("soffice") && tool("pdftotext")) {
        return;
    }
    let baseline = baseline(&corpus);
    for folder in FOLDERS {
        let work = tempfile::tempdir().unwrap();
        let done = sanitize_folder(&corpus, folder, work.path());
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
                [Class::Revisions, Class::Comments].iter().any(|c| i.class == c.name())
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
    let Some(corpus) = corpus!() else { return };
    for folder in FOLDERS {
        assert_idempotent_and_deterministic(&corpus, folder, &Policy::default(), false);
    }
}

#[test]
fn generated_office_documents_are_idempotent_and_deterministic() {
    let word97 = kit::office::WordOptions { macros: true, properties: true, packaged_file: true, encrypted: false };
    for (name, data) in [
        ("report.docm", kit::office::docm("Quarterly report")),
        ("book.xlsm", kit::office::workbook(&["total", "42"], true)),
        ("show.ppsm", kit::office::ppsm_without_macros()),
        ("embedded.docx", kit::office::docx_with_embedded_workbook()),
        ("letter.doc", kit::office::word97(&kit::office::word_text_with_dde(), word97)),
    ] {
        let first = sanitize_bytes(engine(), name, &data, &Policy::default());
        let output = first.output.unwrap_or_else(|| panic!("{name}: {:#?}", first.report));
        let again = sanitize_bytes(engine(), name, &data, &Policy::default());
        assert_eq!(again.output.as_ref(), Some(&output), "{name} is not deterministic");
        let extension = &first.report.output.as_ref().unwrap().extension;
        let second = sanitize_bytes(engine(), &format!("out.{extension}"), &output, &Policy::default());
        assert!(second.report.outcome.passed(), "{name}: {:#?}", second.report);
        assert_eq!(second.output.as_ref(), Some(&output), "{name} is not idempotent");
    }
}

/// The embedded workbook is rebuilt by its own plugin and put back.
fn assert_workbook_rebuilt(result: &sekisho::Sanitized) {
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
fn the_workbook_in_a_word_document_is_rebuilt_by_its_plugin() {
    let data = kit::office::docx_with_embedded_workbook();
    let result = sanitize_bytes(engine(), "embedded.docx", &data, &Policy::default());
    assert!(result.report.outcome.passed(), "{:#?}", result.report);
    assert_workbook_rebuilt(&result);
}

#[test]
fn the_workbook_in_a_corpus_word_document_is_rebuilt_by_its_plugin() {
    let Some(corpus) = corpus!() else { return };
    let path = corpus.file("ooxml", "poi__WordWithAttachments.docx");
    let result = sanitize_file(engine(), &path, &Policy::default());
    assert_workbook_rebuilt(&result);
}

#[test]
fn macro_enabled_documents_get_the_macro_free_extension() {
    // A slide show typed macro-enabled without a VBA project: only its type changes.
    for (file, data, extension, had_macros) in [
        ("report.docm", kit::office::docm("Quarterly report"), "docx", true),
        ("show.ppsm", kit::office::ppsm_without_macros(), "ppsx", false),
        ("book.xlsm", kit::office::workbook(&["total", "42"], true), "xlsx", true),
    ] {
        let result = sanitize_bytes(engine(), file, &data, &Policy::default());
        let output = result.report.output.as_ref().unwrap_or_else(|| panic!("{file}: {:#?}", result.report));
        assert_eq!(output.extension, extension, "{file}");
        assert_eq!(result.report.items.iter().any(|i| i.class == Class::Macros.name()), had_macros, "{file}");
        let names = zip_names(result.output.as_ref().unwrap());
        assert!(!names.iter().any(|n| n.ends_with("vbaProject.bin")), "{file}: {names:?}");
    }
    let keep = Policy::profile("keep-macros").unwrap();
    let result = sanitize_bytes(engine(), "report.docm", &kit::office::docm("Quarterly report"), &keep);
    assert_eq!(result.report.output.as_ref().unwrap().extension, "docm");
    assert!(zip_names(result.output.as_ref().unwrap()).iter().any(|n| n.ends_with("vbaProject.bin")));
}

#[test]
fn macro_enabled_corpus_documents_get_the_macro_free_extension() {
    let Some(corpus) = corpus!() else { return };
    // testPPT.ppsm is macro-enabled without a VBA project: only its type changes.
    for (file, extension, had_macros) in [
        ("poi__SimpleMacro.docm", "docx", true),
        ("poi__testPPT.ppsm", "ppsx", false),
        ("poi__SimpleMacro.xlsm", "xlsx", true),
    ] {
        let result = sanitize_file(engine(), &corpus.file("ooxml", file), &Policy::default());
        let output = result.report.output.as_ref().unwrap_or_else(|| panic!("{file}: {:#?}", result.report));
        assert_eq!(output.extension, extension, "{file}");
        assert_eq!(result.report.items.iter().any(|i| i.class == Class::Macros.name()), had_macros, "{file}");
    }
    let keep = Policy::profile("keep-macros").unwrap();
    let result = sanitize_file(engine(), &corpus.file("ooxml", "poi__SimpleMacro.docm"), &keep);
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

/// The VBA source the office plugins hand to the scanners, checked against
/// olevba on every corpus document with macros: the same modules, each
/// decoded from its start (a rule anchored at offset 0 on the
/// `Attribute VB_Name` line every module's source begins with).
#[test]
fn the_vba_source_handed_to_the_scanners_is_the_one_olevba_reads() {
    use sekisho::scan::Scanners;
    use sekisho::scan::yara::YaraRules;
    let Some(corpus) = corpus!() else { return };
    if !oracles_available() {
        return;
    }
    let rules = tempfile::tempdir().unwrap();
    let rule = "rule decoded_source { strings: $a = \"Attribute VB_Name\" condition: $a at 0 }";
    std::fs::write(rules.path().join("probe.yar"), rule).unwrap();
    let scanners = Scanners::none().with_yara(YaraRules::load(rules.path()).unwrap());
    let engine = sekisho::Sekisho::builder().cache_dir(cache_dir()).scanners(scanners).build().unwrap();
    // Macros are kept and only reported: a match would block, so `malware` is `allow` here.
    let policy = Policy::from_toml(
        "extends = \"keep-macros\"\n[classes]\nmalware = \"allow\"\n[scan]\nwhat = \"kept-active\"\n",
        "probe.toml",
    )
    .unwrap();
    let mut checked = 0;
    for folder in ["ooxml", "ole"] {
        for input in corpus.files(folder) {
            let olevba = oletool("olevba", &["--json"], &input);
            let results: serde_json::Value = serde_json::from_slice(&olevba.stdout).unwrap();
            let mut expected: Vec<String> = results
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|entry| entry["macros"].as_array().cloned().unwrap_or_default())
                .filter_map(|m| {
                    m["vba_filename"].as_str().map(|f| f.rsplit_once('.').map_or(f, |(stem, _)| stem).to_owned())
                })
                // Excel 4 macro sheets are not VBA: the plugins do not hand them over.
                .filter(|name| name != "xlm_macro")
                .collect();
            if expected.is_empty() {
                continue;
            }
            expected.sort();
            expected.dedup();
            let report = sanitize_file(&engine, &input, &policy).report;
            let mut decoded: Vec<String> = reports_of(&report)
                .into_iter()
                .flat_map(|r| r.scans.iter())
                .filter(|s| s.matches.iter().any(|m| m == "probe.decoded_source"))
                .filter_map(|s| s.location.rsplit_once('/').map(|(_, module)| module.to_owned()))
                .collect();
            decoded.sort();
            decoded.dedup();
            assert_eq!(decoded, expected, "{}: {:#?}", input.display(), report.scans);
            checked += 1;
        }
    }
    assert!(checked >= 5, "only {checked} corpus documents with macros");
}

/// A report and the reports of every embedded file.
fn reports_of(report: &Report) -> Vec<&Report> {
    let mut all = vec![report];
    for child in &report.children {
        all.extend(reports_of(child));
    }
    all
}

/// A picture inside a Word document goes through the image plugin: the
/// text chunk a photo tool left (a position here) is gone, the picture
/// still decodes at its size, and the report has it as a child. With
/// `embedded-images = "keep"` it stays byte for byte.
#[test]
fn pictures_inside_documents_are_rebuilt_by_the_image_plugin() {
    const IMAGE: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/image";
    let photo = kit::fixtures::png_with_text(40, 30, "Comment", "GPS 35.6895N 139.6917E, taken at the site");
    let docx = kit::office::docx(
        &kit::office::paragraph("Site report"),
        &[("rId7", IMAGE, "media/photo.png")],
        &[("word/media/photo.png", &photo)],
        &[("png", "image/png")],
    );
    let member = |data: &[u8]| {
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(data)).unwrap();
        let mut file = archive.by_name("word/media/photo.png").expect("the picture stays");
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut file, &mut bytes).unwrap();
        bytes
    };

    let rebuilt = sanitize_bytes(engine(), "report.docx", &docx, &Policy::default());
    assert_eq!(rebuilt.report.outcome, Outcome::Sanitized, "{}", rebuilt.report.summary());
    let picture = member(rebuilt.output.as_deref().unwrap());
    assert!(!picture.windows(4).any(|w| w == b"tEXt") && !String::from_utf8_lossy(&picture).contains("GPS"));
    assert_eq!(kit::fixtures::picture_size(&picture), Some((40, 30)), "the picture still decodes at its size");
    let child = rebuilt.report.children.iter().find(|c| c.input.name == "photo.png").expect("a child report");
    assert_eq!(child.plugin.as_ref().map(|p| p.name.as_str()), Some("image"));
    assert!(rebuilt.report.items.iter().any(|i| i.class == "metadata" && i.location == "pictures"));

    let keep = Policy::from_toml("[options]\nembedded-images = \"keep\"\n", "keep.toml").unwrap();
    let kept = sanitize_bytes(engine(), "report.docx", &docx, &engine().admit(keep).unwrap());
    assert_eq!(member(kept.output.as_deref().unwrap()), photo);
    assert!(kept.report.children.is_empty());
}

/// Every raster picture inside every rebuilt corpus OOXML, ODF and RTF document, as
/// exiftool sees it: no metadata left, and the same size as in the input.
#[test]
fn pictures_inside_corpus_office_documents_lose_their_metadata() {
    let Some(corpus) = corpus!() else { return };
    if !tool("exiftool") {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    // (label, picture of the input, picture of the output file), each compared and written once.
    let mut pairs: Vec<(String, Vec<u8>, Vec<u8>)> = Vec::new();
    for input in corpus.files("ooxml").into_iter().chain(corpus.files("odf")) {
        let result = sanitize_file(engine(), &input, &Policy::default());
        let Some(output) = result.output.filter(|_| result.report.outcome.passed()) else { continue };
        let source = std::fs::read(&input).unwrap();
        let (before, after) = (zip_members(&source), zip_members(&output));
        let picture = |(name, data): &&(String, Vec<u8>)| {
            (name.contains("/media/") || name.contains("Pictures/")) && sekisho_plugin_sdk::pictures::is_raster(data)
        };
        for (name, data) in after.iter().filter(picture) {
            let original = &before.iter().find(|(n, _)| n == name).expect("a picture of the input").1;
            let label = format!("{}!{name}", input.file_name().unwrap().to_string_lossy());
            pairs.push((label, original.clone(), data.clone()));
        }
    }
    for input in corpus.files("rtf") {
        let result = sanitize_file(engine(), &input, &Policy::default());
        let Some(output) = result.output.filter(|_| result.report.outcome.passed()) else { continue };
        let (before, after) = (rtf_pictures(&std::fs::read(&input).unwrap()), rtf_pictures(&output));
        assert_eq!(before.len(), after.len(), "{}: every picture stays", input.display());
        for (i, (original, data)) in before.into_iter().zip(after).enumerate() {
            pairs.push((format!("{}!picture {i}", input.file_name().unwrap().to_string_lossy()), original, data));
        }
    }
    let mut pictures = Vec::new();
    for (i, (label, original, data)) in pairs.into_iter().enumerate() {
        assert_eq!(kit::fixtures::picture_size(&data), kit::fixtures::picture_size(&original), "{label}");
        let (inside, outside) = (work.path().join(format!("{i}-in")), work.path().join(format!("{i}-out")));
        std::fs::write(&inside, original).unwrap();
        std::fs::write(&outside, data).unwrap();
        pictures.push((label, inside, outside));
    }
    assert!(pictures.len() >= 5, "only {} pictures in the corpus documents", pictures.len());
    let before = exiftool_tags(&pictures.iter().map(|(_, i, _)| i.as_path()).collect::<Vec<_>>());
    let after = exiftool_tags(&pictures.iter().map(|(_, _, o)| o.as_path()).collect::<Vec<_>>());
    let had = before.iter().filter(|t| !picture_metadata(t).is_empty()).count();
    for ((label, _, _), tags) in pictures.iter().zip(&after) {
        assert!(picture_metadata(tags).is_empty(), "{label} keeps {:?}", picture_metadata(tags));
    }
    eprintln!("{} pictures in corpus documents: {had} carried metadata before, none after", pictures.len());
    assert!(had > 0, "the corpus has pictures with metadata to remove");
}

/// The members of a ZIP package, with their bytes.
fn zip_members(data: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(data)).unwrap();
    (0..archive.len())
        .filter_map(|i| {
            let mut file = archive.by_index(i).ok()?;
            let name = file.name().ok()?.into_owned();
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut file, &mut bytes).ok()?;
            Some((name, bytes))
        })
        .collect()
}

/// A PNG in an RTF `\pict` group goes through the image plugin and comes
/// back as hex without its text chunk; `embedded-images = "keep"` leaves
/// the group as it was.
#[test]
fn pictures_inside_rtf_are_rebuilt_by_the_image_plugin() {
    let photo = kit::fixtures::png_with_text(40, 30, "Comment", "GPS 35.6895N 139.6917E");
    let hex: String = photo.iter().map(|b| format!("{b:02x}")).collect();
    let rtf = format!(
        "{{\\rtf1\\ansi{{\\fonttbl{{\\f0 Arial;}}}}\\f0 Site report\\par{{\\pict\\pngblip\\picw40\\pich30\n{hex}\n}}\\par}}"
    );
    let picture_in = |rtf: &[u8]| {
        let text = String::from_utf8_lossy(rtf);
        let start = text.find("\\pngblip").unwrap();
        let digits: String = text[start..]
            .split_once("\\pich30")
            .unwrap()
            .1
            .chars()
            .take_while(|c| *c != '}')
            .filter(|c| c.is_ascii_hexdigit())
            .collect();
        (0..digits.len()).step_by(2).map(|i| u8::from_str_radix(&digits[i..i + 2], 16).unwrap()).collect::<Vec<u8>>()
    };
    assert_eq!(picture_in(rtf.as_bytes()), photo);
    let rebuilt = sanitize_bytes(engine(), "report.rtf", rtf.as_bytes(), &Policy::default());
    assert_eq!(rebuilt.report.outcome, Outcome::Sanitized, "{}", rebuilt.report.summary());
    let picture = picture_in(rebuilt.output.as_deref().unwrap());
    assert!(!picture.windows(4).any(|w| w == b"tEXt"), "the text chunk is gone");
    assert_eq!(kit::fixtures::picture_size(&picture), Some((40, 30)));
    assert!(rebuilt.report.children.iter().any(|c| c.input.name == "picture.png"));
    let keep =
        engine().admit(Policy::from_toml("[options]\nembedded-images = \"keep\"\n", "keep.toml").unwrap()).unwrap();
    let kept = sanitize_bytes(engine(), "report.rtf", rtf.as_bytes(), &keep);
    assert_eq!(picture_in(kept.output.as_deref().unwrap()), photo);
}

/// The PNG and JPEG pictures of an RTF file (`\\pict` groups with
/// `\\pngblip` or `\\jpegblip`), decoded from their hex: control words and
/// nested groups of the picture group are skipped.
fn rtf_pictures(rtf: &[u8]) -> Vec<Vec<u8>> {
    let text = String::from_utf8_lossy(rtf);
    let mut pictures = Vec::new();
    for (start, _) in text.match_indices("{\\pict") {
        let body = &text.as_bytes()[start + 1..];
        let (mut depth, mut i, mut hex, mut blip) = (0usize, 0, Vec::new(), false);
        while i < body.len() {
            match body[i] {
                b'{' => depth += 1,
                b'}' if depth == 0 => break,
                b'}' => depth -= 1,
                b'\\' if depth == 0 => {
                    let word: String =
                        body[i + 1..].iter().take_while(|b| b.is_ascii_alphabetic()).map(|&b| b as char).collect();
                    blip |= word == "pngblip" || word == "jpegblip";
                    i += 1 + word.len();
                    while i < body.len() && (body[i].is_ascii_digit() || body[i] == b'-') {
                        i += 1;
                    }
                    continue;
                }
                b if depth == 0 && b.is_ascii_hexdigit() => hex.push(b),
                _ => {}
            }
            i += 1;
        }
        if blip && hex.len() % 2 == 0 {
            let digits = String::from_utf8(hex).unwrap();
            pictures.push(
                (0..digits.len()).step_by(2).map(|i| u8::from_str_radix(&digits[i..i + 2], 16).unwrap()).collect(),
            );
        }
    }
    pictures
}
