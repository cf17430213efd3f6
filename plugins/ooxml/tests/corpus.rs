//! The OOXML plugin, natively, on generated packages for each behaviour,
//! and on the shared corpus when `SEKISHO_CORPUS` names it.

use std::collections::BTreeSet;
use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};

use sekisho_plugin_sdk::{
    Action, ContentClass, Disposition, EmbeddedOutcome, EmbeddedRebuilt, EmbeddedRefusal, Embedder, Failure,
    FailureKind, HyperlinkMode, Policy, Rebuilt,
};

use sekisho_testkit::Corpus;
use sekisho_testkit::office::{self, paragraph};

fn corpus_files(corpus: &Corpus) -> Vec<PathBuf> {
    let files = corpus.files("ooxml");
    assert!(files.len() >= 30, "expected the OOXML corpus, found {} files", files.len());
    files
}

/// The host's format id, from the extension (the host detects it from content).
fn format_of(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "docx" | "dotx" => "docx",
        "docm" | "dotm" => "docm",
        "xlsx" | "xltx" => "xlsx",
        "xlsm" | "xltm" => "xlsm",
        "pptx" | "ppsx" | "potx" => "pptx",
        _ => "pptm",
    }
}

/// Rebuilds nested OOXML documents with this plugin, as the host would.
struct Recurse {
    policy: Policy,
    seen: Vec<String>,
}

impl Embedder for Recurse {
    fn sanitize_embedded(&mut self, name: &str, data: &[u8]) -> Result<EmbeddedRebuilt, EmbeddedRefusal> {
        self.seen.push(name.to_owned());
        let format = format_of(Path::new(name));
        if !data.starts_with(b"PK") || !name.contains('.') {
            return Err(EmbeddedRefusal::Unsupported(format!("{name} is not OOXML")));
        }
        let mut out = Vec::new();
        let policy = self.policy.clone();
        match sekisho_ooxml::sanitize(format, Cursor::new(data), &mut out, &policy, self) {
            Ok(rebuilt) => Ok(EmbeddedRebuilt {
                outcome: if rebuilt.findings.is_empty() { EmbeddedOutcome::Clean } else { EmbeddedOutcome::Sanitized },
                extension: rebuilt.format.clone(),
                format: rebuilt.format,
                media_type: "application/octet-stream".into(),
                data: out,
            }),
            Err(failure) => Err(EmbeddedRefusal::Failed(failure.detail)),
        }
    }
}

fn strict() -> Policy {
    let mut policy = Policy::uniform(Action::Sanitize);
    policy.hyperlink_mode = HyperlinkMode::KeepAsText;
    policy
}

fn run(format: &str, data: &[u8], policy: &Policy) -> Result<(Vec<u8>, Rebuilt), Failure> {
    let mut out = Vec::new();
    let mut embedder = Recurse { policy: policy.clone(), seen: Vec::new() };
    let rebuilt = sekisho_ooxml::sanitize(format, Cursor::new(data), &mut out, policy, &mut embedder)?;
    Ok((out, rebuilt))
}

fn members(data: &[u8]) -> Vec<String> {
    let archive = zip::ZipArchive::new(Cursor::new(data)).unwrap();
    archive.file_names().map(|n| n.unwrap().into_owned()).collect()
}

fn member(data: &[u8], name: &str) -> Option<String> {
    let mut archive = zip::ZipArchive::new(Cursor::new(data)).unwrap();
    let mut file = archive.by_name(name).ok()?;
    let mut text = String::new();
    file.read_to_string(&mut text).unwrap();
    Some(text)
}

fn has(rebuilt: &Rebuilt, class: ContentClass) -> bool {
    rebuilt.findings.iter().any(|f| f.class == class)
}

