//! The text channel of the PDF plugin: the text of each kept page, Japanese
//! through a ToUnicode CMap (Type0, Identity-H) and a predefined CMap
//! (90ms-RKSJ-H), forms read once, nothing from what the rebuild removes.

use sekisho_plugin_sdk::{Action, CollectText, Policy};

/// A ToUnicode CMap giving CIDs 1… the characters of `chars`.
fn to_unicode(chars: &str) -> String {
    let mut cmap = String::from(
        "/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n/CMapName /Adobe-Identity-UCS def /CMapType 2 def\n1 begincodespacerange <0000> <FFFF> endcodespacerange\n",
    );
    cmap.push_str(&format!("{} beginbfchar\n", chars.chars().count()));
    for (i, c) in chars.chars().enumerate() {
        cmap.push_str(&format!("<{:04X}> <{:04X}>\n", i + 1, c as u32));
    }
    cmap.push_str("endbfchar\n% digits by range\n1 beginbfrange <0100> <0109> <0030> endbfrange\nendcmap CMapName currentdict /CMap defineresource pop end end\n");
    cmap
}

/// The CIDs of `text` in the CMap of [`to_unicode`] over `chars`, as a hex string.
fn cids(chars: &str, text: &str) -> String {
    let codes: String = text
        .chars()
        .map(|c| match c.to_digit(10) {
            Some(d) => format!("{:04X}", 0x100 + d),
            None => format!("{:04X}", chars.chars().position(|k| k == c).expect("in the CMap") + 1),
        })
        .collect();
    format!("<{codes}>")
}

fn stream(extra: &str, data: &str) -> Vec<u8> {
    format!("<< /Length {}{extra} >>\nstream\n{data}\nendstream", data.len()).into_bytes()
}

fn japanese_pdf() -> Vec<u8> {
    let chars = "山田太郎東京都千代区番号";
    let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode("大阪府");
    let sjis: String = sjis.iter().map(|b| format!("{b:02x}")).collect();
    let page1 = format!(
        "BT /F2 12 Tf 20 700 Td {} Tj 0 -20 Td {} Tj ET\nBT /F1 12 Tf 20 650 Td (taro@example.jp) Tj [-300 (call) -300 (03-1234-5678)] TJ ET\nBT /F2 12 Tf 20 630 Td [{} -500 {}] TJ ET\nBT /F3 12 Tf 20 610 Td <{sjis}> Tj ET\nBT /F4 12 Tf 20 590 Td <00410042> Tj ET\n/Fm1 Do /Fm1 Do\n",
        cids(chars, "山田太郎"),
        cids(chars, "東京都千代田区"),
        cids(chars, "番号"),
        cids(chars, "123456789012"),
    );
    let page2 = "BT /F1 12 Tf 20 700 Td (Second page) Tj ET";
    let form = "BT /F1 10 Tf 10 10 Td (Form text) Tj ET";
    let objects: Vec<Vec<u8>> = vec![
        // 1 catalog (JavaScript on open), 2 pages
        b"<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /JavaScript /JS (app.alert('111122223333')) >> >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 >>".to_vec(),
        // 3, 4 pages
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R /F2 6 0 R /F3 9 0 R /F4 10 0 R >> /XObject << /Fm1 11 0 R >> >> /Contents 7 0 R /Annots [12 0 R] >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> /Contents 8 0 R >>".to_vec(),
        // 5 Helvetica, 6 Type0 Identity-H with ToUnicode (13)
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_vec(),
        b"<< /Type /Font /Subtype /Type0 /BaseFont /KozMinPr6N-Regular /Encoding /Identity-H /DescendantFonts [14 0 R] /ToUnicode 13 0 R >>".to_vec(),
        stream("", &page1),
        stream("", page2),
        // 9 Type0 with a Shift_JIS CMap, 10 Identity-H without ToUnicode (glyph ids only)
        b"<< /Type /Font /Subtype /Type0 /BaseFont /MS-Mincho /Encoding /90ms-RKSJ-H /DescendantFonts [14 0 R] >>".to_vec(),
        b"<< /Type /Font /Subtype /Type0 /BaseFont /Embedded /Encoding /Identity-H /DescendantFonts [14 0 R] >>".to_vec(),
        stream(" /Type /XObject /Subtype /Form /BBox [0 0 100 100] /Resources << /Font << /F1 5 0 R >> >>", form),
        // 12 a comment annotation
        b"<< /Type /Annot /Subtype /Text /Rect [0 0 10 10] /Contents (comment 999988887777) >>".to_vec(),
        stream("", &to_unicode(chars)),
        b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /KozMinPr6N-Regular /CIDSystemInfo << /Registry (Adobe) /Ordering (Japan1) /Supplement 6 >> >>".to_vec(),
    ];
    sekisho_testkit::pdf::write(&objects)
}

#[test]
fn pages_give_their_text_japanese_included_and_nothing_removed() {
    let mut host = CollectText::default();
    let mut out = Vec::new();
    sekisho_pdf::sanitize(&japanese_pdf()[..], &mut out, &Policy::uniform(Action::Sanitize), &mut host)
        .unwrap_or_else(|f| panic!("{}", f.detail));
    let expected = [
        ("page 1", "山田太郎\n東京都千代田区\ntaro@example.jp call 03-1234-5678\n番号 123456789012\n大阪府\nForm text"),
        ("page 2", "Second page"),
    ];
    let expected = sekisho_testkit::text_pairs(&expected);
    assert_eq!(host.texts, expected);
    let all = host.joined();
    for removed in ["111122223333", "999988887777", "alert"] {
        assert!(!all.contains(removed), "{removed} was emitted: {all}");
    }
    // The output gives the same text when sanitized again.
    let mut again = CollectText::default();
    sekisho_pdf::sanitize(&out[..], &mut Vec::new(), &Policy::uniform(Action::Sanitize), &mut again).unwrap();
    assert_eq!(again.texts, host.texts);
}

#[test]
fn lopdf_alone_reads_the_tounicode_font_but_fails_on_the_predefined_cmap() {
    // Why the plugin decodes the text operators itself: lopdf 0.47 reads the
    // Identity-H font through its ToUnicode CMap, but a page with a
    // predefined CMap (90ms-RKSJ-H) fails as a whole, and forms are not read.
    let doc = lopdf::Document::load_mem(&japanese_pdf()).unwrap();
    assert!(doc.extract_text(&[1]).is_err());
    let chunks = doc.extract_text_chunks(&[1]);
    let text: String = chunks.iter().filter_map(|c| c.as_ref().ok()).cloned().collect();
    assert!(text.contains("山田太郎") && text.contains("東京都千代田区"), "{text:?}");
    assert!(!text.contains("Form text") && !text.contains("大阪府"), "{text:?}");
}
