//! The ODF plugin, natively, on the real documents of the shared corpus
//! when `SEKISHO_CORPUS` names it. The same behaviours on generated
//! packages run on every clone (handmade.rs).

mod common;

use common::{assert_valid, has, member, names, rebuild, run, strict, text_member, text_of};
use sekisho_plugin_sdk::{Action, ContentClass, Disposition, FailureKind, HyperlinkMode, Policy};
use sekisho_testkit::Corpus;

/// The file and its format id (its extension).
fn read(corpus: &Corpus, name: &str) -> (Vec<u8>, String) {
    let path = corpus.file("odf", name);
    let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (data, path.extension().unwrap().to_string_lossy().into_owned())
}

const MACRO: &str = "tika__testODTMacro.odt";
const OLE: [&str; 3] =
    ["oletools__embedded-simple-2007.odt", "oletools__embedded-simple-2007.ods", "oletools__embedded-simple-2007.odp"];
const OBJECTS: &str = "tika__testODFwithOOo3.odt";
const IMAGE_LINK: &str = "tika__testODTEmbeddedImageLink.odt";

#[test]
fn every_corpus_file_rebuilds_under_every_policy() {
    let Some(corpus) = sekisho_testkit::corpus!() else { return };
    let mut allow_all = Policy::uniform(Action::Allow);
    allow_all.hyperlink_mode = HyperlinkMode::Remove;
    let policies = [strict(), Policy::uniform(Action::Sanitize), allow_all];
    let mut files = 0;
    for path in corpus.files("odf") {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let (data, format) = read(&corpus, &name);
        for policy in &policies {
            // `rebuild` checks validity, determinism and idempotence.
            let (_, findings) = rebuild(&format, &data, policy);
            if policy.name == "uniform-allow" {
                assert!(findings.iter().all(|f| f.disposition == Disposition::Kept), "{name}: {findings:?}");
            }
        }
        let blocked = strict().with(ContentClass::Metadata, Action::Block);
        let failure = run(&format, &data, &blocked).unwrap_err();
        assert_eq!(failure.kind, FailureKind::Blocked(ContentClass::Metadata), "{name}");
        assert!(failure.findings.iter().any(|f| f.disposition == Disposition::Blocked));
        files += 1;
    }
    assert_eq!(files, 10);
}

#[test]
fn macros_go_under_strict_and_stay_under_allow() {
    let Some(corpus) = sekisho_testkit::corpus!() else { return };
    let (data, format) = read(&corpus, MACRO);
    let (out, findings) = rebuild(&format, &data, &strict());
    assert!(!names(&out).iter().any(|n| n.starts_with("Basic/")), "{:?}", names(&out));
    let content = text_member(&out, "content.xml");
    for active in ["script:event-listener", "office:event-listeners", "vnd.sun.star.script"] {
        assert!(!content.contains(active), "{active} survived");
    }
    // The picture the listener was bound to stays.
    assert!(content.contains("<draw:image xlink:href=\"Pictures/"));
    let basic = findings.iter().find(|f| f.location == "Basic/").unwrap();
    assert_eq!((basic.class, basic.disposition, basic.count), (ContentClass::Macros, Disposition::Removed, 4));
    assert!(findings.iter().any(|f| f.location == "content.xml" && f.detail.starts_with("script:event-listener")));

    let keep_macros = strict().with(ContentClass::Macros, Action::Allow);
    let (out, findings) = rebuild(&format, &data, &keep_macros);
    assert_eq!(names(&out).iter().filter(|n| n.starts_with("Basic/")).count(), 4);
    assert!(text_member(&out, "content.xml").contains("vnd.sun.star.script:Standard.test.Main"));
    assert!(findings.iter().filter(|f| f.class == ContentClass::Macros).all(|f| f.disposition == Disposition::Kept));

    let failure = run(&format, &data, &strict().with(ContentClass::Macros, Action::Block)).unwrap_err();
    assert_eq!(failure.kind, FailureKind::Blocked(ContentClass::Macros));
}

#[test]
fn ole_objects_go_and_their_replacement_images_stay() {
    let Some(corpus) = sekisho_testkit::corpus!() else { return };
    for name in OLE {
        let (data, format) = read(&corpus, name);
        assert!(names(&data).contains(&"Object 1".to_owned()));
        let (out, findings) = rebuild(&format, &data, &strict());
        let members = names(&out);
        assert!(!members.contains(&"Object 1".to_owned()), "{name}: {members:?}");
        assert!(members.contains(&"ObjectReplacements/Object 1".to_owned()), "{name}");
        let content = text_member(&out, "content.xml");
        assert!(!content.contains("draw:object-ole"), "{name}");
        assert!(content.contains("<draw:image xlink:href=\"ObjectReplacements/Object 1\""), "{name}");
        assert!(has(&findings, ContentClass::ActiveObjects, Disposition::Removed), "{name}");
        // The replacement was not in the manifest: it is declared now.
        assert!(has(&findings, ContentClass::MalformedStructure, Disposition::Neutralized), "{name}");

        let keep_ole = strict().with(ContentClass::ActiveObjects, Action::Allow);
        let (out, _) = rebuild(&format, &data, &keep_ole);
        assert_eq!(member(&out, "Object 1"), member(&data, "Object 1"), "{name}");
        assert!(text_member(&out, "content.xml").contains("draw:object-ole"), "{name}");
    }
}