/// Every relationship target exists, every part has a content type, every
/// override names a part, and nothing in the package is left unreferenced.
fn assert_consistent(label: &str, data: &[u8]) {
    let names: BTreeSet<String> = members(data).iter().map(|n| n.to_ascii_lowercase()).collect();
    let types = member(data, "[Content_Types].xml").expect("content types");
    let types_lower = types.to_ascii_lowercase();
    for name in &names {
        if name == "[content_types].xml" || name.ends_with(".rels") {
            continue;
        }
        let ext = name.rsplit('.').next().unwrap();
        let overridden = types_lower.contains(&format!("partname=\"/{name}\""));
        let defaulted = types_lower.contains(&format!("extension=\"{ext}\""));
        assert!(overridden || defaulted, "{label}: {name} has no content type");
    }
    for cap in types_lower.split("partname=\"/").skip(1) {
        let part = cap.split('"').next().unwrap();
        assert!(names.contains(part), "{label}: override for missing part {part}");
    }
    for rels in names.iter().filter(|n| n.ends_with(".rels")) {
        let text = member(data, members(data).iter().find(|n| n.to_ascii_lowercase() == *rels).unwrap()).unwrap();
        let source_dir = rels.trim_end_matches(".rels").rsplit_once("_rels/").map(|(d, _)| d.to_owned()).unwrap();
        for rel in text.split("<Relationship ").skip(1) {
            if rel.contains("TargetMode=\"External\"") {
                continue;
            }
            let target = rel.split("Target=\"").nth(1).unwrap().split('"').next().unwrap();
            let path = if let Some(abs) = target.strip_prefix('/') {
                abs.to_owned()
            } else {
                let mut segments: Vec<&str> =
                    source_dir.trim_end_matches('/').split('/').filter(|s| !s.is_empty()).collect();
                for s in target.split('/') {
                    match s {
                        ".." => {
                            segments.pop();
                        }
                        "." | "" => {}
                        s => segments.push(s),
                    }
                }
                segments.join("/")
            };
            let path = path.replace("%20", " ").to_ascii_lowercase();
            assert!(names.contains(&path), "{label}: {rels} points at missing {path}");
        }
    }
}

#[test]
fn every_corpus_file_is_rebuilt_or_refused_precisely() {
    let Some(corpus) = sekisho_testkit::corpus!() else { return };
    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ooxml-strict");
    std::fs::create_dir_all(&out_dir).unwrap();
    let mut rebuilt_count = 0;
    for path in corpus_files(&corpus) {
        let label = path.file_name().unwrap().to_string_lossy().into_owned();
        let data = std::fs::read(&path).unwrap();
        match run(format_of(&path), &data, &strict()) {
            Ok((out, rebuilt)) => {
                rebuilt_count += 1;
                assert_consistent(&label, &out);
                let lower: Vec<String> = members(&out).iter().map(|n| n.to_ascii_lowercase()).collect();
                for forbidden in [
                    "vbaproject.bin",
                    "vbadata.xml",
                    "/macrosheets/",
                    "/activex/",
                    "oleobject",
                    "connections.xml",
                    "externallink",
                    "docprops/core.xml",
                ] {
                    assert!(!lower.iter().any(|n| n.contains(forbidden)), "{label}: {forbidden} survived");
                }
                let types = member(&out, "[Content_Types].xml").unwrap().to_ascii_lowercase();
                assert!(
                    !types.contains("macroenabled") && !types.contains("vbaproject"),
                    "{label}: still macro-enabled"
                );
                assert!(!rebuilt.format.ends_with('m'), "{label}: format {}", rebuilt.format);
                let stem = path.file_stem().unwrap().to_string_lossy();
                std::fs::write(out_dir.join(format!("{stem}.{}", rebuilt.format)), &out).unwrap();
            }
            Err(failure) => panic!("{label}: refused: {:?} {}", failure.kind, failure.detail),
        }
    }
    assert!(rebuilt_count >= 30);
}

#[test]
fn rebuilding_is_idempotent_and_deterministic() {
    let Some(corpus) = sekisho_testkit::corpus!() else { return };
    for path in corpus_files(&corpus) {
        let label = path.file_name().unwrap().to_string_lossy().into_owned();
        let data = std::fs::read(&path).unwrap();
        let (first, rebuilt) = run(format_of(&path), &data, &strict()).unwrap();
        let (again, _) = run(format_of(&path), &data, &strict()).unwrap();
        assert_eq!(first, again, "{label}: not deterministic");
        let (second, rebuilt_again) = run(&rebuilt.format, &first, &strict()).unwrap();
        assert!(
            rebuilt_again.findings.iter().all(|f| f.class == ContentClass::EmbeddedFiles),
            "{label}: second pass found {:#?}",
            rebuilt_again.findings
        );
        assert_eq!(first, second, "{label}: not idempotent");
    }
}

