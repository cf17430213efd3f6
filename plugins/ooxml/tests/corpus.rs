//! The OOXML plugin, natively, on the shared corpus and on handmade packages.

use std::collections::BTreeSet;
use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};

use sekisho_plugin_sdk::{
    Action, ContentClass, Disposition, EmbeddedOutcome, EmbeddedRebuilt, EmbeddedRefusal, Embedder, Failure,
    FailureKind, HyperlinkMode, Policy, Rebuilt,
};

fn corpus() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/ooxml");
    assert!(dir.is_dir(), "the shared corpus is missing at {}", dir.display());
    dir
}

fn corpus_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus()).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
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
    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ooxml-strict");
    std::fs::create_dir_all(&out_dir).unwrap();
    let mut rebuilt_count = 0;
    for path in corpus_files() {
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
    for path in corpus_files() {
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

#[test]
fn macros_go_and_the_document_becomes_macro_free() {
    let data = std::fs::read(corpus().join("poi__SimpleMacro.docm")).unwrap();
    let (out, rebuilt) = run("docm", &data, &strict()).unwrap();
    assert_eq!(rebuilt.format, "docx");
    assert!(rebuilt.findings.iter().any(|f| f.class == ContentClass::Macros && f.disposition == Disposition::Removed));
    assert!(!members(&out).iter().any(|n| n.contains("vbaProject")));
    let document = member(&out, "word/document.xml").unwrap();
    assert_eq!(document, member(&data, "word/document.xml").unwrap(), "the text is untouched");
    let keep = strict().with(ContentClass::Macros, Action::Allow);
    let (kept, rebuilt) = run("docm", &data, &keep).unwrap();
    assert_eq!(rebuilt.format, "docm");
    assert!(members(&kept).iter().any(|n| n.ends_with("vbaProject.bin")));
    assert!(rebuilt.findings.iter().any(|f| f.class == ContentClass::Macros && f.disposition == Disposition::Kept));
    let block = strict().with(ContentClass::Macros, Action::Block);
    let failure = run("docm", &data, &block).unwrap_err();
    assert_eq!(failure.kind, FailureKind::Blocked(ContentClass::Macros));
}

#[test]
fn xlm_macro_sheets_and_auto_open_names_go() {
    for file in ["poi__xlmmacro.xlsm", "oletools__excel4_sample_macro.xlsm"] {
        let data = std::fs::read(corpus().join(file)).unwrap();
        let (out, rebuilt) = run("xlsm", &data, &strict()).unwrap();
        assert_eq!(rebuilt.format, "xlsx", "{file}");
        assert!(!members(&out).iter().any(|n| n.contains("macrosheets")), "{file}");
        let workbook = member(&out, "xl/workbook.xml").unwrap();
        assert!(!workbook.to_ascii_lowercase().contains("auto_open"), "{file}: {workbook}");
        assert!(workbook.contains("<sheet "), "{file}: the ordinary sheets stay");
    }
}

#[test]
fn dde_fields_are_neutralized_and_their_text_stays() {
    let data = std::fs::read(corpus().join("oletools__dde-test.docx")).unwrap();
    let (out, rebuilt) = run("docx", &data, &strict()).unwrap();
    assert!(has(&rebuilt, ContentClass::Dde), "{:#?}", rebuilt.findings);
    let document = member(&out, "word/document.xml").unwrap();
    assert!(!document.contains("DDE"), "{document}");
    assert!(!document.contains("instrText") && !document.contains("fldSimple"));
    let xlsx = std::fs::read(corpus().join("oletools__dde-test.xlsx")).unwrap();
    let (out, rebuilt) = run("xlsx", &xlsx, &strict()).unwrap();
    assert!(has(&rebuilt, ContentClass::Dde), "{:#?}", rebuilt.findings);
    assert!(!members(&out).iter().any(|n| n.contains("externalLink")));
}

#[test]
fn external_relationships_are_cut_and_hyperlinks_follow_the_mode() {
    for file in [
        "oletools__sample_with_external_link_to_doc.docx",
        "oletools__sample_with_external_link_to_doc.xlsx",
        "oletools__sample_with_external_link_to_doc.pptx",
    ] {
        let data = std::fs::read(corpus().join(file)).unwrap();
        let (out, rebuilt) = run(format_of(Path::new(file)), &data, &strict()).unwrap();
        assert!(has(&rebuilt, ContentClass::ExternalLinks), "{file}: {:#?}", rebuilt.findings);
        for name in members(&out).iter().filter(|n| n.ends_with(".rels")) {
            assert!(!member(&out, name).unwrap().contains("TargetMode=\"External\""), "{file}: {name}");
        }
    }
    let data = std::fs::read(corpus().join("poi__ExcelWithHyperlinks.xlsx")).unwrap();
    let external = |out: &[u8]| {
        members(out).iter().filter(|n| n.ends_with(".rels")).any(|n| member(out, n).unwrap().contains("External"))
    };
    assert!(external(&data));
    let (stripped, _) = run("xlsx", &data, &strict()).unwrap();
    assert!(!external(&stripped));
    let mut keep = strict();
    keep.hyperlink_mode = HyperlinkMode::Keep;
    let (kept, rebuilt) = run("xlsx", &data, &keep).unwrap();
    assert!(external(&kept));
    assert!(!has(&rebuilt, ContentClass::Hyperlinks));
}

#[test]
fn the_workbook_inside_a_word_document_is_rebuilt_and_kept() {
    let data = std::fs::read(corpus().join("poi__WordWithAttachments.docx")).unwrap();
    let embedded: Vec<String> = members(&data).into_iter().filter(|n| n.contains("embeddings/")).collect();
    let (out, rebuilt) = run("docx", &data, &strict()).unwrap();
    let packages: Vec<&String> = embedded.iter().filter(|n| n.ends_with(".xlsx") || n.ends_with(".docx")).collect();
    assert!(!packages.is_empty(), "{embedded:?}");
    for package in packages {
        let inner = member_bytes(&out, package).unwrap_or_else(|| panic!("{package} is kept"));
        assert!(members(&inner).contains(&"[Content_Types].xml".to_owned()), "{package} is still a package");
    }
    assert!(!has(&rebuilt, ContentClass::MalformedStructure), "{:#?}", rebuilt.findings);
}

fn member_bytes(data: &[u8], name: &str) -> Option<Vec<u8>> {
    let mut archive = zip::ZipArchive::new(Cursor::new(data)).unwrap();
    let mut file = archive.by_name(name).ok()?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).unwrap();
    Some(bytes)
}

#[test]
fn tracked_changes_are_accepted() {
    let data = std::fs::read(corpus().join("poi__delins.docx")).unwrap();
    let (out, rebuilt) = run("docx", &data, &strict()).unwrap();
    assert!(has(&rebuilt, ContentClass::Revisions));
    let document = member(&out, "word/document.xml").unwrap();
    assert!(!document.contains("<w:del ") && !document.contains("<w:ins ") && !document.contains("w:delText"));
    let mut keep = strict().with(ContentClass::Revisions, Action::Allow);
    keep.hyperlink_mode = HyperlinkMode::Keep;
    let (kept, _) = run("docx", &data, &keep).unwrap();
    assert_eq!(member(&kept, "word/document.xml"), member(&data, "word/document.xml"));
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
