//! The scan channel: each module of a VBA project handed to the host as
//! decompressed source, with whether the rebuilt document keeps it.

use std::io::Cursor;

use sekisho_plugin_sdk::{Action, CollectActive, ContentClass, Policy};
use sekisho_testkit::office;
use sekisho_testkit::ovba::AUTO_OPEN_MODULE;

const SECOND_MODULE: &str =
    "Attribute VB_Name = \"Helpers\"\r\nFunction Twice(x)\r\n    Twice = 2 * x\r\nEnd Function\r\n";

#[test]
fn each_vba_module_is_handed_over_decompressed_kept_or_removed() {
    let docm = office::docm_with_modules("Figures", &[("Module1", AUTO_OPEN_MODULE), ("Helpers", SECOND_MODULE)]);
    for (action, kept) in [(Action::Sanitize, false), (Action::Allow, true)] {
        let policy = Policy::uniform(Action::Sanitize).with(ContentClass::Macros, action);
        let mut host = CollectActive::default();
        sekisho_ooxml::sanitize("docm", Cursor::new(&docm), &mut Vec::new(), &policy, &mut host)
            .unwrap_or_else(|f| panic!("{}", f.detail));
        let parts: Vec<(&str, bool, &str, &[u8])> =
            host.parts.iter().map(|(c, k, l, s)| (c.as_str(), *k, l.as_str(), s.as_slice())).collect();
        assert_eq!(
            parts,
            [
                ("macros", kept, "word/vbaProject.bin/Module1", AUTO_OPEN_MODULE.as_bytes()),
                ("macros", kept, "word/vbaProject.bin/Helpers", SECOND_MODULE.as_bytes()),
            ]
        );
    }
}

#[test]
fn a_project_that_cannot_be_decoded_is_handed_over_raw() {
    // A vbaProject.bin that is a compound file without a VBA storage.
    let bogus = sekisho_testkit::office::compound_file(&[("/Junk", b"Sub AutoOpen()")], &[], None);
    let types = office::content_types(
        &[("bin", "application/vnd.ms-office.vbaProject")],
        &[("word/document.xml", "application/vnd.ms-word.document.macroEnabled.main+xml")],
    );
    let root_rels = office::relationships(&[(
        "rId1",
        "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument",
        "word/document.xml",
    )]);
    let document_rels = office::relationships(&[(
        "rId9",
        "http://schemas.microsoft.com/office/2006/relationships/vbaProject",
        "vbaProject.bin",
    )]);
    let docm = office::package(&[
        ("[Content_Types].xml", types.as_bytes()),
        ("_rels/.rels", root_rels.as_bytes()),
        ("word/document.xml", office::word_document(&office::paragraph("x")).as_bytes()),
        ("word/_rels/document.xml.rels", document_rels.as_bytes()),
        ("word/vbaProject.bin", &bogus),
    ]);
    let mut host = CollectActive::default();
    sekisho_ooxml::sanitize("docm", Cursor::new(&docm), &mut Vec::new(), &Policy::uniform(Action::Sanitize), &mut host)
        .unwrap_or_else(|f| panic!("{}", f.detail));
    assert_eq!(host.parts.len(), 1, "{:?}", host.parts.iter().map(|p| &p.2).collect::<Vec<_>>());
    assert_eq!(host.parts[0].2, "word/vbaProject.bin (raw)");
    assert_eq!(host.parts[0].3, bogus);
}