/// The same checks as the corpus sweep, on one generated package: rebuilt
/// consistent, nothing active left, macro-free, idempotent.
fn assert_rebuilt_clean(label: &str, format: &str, data: &[u8]) -> (Vec<u8>, Rebuilt) {
    let (out, rebuilt) = run(format, data, &strict()).unwrap_or_else(|f| panic!("{label}: {:?} {}", f.kind, f.detail));
    assert_consistent(label, &out);
    let types = member(&out, "[Content_Types].xml").unwrap().to_ascii_lowercase();
    assert!(!types.contains("macroenabled") && !types.contains("vbaproject"), "{label}: still macro-enabled");
    let (again, found) = run(&rebuilt.format, &out, &strict()).unwrap();
    assert_eq!(again, out, "{label}: not idempotent");
    assert!(found.findings.iter().all(|f| f.class == ContentClass::EmbeddedFiles), "{label}: {:#?}", found.findings);
    (out, rebuilt)
}

/// Macros go and the type becomes macro-free; kept under allow, refused under block.
fn assert_macros_follow_the_policy(label: &str, data: &[u8]) {
    let (out, rebuilt) = run("docm", data, &strict()).unwrap();
    assert_eq!(rebuilt.format, "docx", "{label}");
    assert!(
        rebuilt.findings.iter().any(|f| f.class == ContentClass::Macros && f.disposition == Disposition::Removed),
        "{label}"
    );
    assert!(!members(&out).iter().any(|n| n.contains("vbaProject")), "{label}");
    let document = member(&out, "word/document.xml").unwrap();
    assert_eq!(document, member(data, "word/document.xml").unwrap(), "{label}: the text is untouched");
    let keep = strict().with(ContentClass::Macros, Action::Allow);
    let (kept, rebuilt) = run("docm", data, &keep).unwrap();
    assert_eq!(rebuilt.format, "docm", "{label}");
    assert!(members(&kept).iter().any(|n| n.ends_with("vbaProject.bin")), "{label}");
    assert!(rebuilt.findings.iter().any(|f| f.class == ContentClass::Macros && f.disposition == Disposition::Kept));
    let block = strict().with(ContentClass::Macros, Action::Block);
    let failure = run("docm", data, &block).unwrap_err();
    assert_eq!(failure.kind, FailureKind::Blocked(ContentClass::Macros), "{label}");
}

#[test]
fn macros_go_and_the_document_becomes_macro_free() {
    let data = office::docm("Quarterly report");
    assert_macros_follow_the_policy("generated", &data);
    assert_rebuilt_clean("generated docm", "docm", &data);
}

#[test]
fn macros_in_a_corpus_document_go_and_it_becomes_macro_free() {
    let Some(corpus) = sekisho_testkit::corpus!() else { return };
    assert_macros_follow_the_policy("poi__SimpleMacro.docm", &corpus.read("ooxml", "poi__SimpleMacro.docm"));
}

/// A macro-enabled workbook with an Excel 4 macro sheet started by an
/// `Auto_Open` name, beside an ordinary sheet.
fn xlsm_with_macro_sheet() -> Vec<u8> {
    const SHEET: &str = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
    let types = office::content_types(
        &[],
        &[
            ("xl/workbook.xml", "application/vnd.ms-excel.sheet.macroEnabled.main+xml"),
            ("xl/worksheets/sheet1.xml", "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"),
            ("xl/macrosheets/sheet2.xml", "application/vnd.ms-excel.macrosheet+xml"),
        ],
    );
    let root = office::relationships(&[(
        "rId1",
        "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument",
        "xl/workbook.xml",
    )]);
    let rels = office::relationships(&[
        (
            "rId1",
            "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet",
            "worksheets/sheet1.xml",
        ),
        ("rId2", "http://schemas.microsoft.com/office/2006/relationships/xlMacrosheet", "macrosheets/sheet2.xml"),
    ]);
    let workbook = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="{SHEET}" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><bookViews><workbookView activeTab="1"/></bookViews><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/><sheet name="Macro1" sheetId="2" r:id="rId2"/></sheets><definedNames><definedName name="_xlnm.Auto_Open" hidden="1">Macro1!$A$1</definedName></definedNames></workbook>"#
    );
    let sheet = office::worksheet(&["ordinary", "cells"]);
    let macro_sheet = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><xm:macrosheet xmlns="{SHEET}" xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main"><sheetData><row r="1"><c r="A1"><f>EXEC("calc.exe")</f></c></row><row r="2"><c r="A2"><f>HALT()</f></c></row></sheetData></xm:macrosheet>"#
    );
    office::package(&[
        ("[Content_Types].xml", types.as_bytes()),
        ("_rels/.rels", root.as_bytes()),
        ("xl/workbook.xml", workbook.as_bytes()),
        ("xl/_rels/workbook.xml.rels", rels.as_bytes()),
        ("xl/worksheets/sheet1.xml", sheet.as_bytes()),
        ("xl/macrosheets/sheet2.xml", macro_sheet.as_bytes()),
    ])
}

