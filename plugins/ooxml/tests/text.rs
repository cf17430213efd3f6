//! The text channel of the OOXML plugin: what a Word document, a workbook
//! and a presentation show, located, and nothing that the rebuild removes.

use std::io::Cursor;

use sekisho_plugin_sdk::{Action, CollectText, Policy};
use sekisho_testkit::office::{self, content_types, package, relationships};
use sekisho_testkit::text_pairs as pairs;

const W_NS: &str = "http://schemas.openxmlformats.org/wordprocessingml/2006/main";
const S_NS: &str = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
const P_NS: &str = "http://schemas.openxmlformats.org/presentationml/2006/main";
const A_NS: &str = "http://schemas.openxmlformats.org/drawingml/2006/main";
const R_NS: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
const MC_NS: &str = "http://schemas.openxmlformats.org/markup-compatibility/2006";
const RELS: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
const OFFICE_DOCUMENT: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument";

fn texts(format: &str, input: &[u8]) -> Vec<(String, String)> {
    let mut host = CollectText::default();
    let policy = Policy::uniform(Action::Sanitize);
    sekisho_ooxml::sanitize(format, Cursor::new(input), &mut Vec::new(), &policy, &mut host)
        .unwrap_or_else(|f| panic!("{}", f.detail));
    host.texts
}

fn run(text: &str) -> String {
    format!("<w:r><w:t xml:space=\"preserve\">{text}</w:t></w:r>")
}

#[test]
fn word_paragraphs_text_boxes_and_headers_without_comments_fields_or_macros() {
    let body = [
        format!("<w:p>{}{}</w:p><w:p/>", run("氏名："), run("山田太郎")),
        // A DDE field: the code goes, the result shown stays.
        concat!(
            "<w:p><w:r><w:fldChar w:fldCharType=\"begin\"/></w:r>",
            "<w:r><w:instrText xml:space=\"preserve\"> DDEAUTO c:\\\\windows\\\\system32\\\\cmd.exe \"/k calc 999988887777\" </w:instrText></w:r>",
            "<w:r><w:fldChar w:fldCharType=\"separate\"/></w:r><w:r><w:t>結果</w:t></w:r><w:r><w:fldChar w:fldCharType=\"end\"/></w:r></w:p>",
        )
        .to_owned(),
        "<w:p><w:r><w:t>メール</w:t><w:tab/><w:t>taro@example.jp</w:t><w:br/><w:t>番号 123456789012</w:t></w:r></w:p>".to_owned(),
        // A text box, written twice as Word does: the fallback copy is not read.
        format!(
            "<w:p><w:r><mc:AlternateContent xmlns:mc=\"{MC_NS}\"><mc:Choice Requires=\"wps\"><w:drawing><w:txbxContent><w:p>{}</w:p></w:txbxContent></w:drawing></mc:Choice><mc:Fallback><w:pict><w:txbxContent><w:p>{}</w:p></w:txbxContent></w:pict></mc:Fallback></mc:AlternateContent></w:r>{}</w:p>",
            run("東京都千代田区"),
            run("東京都千代田区"),
            run("本文")
        ),
        format!("<w:p><w:commentRangeStart w:id=\"0\"/>{}<w:commentRangeEnd w:id=\"0\"/><w:r><w:commentReference w:id=\"0\"/></w:r></w:p>", run("注釈の対象")),
    ]
    .concat();
    let header = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><w:hdr xmlns:w="{W_NS}"><w:p>{}</w:p></w:hdr>"#,
        run("社外秘")
    );
    let comments = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><w:comments xmlns:w="{W_NS}"><w:comment w:id="0" w:author="x"><w:p>{}</w:p></w:comment></w:comments>"#,
        run("コメント 555566667777")
    );
    let input = office::docx(
        &body,
        &[("rId1", &format!("{RELS}/header"), "header1.xml"), ("rId2", &format!("{RELS}/comments"), "comments.xml")],
        &[("word/header1.xml", header.as_bytes()), ("word/comments.xml", comments.as_bytes())],
        &[],
    );
    // The parts' content types: the kit's docx has only the main part's.
    let input = with_overrides(
        &input,
        &[
            ("word/header1.xml", "application/vnd.openxmlformats-officedocument.wordprocessingml.header+xml"),
            ("word/comments.xml", "application/vnd.openxmlformats-officedocument.wordprocessingml.comments+xml"),
        ],
    );
    assert_eq!(
        texts("docx", &input),
        pairs(&[
            ("paragraph 1", "氏名：山田太郎"),
            ("paragraph 3", "結果"),
            ("paragraph 4", "メール\ttaro@example.jp\n番号 123456789012"),
            ("paragraph 5", "東京都千代田区"),
            ("paragraph 6", "本文"),
            ("paragraph 7", "注釈の対象"),
            ("word/header1.xml paragraph 1", "社外秘"),
        ])
    );
    // Comments kept by policy are text the file keeps: given after the rest.
    let mut host = CollectText::default();
    let keep_comments =
        Policy::uniform(Action::Sanitize).with(sekisho_plugin_sdk::ContentClass::Comments, Action::Allow);
    sekisho_ooxml::sanitize("docx", Cursor::new(&input), &mut Vec::new(), &keep_comments, &mut host).unwrap();
    assert_eq!(
        host.texts.last().unwrap(),
        &("word/comments.xml paragraph 1".to_string(), "コメント 555566667777".to_string())
    );
    // The macro project is removed; only the document's text is given.
    assert_eq!(texts("docm", &office::docm("山田太郎の報告")), pairs(&[("paragraph 1", "山田太郎の報告")]));
}