#[test]
fn sub_documents_are_rebuilt_in_place() {
    let Some(corpus) = sekisho_testkit::corpus!() else { return };
    let (data, format) = read(&corpus, OBJECTS);
    let (out, findings) = rebuild(&format, &data, &strict());
    let members = names(&out);
    for kept in ["Object 1/content.xml", "Object 1/styles.xml", "Object 2/content.xml", "ObjectReplacements/Object 2"] {
        assert!(members.contains(&kept.to_owned()), "{kept} is missing");
    }
    let manifest = text_member(&out, "META-INF/manifest.xml");
    assert!(manifest.contains(
        r#"manifest:media-type="application/vnd.oasis.opendocument.formula" manifest:full-path="Object 2/""#
    ));
    // The formula's external DTD declaration is cut; its MathML stays.
    let formula = member(&out, "Object 2/content.xml").unwrap();
    assert!(!String::from_utf8_lossy(&formula).contains("<!DOCTYPE"));
    assert!(text_of(&formula).contains("A classic example: a² + b^2 = c^2"));
    // Links, comments and tracked changes of the main text go.
    let content = text_member(&out, "content.xml");
    assert!(!content.contains("xlink:href=\"http") && content.contains("Lucene website"));
    for class in [ContentClass::Hyperlinks, ContentClass::Comments, ContentClass::Revisions] {
        assert!(has(&findings, class, Disposition::Removed), "{class:?}");
    }
}

#[test]
fn text_stays_where_nothing_holding_text_is_removed() {
    let Some(corpus) = sekisho_testkit::corpus!() else { return };
    for name in [
        "textract__raw_text.odt",
        "pypdf-sample-files__source.odt",
        "pypdf-sample-files__libreoffice-form.odt",
        IMAGE_LINK,
        MACRO,
        OLE[0],
        OLE[1],
        OLE[2],
    ] {
        let (data, format) = read(&corpus, name);
        let (out, _) = rebuild(&format, &data, &strict());
        for part in ["content.xml", "styles.xml"] {
            let before = text_of(&member(&data, part).unwrap());
            assert_eq!(text_of(&member(&out, part).unwrap()), before, "{name} {part}");
        }
    }
}

#[test]
fn links_follow_the_hyperlink_mode() {
    let Some(corpus) = sekisho_testkit::corpus!() else { return };
    let (data, format) = read(&corpus, IMAGE_LINK);
    let (out, findings) = rebuild(&format, &data, &strict());
    let content = text_member(&out, "content.xml");
    assert!(!content.contains("https://tika.apache.org/") && !content.contains("<draw:a"));
    // The linked picture stays, only the link goes.
    assert!(
        content.contains("<draw:frame") && content.contains("Pictures/10000201000001240000006457F5B1D1243E0671.png")
    );
    let link = findings.iter().find(|f| f.class == ContentClass::Hyperlinks).unwrap();
    assert_eq!(link.detail, "draw:a links to \"https://tika.apache.org/\"");

    // Sanitize in keep mode: links stay and are not reported.
    let (out, findings) = rebuild(&format, &data, &Policy::uniform(Action::Sanitize));
    assert!(text_member(&out, "content.xml").contains("xlink:href=\"https://tika.apache.org/\""));
    assert!(!findings.iter().any(|f| f.class == ContentClass::Hyperlinks));

    let (out, findings) = rebuild(&format, &data, &strict().with(ContentClass::Hyperlinks, Action::Allow));
    assert!(text_member(&out, "content.xml").contains("https://tika.apache.org/"));
    assert!(has(&findings, ContentClass::Hyperlinks, Disposition::Kept));
}

#[test]
fn metadata_goes_and_the_rdf_manifest_stays() {
    let Some(corpus) = sekisho_testkit::corpus!() else { return };
    let (data, format) = read(&corpus, "pypdf-sample-files__source.odt");
    let (out, findings) = rebuild(&format, &data, &strict());
    let members = names(&out);
    assert!(!members.iter().any(|n| n == "meta.xml" || n.starts_with("Thumbnails/")), "{members:?}");
    assert!(members.contains(&"manifest.rdf".to_owned()));
    assert!(!text_member(&out, "META-INF/manifest.xml").contains("meta.xml"));
    assert!(has(&findings, ContentClass::Metadata, Disposition::Removed));
    let (out, _) = rebuild(&format, &data, &strict().with(ContentClass::Metadata, Action::Allow));
    assert_eq!(member(&out, "meta.xml"), member(&data, "meta.xml"));
}

#[test]
fn a_clean_document_keeps_its_members_bytes() {
    let Some(corpus) = sekisho_testkit::corpus!() else { return };
    let (data, format) = read(&corpus, "textract__raw_text.odt");
    let (out, _) = rebuild(&format, &data, &strict().with(ContentClass::Metadata, Action::Allow));
    assert_valid(&out, true);
    for name in names(&data).iter().filter(|n| !n.ends_with('/') && *n != "META-INF/manifest.xml") {
        assert_eq!(member(&out, name), member(&data, name), "{name}");
    }
}