/// The macro sheets and the auto-run names go; the ordinary sheets stay.
fn assert_xlm_removed(label: &str, data: &[u8]) -> Vec<u8> {
    let (out, rebuilt) = run("xlsm", data, &strict()).unwrap();
    assert_eq!(rebuilt.format, "xlsx", "{label}");
    assert!(!members(&out).iter().any(|n| n.contains("macrosheets")), "{label}");
    let workbook = member(&out, "xl/workbook.xml").unwrap();
    assert!(!workbook.to_ascii_lowercase().contains("auto_open"), "{label}: {workbook}");
    assert!(workbook.contains("<sheet "), "{label}: the ordinary sheets stay");
    out
}

#[test]
fn xlm_macro_sheets_and_auto_open_names_go() {
    let out = assert_xlm_removed("generated", &xlsm_with_macro_sheet());
    let workbook = member(&out, "xl/workbook.xml").unwrap();
    assert!(workbook.contains(r#"name="Sheet1""#) && !workbook.contains("Macro1"), "{workbook}");
    assert!(workbook.contains(r#"activeTab="0""#), "the active tab no longer points past the sheets: {workbook}");
    assert_rebuilt_clean("generated xlsm", "xlsm", &xlsm_with_macro_sheet());
}

#[test]
fn xlm_macro_sheets_in_the_corpus_go() {
    let Some(corpus) = sekisho_testkit::corpus!() else { return };
    for file in ["poi__xlmmacro.xlsm", "oletools__excel4_sample_macro.xlsm"] {
        assert_xlm_removed(file, &corpus.read("ooxml", file));
    }
}

/// A Word document with a DDEAUTO field in one simple field and one
/// complex field, each showing a result.
fn docx_with_dde_fields() -> Vec<u8> {
    let body = format!(
        "{}{}{}",
        r#"<w:p><w:fldSimple w:instr=" DDEAUTO c:\windows\system32\cmd.exe &quot;/k calc.exe&quot; "><w:r><w:t>simple result</w:t></w:r></w:fldSimple></w:p>"#,
        r#"<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText xml:space="preserve"> DDE excel "c:\book.xls" "R1C1" </w:instrText></w:r><w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>complex result</w:t></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>"#,
        paragraph("text after the fields"),
    );
    office::docx(&body, &[], &[], &[])
}

/// A workbook linked to another application through DDE (an external link
/// part holding a `ddeLink`), and a cell formula using it.
fn xlsx_with_dde_link() -> Vec<u8> {
    const SHEET: &str = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
    const R: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
    let types = office::content_types(
        &[],
        &[
            ("xl/workbook.xml", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"),
            ("xl/worksheets/sheet1.xml", "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"),
            (
                "xl/externalLinks/externalLink1.xml",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.externalLink+xml",
            ),
        ],
    );
    let root = office::relationships(&[("rId1", &format!("{R}/officeDocument"), "xl/workbook.xml")]);
    let rels = office::relationships(&[
        ("rId1", &format!("{R}/worksheet"), "worksheets/sheet1.xml"),
        ("rId2", &format!("{R}/externalLink"), "externalLinks/externalLink1.xml"),
    ]);
    let workbook = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="{SHEET}" xmlns:r="{R}"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets><externalReferences><externalReference r:id="rId2"/></externalReferences></workbook>"#
    );
    let sheet = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="{SHEET}"><sheetData><row r="1"><c r="A1"><f>[1]!'calc'</f><v>0</v></c><c r="B1" t="inlineStr"><is><t>kept</t></is></c></row></sheetData></worksheet>"#
    );
    let link = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><externalLink xmlns="{SHEET}"><ddeLink ddeService="cmd" ddeTopic="/c calc.exe"><ddeItems><ddeItem name="calc" advise="1"/></ddeItems></ddeLink></externalLink>"#
    );
    office::package(&[
        ("[Content_Types].xml", types.as_bytes()),
        ("_rels/.rels", root.as_bytes()),
        ("xl/workbook.xml", workbook.as_bytes()),
        ("xl/_rels/workbook.xml.rels", rels.as_bytes()),
        ("xl/worksheets/sheet1.xml", sheet.as_bytes()),
        ("xl/externalLinks/externalLink1.xml", link.as_bytes()),
    ])
}

/// DDE fields and DDE links go.
fn assert_dde_neutralized(label: &str, docx: &[u8], xlsx: &[u8]) {
    let (out, rebuilt) = run("docx", docx, &strict()).unwrap();
    assert!(has(&rebuilt, ContentClass::Dde), "{label}: {:#?}", rebuilt.findings);
    let document = member(&out, "word/document.xml").unwrap();
    assert!(!document.contains("DDE"), "{label}: {document}");
    assert!(!document.contains("instrText") && !document.contains("fldSimple"), "{label}: {document}");
    let (out, rebuilt) = run("xlsx", xlsx, &strict()).unwrap();
    assert!(has(&rebuilt, ContentClass::Dde), "{label}: {:#?}", rebuilt.findings);
    assert!(!members(&out).iter().any(|n| n.contains("externalLink")), "{label}");
}

#[test]
fn dde_fields_are_neutralized_and_their_text_stays() {
    assert_dde_neutralized("generated", &docx_with_dde_fields(), &xlsx_with_dde_link());
    let (out, _) = run("docx", &docx_with_dde_fields(), &strict()).unwrap();
    let document = member(&out, "word/document.xml").unwrap();
    for text in ["simple result", "complex result", "text after the fields"] {
        assert!(document.contains(text), "{text} is gone: {document}");
    }
    assert_rebuilt_clean("generated DDE docx", "docx", &docx_with_dde_fields());
    assert_rebuilt_clean("generated DDE xlsx", "xlsx", &xlsx_with_dde_link());
}

#[test]
fn dde_fields_in_the_corpus_are_neutralized() {
    let Some(corpus) = sekisho_testkit::corpus!() else { return };
    assert_dde_neutralized(
        "oletools__dde-test",
        &corpus.read("ooxml", "oletools__dde-test.docx"),
        &corpus.read("ooxml", "oletools__dde-test.xlsx"),
    );
}

/// A Word document with a remote template (in its settings) and a remote
/// picture: both relationships are external.
fn docx_with_external_relationships() -> Vec<u8> {
    const R: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
    let settings = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:settings xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:r="{R}"><w:attachedTemplate r:id="rId1"/></w:settings>"#
    );
    let settings_rels =
        office::relationships(&[("rId1", &format!("{R}/attachedTemplate"), "http://templates.example/t.dotm")]);
    let body = format!(
        "{}{}",
        paragraph("A document with remote parts"),
        r#"<w:p><w:r><w:pict><v:shape xmlns:v="urn:schemas-microsoft-com:vml" style="width:10pt;height:10pt"><v:imagedata r:id="rId7"/></v:shape></w:pict></w:r></w:p>"#
    );
    let docx = office::docx(
        &body,
        &[
            ("rId6", &format!("{R}/settings"), "settings.xml"),
            ("rId7", &format!("{R}/image"), "http://tracker.example/pixel.png"),
        ],
        &[("word/settings.xml", settings.as_bytes()), ("word/_rels/settings.xml.rels", settings_rels.as_bytes())],
        &[],
    );
    retype(
        &docx,
        "</Types>",
        r#"<Override PartName="/word/settings.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.settings+xml"/></Types>"#,
    )
}

/// A workbook whose cell links to a web page.
fn xlsx_with_hyperlink() -> Vec<u8> {
    const SHEET: &str = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
    const R: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
    let book = office::workbook(&["Example site"], false);
    let sheet = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="{SHEET}" xmlns:r="{R}"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>Example site</t></is></c></row></sheetData><hyperlinks><hyperlink ref="A1" r:id="rId1"/></hyperlinks></worksheet>"#
    );
    let rels = office::relationships(&[("rId1", &format!("{R}/hyperlink"), "https://www.example.com/")]);
    replace_members(
        &book,
        &[("xl/worksheets/sheet1.xml", sheet.as_bytes()), ("xl/worksheets/_rels/sheet1.xml.rels", rels.as_bytes())],
    )
}