/// The package `input` with more content-type overrides.
fn with_overrides(input: &[u8], overrides: &[(&str, &str)]) -> Vec<u8> {
    let mut archive = zip::ZipArchive::new(Cursor::new(input)).unwrap();
    let mut members: Vec<(String, Vec<u8>)> = Vec::new();
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).unwrap();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut file, &mut data).unwrap();
        members.push((file.name().unwrap().into_owned(), data));
    }
    let extra: String =
        overrides.iter().map(|(part, ct)| format!(r#"<Override PartName="/{part}" ContentType="{ct}"/>"#)).collect();
    for (name, data) in &mut members {
        if name == "[Content_Types].xml" {
            *data =
                String::from_utf8(data.clone()).unwrap().replace("</Types>", &format!("{extra}</Types>")).into_bytes();
        }
    }
    let members: Vec<(&str, &[u8])> = members.iter().map(|(n, d)| (n.as_str(), d.as_slice())).collect();
    package(&members)
}

#[test]
fn excel_cells_with_shared_inline_numbers_and_booleans() {
    let types = content_types(
        &[],
        &[
            ("xl/workbook.xml", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"),
            ("xl/worksheets/sheet1.xml", "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"),
            ("xl/worksheets/sheet2.xml", "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"),
            ("xl/sharedStrings.xml", "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"),
        ],
    );
    let root = relationships(&[("rId1", OFFICE_DOCUMENT, "xl/workbook.xml")]);
    let rels = relationships(&[
        ("rId1", &format!("{RELS}/worksheet"), "worksheets/sheet1.xml"),
        ("rId2", &format!("{RELS}/worksheet"), "worksheets/sheet2.xml"),
        ("rId3", &format!("{RELS}/sharedStrings"), "sharedStrings.xml"),
    ]);
    let workbook = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{S_NS}" xmlns:r="{R_NS}"><sheets><sheet name="名簿" sheetId="1" r:id="rId1"/><sheet name="Sheet2" sheetId="2" r:id="rId2"/></sheets></workbook>"#
    );
    let shared = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{S_NS}" count="3" uniqueCount="3"><si><t>氏名</t></si><si><r><t>山田</t></r><r><t>太郎</t></r><rPh sb="0" eb="2"><t>ヤマダタロウ</t></rPh></si><si><t>東京都千代田区</t></si></sst>"#
    );
    let sheet = |rows: &str| {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{S_NS}"><sheetData>{rows}</sheetData></worksheet>"#
        )
    };
    let sheet1 = sheet(concat!(
        r#"<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1"><v>123456789012</v></c>"#,
        r#"<c r="D1" t="inlineStr"><is><t>taro@example.jp</t></is></c><c r="E1" t="b"><v>1</v></c>"#,
        r#"<c r="F1" t="str"><f>A1&amp;B1</f><v>氏名山田太郎</v></c><c r="G1" s="1"/><c r="H1" t="s"><v>99</v></c></row>"#,
        r#"<row><c t="s"><v>2</v></c></row>"#,
    ));
    let sheet2 = sheet(r#"<row r="3"><c r="B3" t="inlineStr"><is><r><t>二枚</t></r><r><t>目</t></r></is></c></row>"#);
    let input = package(&[
        ("[Content_Types].xml", types.as_bytes()),
        ("_rels/.rels", root.as_bytes()),
        ("xl/workbook.xml", workbook.as_bytes()),
        ("xl/_rels/workbook.xml.rels", rels.as_bytes()),
        ("xl/worksheets/sheet1.xml", sheet1.as_bytes()),
        ("xl/worksheets/sheet2.xml", sheet2.as_bytes()),
        ("xl/sharedStrings.xml", shared.as_bytes()),
    ]);
    assert_eq!(
        texts("xlsx", &input),
        pairs(&[
            ("名簿!A1", "氏名"),
            ("名簿!B1", "山田太郎"),
            ("名簿!C1", "123456789012"),
            ("名簿!D1", "taro@example.jp"),
            ("名簿!E1", "TRUE"),
            ("名簿!F1", "氏名山田太郎"),
            ("名簿!R2C1", "東京都千代田区"),
            ("Sheet2!B3", "二枚目"),
        ])
    );
    // A macro-enabled workbook: the VBA project goes, the cells stay.
    let xlsm = office::workbook(&["山田太郎", "090-1234-5678"], true);
    assert_eq!(texts("xlsm", &xlsm), pairs(&[("Sheet1!A1", "山田太郎"), ("Sheet1!B1", "090-1234-5678")]));
}