/// `data` with some members replaced or added.
fn replace_members(data: &[u8], members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut archive = zip::ZipArchive::new(Cursor::new(data)).unwrap();
    let mut all: Vec<(String, Vec<u8>)> = Vec::new();
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).unwrap();
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).unwrap();
        all.push((file.name().unwrap().into_owned(), bytes));
    }
    for (name, bytes) in members {
        match all.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = bytes.to_vec(),
            None => all.push((name.to_string(), bytes.to_vec())),
        }
    }
    let refs: Vec<(&str, &[u8])> = all.iter().map(|(n, d)| (n.as_str(), d.as_slice())).collect();
    office::package(&refs)
}

/// External relationships are cut and reported.
fn assert_external_cut(label: &str, format: &str, data: &[u8]) {
    let (out, rebuilt) = run(format, data, &strict()).unwrap();
    assert!(has(&rebuilt, ContentClass::ExternalLinks), "{label}: {:#?}", rebuilt.findings);
    for name in members(&out).iter().filter(|n| n.ends_with(".rels")) {
        assert!(!member(&out, name).unwrap().contains("TargetMode=\"External\""), "{label}: {name}");
    }
}

/// Hyperlinks go under keep-as-text, stay under keep.
fn assert_hyperlinks_follow_the_mode(label: &str, data: &[u8]) {
    let external = |out: &[u8]| {
        members(out).iter().filter(|n| n.ends_with(".rels")).any(|n| member(out, n).unwrap().contains("External"))
    };
    assert!(external(data), "{label}");
    let (stripped, _) = run("xlsx", data, &strict()).unwrap();
    assert!(!external(&stripped), "{label}");
    let mut keep = strict();
    keep.hyperlink_mode = HyperlinkMode::Keep;
    let (kept, rebuilt) = run("xlsx", data, &keep).unwrap();
    assert!(external(&kept), "{label}");
    assert!(!has(&rebuilt, ContentClass::Hyperlinks), "{label}");
}

#[test]
fn external_relationships_are_cut_and_hyperlinks_follow_the_mode() {
    let docx = docx_with_external_relationships();
    assert_external_cut("generated docx", "docx", &docx);
    let (out, rebuilt) = run("docx", &docx, &strict()).unwrap();
    let details: Vec<&str> = rebuilt.findings.iter().map(|f| f.detail.as_str()).collect();
    assert!(details.iter().any(|d| d.contains("remote template")), "{details:?}");
    assert!(details.iter().any(|d| d.contains("remote image")), "{details:?}");
    assert!(!member(&out, "word/settings.xml").unwrap().contains("attachedTemplate"));
    assert_rebuilt_clean("generated external docx", "docx", &docx);
    assert_hyperlinks_follow_the_mode("generated xlsx", &xlsx_with_hyperlink());
}

#[test]
fn external_relationships_in_the_corpus_are_cut_and_hyperlinks_follow_the_mode() {
    let Some(corpus) = sekisho_testkit::corpus!() else { return };
    for file in [
        "oletools__sample_with_external_link_to_doc.docx",
        "oletools__sample_with_external_link_to_doc.xlsx",
        "oletools__sample_with_external_link_to_doc.pptx",
    ] {
        assert_external_cut(file, format_of(Path::new(file)), &corpus.read("ooxml", file));
    }
    assert_hyperlinks_follow_the_mode(
        "poi__ExcelWithHyperlinks.xlsx",
        &corpus.read("ooxml", "poi__ExcelWithHyperlinks.xlsx"),
    );
}

/// Embedded packages are rebuilt by the host and put back as packages.
fn assert_embedded_packages_kept(label: &str, data: &[u8]) {
    let embedded: Vec<String> = members(data).into_iter().filter(|n| n.contains("embeddings/")).collect();
    let (out, rebuilt) = run("docx", data, &strict()).unwrap();
    let packages: Vec<&String> = embedded.iter().filter(|n| n.ends_with(".xlsx") || n.ends_with(".docx")).collect();
    assert!(!packages.is_empty(), "{label}: {embedded:?}");
    for package in packages {
        let inner = member_bytes(&out, package).unwrap_or_else(|| panic!("{label}: {package} is kept"));
        assert!(members(&inner).contains(&"[Content_Types].xml".to_owned()), "{label}: {package} is still a package");
    }
    assert!(!has(&rebuilt, ContentClass::MalformedStructure), "{label}: {:#?}", rebuilt.findings);
}