#[test]
fn powerpoint_slides_in_presentation_order_with_notes() {
    let types = content_types(
        &[],
        &[
            (
                "ppt/presentation.xml",
                "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
            ),
            ("ppt/slides/slide1.xml", "application/vnd.openxmlformats-officedocument.presentationml.slide+xml"),
            ("ppt/slides/slide2.xml", "application/vnd.openxmlformats-officedocument.presentationml.slide+xml"),
            (
                "ppt/notesSlides/notesSlide1.xml",
                "application/vnd.openxmlformats-officedocument.presentationml.notesSlide+xml",
            ),
        ],
    );
    let root = relationships(&[("rId1", OFFICE_DOCUMENT, "ppt/presentation.xml")]);
    let rels = relationships(&[
        ("rId2", &format!("{RELS}/slide"), "slides/slide1.xml"),
        ("rId3", &format!("{RELS}/slide"), "slides/slide2.xml"),
    ]);
    let slide_rels = relationships(&[("rId1", &format!("{RELS}/notesSlide"), "../notesSlides/notesSlide1.xml")]);
    // slide2.xml is shown first.
    let presentation = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><p:presentation xmlns:p="{P_NS}" xmlns:r="{R_NS}"><p:sldIdLst><p:sldId id="256" r:id="rId3"/><p:sldId id="257" r:id="rId2"/></p:sldIdLst></p:presentation>"#
    );
    let shape = |paragraphs: &str| {
        format!(
            r#"<p:sp><p:nvSpPr><p:cNvPr id="2" name="t"/><p:cNvSpPr/><p:nvPr/></p:nvSpPr><p:spPr/><p:txBody><a:bodyPr/>{paragraphs}</p:txBody></p:sp>"#
        )
    };
    let slide = |root: &str, paragraphs: &str| {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><p:{root} xmlns:p="{P_NS}" xmlns:a="{A_NS}"><p:cSld><p:spTree><p:nvGrpSpPr><p:cNvPr id="1" name=""/><p:cNvGrpSpPr/><p:nvPr/></p:nvGrpSpPr><p:grpSpPr/>{}</p:spTree></p:cSld></p:{root}>"#,
            shape(paragraphs)
        )
    };
    let first = slide(
        "sld",
        "<a:p><a:r><a:t>会議資料</a:t></a:r></a:p><a:p/><a:p><a:r><a:t>東京都</a:t></a:r><a:br/><a:r><a:t>千代田区</a:t></a:r></a:p>",
    );
    let notes = slide("notes", "<a:p><a:r><a:t>話す内容 090-1234-5678</a:t></a:r></a:p>");
    let second = slide("sld", "<a:p><a:r><a:t>二枚目 山田太郎</a:t></a:r></a:p>");
    let input = package(&[
        ("[Content_Types].xml", types.as_bytes()),
        ("_rels/.rels", root.as_bytes()),
        ("ppt/presentation.xml", presentation.as_bytes()),
        ("ppt/_rels/presentation.xml.rels", rels.as_bytes()),
        ("ppt/slides/slide1.xml", second.as_bytes()),
        ("ppt/slides/slide2.xml", first.as_bytes()),
        ("ppt/slides/_rels/slide2.xml.rels", slide_rels.as_bytes()),
        ("ppt/notesSlides/notesSlide1.xml", notes.as_bytes()),
    ]);
    assert_eq!(
        texts("pptx", &input),
        pairs(&[
            ("slide 1", "会議資料"),
            ("slide 1", "東京都\n千代田区"),
            ("slide 1 notes", "話す内容 090-1234-5678"),
            ("slide 2", "二枚目 山田太郎"),
        ])
    );
}