#[test]
fn the_workbook_inside_a_word_document_is_rebuilt_and_kept() {
    let data = office::docx_with_embedded_workbook();
    assert_embedded_packages_kept("generated", &data);
    let mut out = Vec::new();
    let mut embedder = Recurse { policy: strict(), seen: Vec::new() };
    sekisho_ooxml::sanitize("docx", Cursor::new(&data), &mut out, &strict(), &mut embedder).unwrap();
    // Its preview picture goes to the host too, for the image plugin.
    let documents: Vec<&String> = embedder.seen.iter().filter(|n| !n.ends_with(".png")).collect();
    assert_eq!(documents, ["Microsoft_Excel_Worksheet.xlsx"], "the host rebuilt the workbook: {:?}", embedder.seen);
}

#[test]
fn the_workbook_inside_a_corpus_word_document_is_rebuilt_and_kept() {
    let Some(corpus) = sekisho_testkit::corpus!() else { return };
    assert_embedded_packages_kept(
        "poi__WordWithAttachments.docx",
        &corpus.read("ooxml", "poi__WordWithAttachments.docx"),
    );
}

fn member_bytes(data: &[u8], name: &str) -> Option<Vec<u8>> {
    let mut archive = zip::ZipArchive::new(Cursor::new(data)).unwrap();
    let mut file = archive.by_name(name).ok()?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).unwrap();
    Some(bytes)
}

/// Tracked changes are accepted; kept as they were when revisions are allowed.
fn assert_changes_accepted(label: &str, data: &[u8]) -> Vec<u8> {
    let (out, rebuilt) = run("docx", data, &strict()).unwrap();
    assert!(has(&rebuilt, ContentClass::Revisions), "{label}");
    let document = member(&out, "word/document.xml").unwrap();
    assert!(!document.contains("<w:del ") && !document.contains("<w:ins ") && !document.contains("w:delText"));
    let mut keep = strict().with(ContentClass::Revisions, Action::Allow);
    keep.hyperlink_mode = HyperlinkMode::Keep;
    let (kept, _) = run("docx", data, &keep).unwrap();
    assert_eq!(member(&kept, "word/document.xml"), member(data, "word/document.xml"), "{label}");
    out
}

#[test]
fn tracked_changes_are_accepted() {
    let body = r#"<w:p><w:r><w:t xml:space="preserve">Kept text, </w:t></w:r><w:ins w:id="1" w:author="A" w:date="2024-01-01T00:00:00Z"><w:r><w:t>inserted text</w:t></w:r></w:ins><w:del w:id="2" w:author="B" w:date="2024-01-01T00:00:00Z"><w:r><w:delText>deleted text</w:delText></w:r></w:del></w:p>"#;
    let data = office::docx(body, &[], &[], &[]);
    let out = assert_changes_accepted("generated", &data);
    let document = member(&out, "word/document.xml").unwrap();
    assert!(document.contains("Kept text, ") && document.contains("inserted text"), "{document}");
    assert!(!document.contains("deleted text"), "{document}");
}

#[test]
fn tracked_changes_in_the_corpus_are_accepted() {
    let Some(corpus) = sekisho_testkit::corpus!() else { return };
    assert_changes_accepted("poi__delins.docx", &corpus.read("ooxml", "poi__delins.docx"));
}

/// A minimal Word package with the given document body and relationships.
fn word(body: &str, rels: &str, extra: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    let mut add = |name: &str, data: &[u8]| {
        zip.start_file(name, options).unwrap();
        zip.write_all(data).unwrap();
    };
    add("[Content_Types].xml", br#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Default Extension="bin" ContentType="application/octet-stream"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>"#);
    add("_rels/.rels", br#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>"#);
    add("word/_rels/document.xml.rels", format!(r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{rels}</Relationships>"#).as_bytes());
    add("word/document.xml", format!(r#"<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><w:body>{body}</w:body></w:document>"#).as_bytes());
    for (name, data) in extra {
        add(name, data);
    }
    zip.finish().unwrap().into_inner()
}

#[test]
fn a_dde_field_split_across_runs_is_found() {
    let body = r#"<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText>DD</w:instrText></w:r><w:r><w:instrText>EAUTO c:\\windows\\system32\\cmd.exe "/k calc"</w:instrText></w:r><w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>shown</w:t></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>"#;
    let (out, rebuilt) = run("docx", &word(body, "", &[]), &strict()).unwrap();
    let document = member(&out, "word/document.xml").unwrap();
    assert!(has(&rebuilt, ContentClass::Dde));
    assert!(!document.contains("instrText") && !document.contains("fldChar"), "{document}");
    assert!(document.contains("<w:t>shown</w:t>"));
}

#[test]
fn hyperlinks_keep_their_text_in_keep_as_text_mode() {
    let body = r#"<w:p><w:hyperlink r:id="rId5"><w:r><w:t>site</w:t></w:r></w:hyperlink><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText> HYPERLINK "http://example.com" </w:instrText></w:r><w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>field</w:t></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>"#;
    let rels = r#"<Relationship Id="rId5" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink" Target="http://example.com/" TargetMode="External"/>"#;
    let data = word(body, rels, &[]);
    let (out, rebuilt) = run("docx", &data, &strict()).unwrap();
    let document = member(&out, "word/document.xml").unwrap();
    assert_eq!(rebuilt.findings.iter().filter(|f| f.class == ContentClass::Hyperlinks).count(), 2);
    assert!(!document.contains("hyperlink") && !document.contains("HYPERLINK"), "{document}");
    assert!(document.contains("site") && document.contains("field"));
    assert!(!member(&out, "word/_rels/document.xml.rels").unwrap().contains("example.com"));
    let mut keep = strict();
    keep.hyperlink_mode = HyperlinkMode::Keep;
    let (kept, rebuilt) = run("docx", &data, &keep).unwrap();
    assert!(rebuilt.findings.is_empty(), "{:#?}", rebuilt.findings);
    assert_eq!(member(&kept, "word/document.xml"), member(&data, "word/document.xml"));
}

#[test]
fn an_ole_object_goes_and_its_preview_stays() {
    let body = r#"<w:p><w:r><w:object><v:shape xmlns:v="urn:schemas-microsoft-com:vml"><v:imagedata r:id="rId7"/></v:shape><o:OLEObject xmlns:o="urn:schemas-microsoft-com:office:office" ProgID="Package" r:id="rId8"/></w:object></w:r></w:p>"#;
    let rels = r#"<Relationship Id="rId7" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/image" Target="media/image1.emf"/><Relationship Id="rId8" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/oleObject" Target="embeddings/oleObject1.bin"/>"#;
    let mut data =
        word(body, rels, &[("word/media/image1.emf", b"EMF"), ("word/embeddings/oleObject1.bin", b"\xd0\xcf\x11\xe0")]);
    // Give the parts their real content types.
    data = retype(
        &data,
        r#"<Default Extension="bin" ContentType="application/octet-stream"/>"#,
        r#"<Default Extension="bin" ContentType="application/vnd.openxmlformats-officedocument.oleObject"/><Default Extension="emf" ContentType="image/x-emf"/>"#,
    );
    let (out, rebuilt) = run("docx", &data, &strict()).unwrap();
    assert!(has(&rebuilt, ContentClass::ActiveObjects));
    let document = member(&out, "word/document.xml").unwrap();
    assert!(!document.contains("OLEObject") && document.contains("imagedata"), "{document}");
    assert!(members(&out).contains(&"word/media/image1.emf".to_owned()));
    assert!(!members(&out).iter().any(|n| n.contains("oleObject")));
    assert_consistent("handmade ole", &out);
}

fn retype(data: &[u8], from: &str, to: &str) -> Vec<u8> {
    let mut archive = zip::ZipArchive::new(Cursor::new(data)).unwrap();
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).unwrap();
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).unwrap();
        let name = file.name().unwrap().into_owned();
        if name == "[Content_Types].xml" {
            bytes = String::from_utf8(bytes).unwrap().replace(from, to).into_bytes();
        }
        zip.start_file(name, zip::write::SimpleFileOptions::default()).unwrap();
        zip.write_all(&bytes).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

#[test]
fn hostile_packages_are_refused() {
    let dtd = word(r#"<w:p/>"#, "", &[]);
    let bomb = retype(&dtd, "<Types ", "<!DOCTYPE Types [<!ENTITY a \"aaaa\">]><Types ");
    assert_eq!(run("docx", &bomb, &strict()).unwrap_err().kind, FailureKind::InvalidStructure);
    let broken = retype(&dtd, "</Types>", "");
    assert_eq!(run("docx", &broken, &strict()).unwrap_err().kind, FailureKind::InvalidStructure);
    assert_eq!(run("docx", b"PK\x03\x04 not really", &strict()).unwrap_err().kind, FailureKind::InvalidStructure);
    assert_eq!(run("xlsb", &dtd, &strict()).unwrap_err().kind, FailureKind::Unsupported);
}
