//! Office documents built part by part: OOXML packages (a macro-enabled
//! Word document with a real VBA project, workbooks, a slide show) and
//! binary compound files (a Word 97 document with a piece table, an Excel
//! workbook with an Excel 4 macro sheet).

use std::io::{Cursor, Write};

use crate::ovba;

const CONTENT_TYPES_NS: &str = "http://schemas.openxmlformats.org/package/2006/content-types";
const RELATIONSHIPS_NS: &str = "http://schemas.openxmlformats.org/package/2006/relationships";
const OFFICE_DOCUMENT: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument";
const VBA_PROJECT: &str = "http://schemas.microsoft.com/office/2006/relationships/vbaProject";
const W_NS: &str = "http://schemas.openxmlformats.org/wordprocessingml/2006/main";
const R_NS: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";

/// An OPC package: members in order, each deflated, fixed times.
pub fn package(members: &[(&str, &[u8])]) -> Vec<u8> {
    crate::fixtures::zip(members)
}

/// `[Content_Types].xml` with the usual defaults and one override per
/// (part, content type).
pub fn content_types(extra_defaults: &[(&str, &str)], overrides: &[(&str, &str)]) -> String {
    let mut xml = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="{CONTENT_TYPES_NS}"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>"#
    );
    for (extension, content_type) in extra_defaults {
        xml.push_str(&format!(r#"<Default Extension="{extension}" ContentType="{content_type}"/>"#));
    }
    for (part, content_type) in overrides {
        xml.push_str(&format!(r#"<Override PartName="/{part}" ContentType="{content_type}"/>"#));
    }
    xml + "</Types>"
}

/// A relationships part from (id, type, target) triples; a target starting
/// with `http` is external.
pub fn relationships(rels: &[(&str, &str, &str)]) -> String {
    let mut xml =
        format!(r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="{RELATIONSHIPS_NS}">"#);
    for (id, kind, target) in rels {
        let mode =
            if target.starts_with("http") || target.starts_with("file:") { r#" TargetMode="External""# } else { "" };
        xml.push_str(&format!(r#"<Relationship Id="{id}" Type="{kind}" Target="{target}"{mode}/>"#));
    }
    xml + "</Relationships>"
}

/// A `word/document.xml` whose body is `body`.
pub fn word_document(body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="{W_NS}" xmlns:r="{R_NS}"><w:body>{body}</w:body></w:document>"#
    )
}

/// A paragraph of plain text.
pub fn paragraph(text: &str) -> String {
    format!("<w:p><w:r><w:t>{text}</w:t></w:r></w:p>")
}

/// A Word document (`docx`): `body` in `word/document.xml`, the document's
/// relationships `rels`, more parts in `extra` with their content types in
/// `extra_types` (extension, content type).
pub fn docx(body: &str, rels: &[(&str, &str, &str)], extra: &[(&str, &[u8])], extra_types: &[(&str, &str)]) -> Vec<u8> {
    let types = content_types(
        extra_types,
        &[("word/document.xml", "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml")],
    );
    let root_rels = relationships(&[("rId1", OFFICE_DOCUMENT, "word/document.xml")]);
    let document_rels = relationships(rels);
    let document = word_document(body);
    let mut members: Vec<(&str, &[u8])> = vec![
        ("[Content_Types].xml", types.as_bytes()),
        ("_rels/.rels", root_rels.as_bytes()),
        ("word/document.xml", document.as_bytes()),
        ("word/_rels/document.xml.rels", document_rels.as_bytes()),
    ];
    members.extend_from_slice(extra);
    package(&members)
}

/// A macro-enabled Word document (`docm`) showing `text`, with a real VBA
/// project (`word/vbaProject.bin`) whose module runs `AutoOpen`: olevba
/// lists the macro; the OOXML plugin removes it and makes a `docx`.
pub fn docm(text: &str) -> Vec<u8> {
    docm_with_modules(text, &[("Module1", ovba::AUTO_OPEN_MODULE)])
}

/// A macro-enabled Word document showing `text` whose VBA project holds
/// the given (name, source) modules.
pub fn docm_with_modules(text: &str, modules: &[(&str, &str)]) -> Vec<u8> {
    let vba = ovba::vba_project_bin(modules);
    let types = content_types(
        &[("bin", "application/vnd.ms-office.vbaProject")],
        &[("word/document.xml", "application/vnd.ms-word.document.macroEnabled.main+xml")],
    );
    let root_rels = relationships(&[("rId1", OFFICE_DOCUMENT, "word/document.xml")]);
    let document_rels = relationships(&[("rId9", VBA_PROJECT, "vbaProject.bin")]);
    let document = word_document(&paragraph(text));
    package(&[
        ("[Content_Types].xml", types.as_bytes()),
        ("_rels/.rels", root_rels.as_bytes()),
        ("word/document.xml", document.as_bytes()),
        ("word/_rels/document.xml.rels", document_rels.as_bytes()),
        ("word/vbaProject.bin", &vba),
    ])
}

const SHEET_NS: &str = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
const WORKSHEET: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet";

/// A worksheet with one row of inline-string cells.
pub fn worksheet(cells: &[&str]) -> String {
    let mut row = String::new();
    for (i, text) in cells.iter().enumerate() {
        let column = char::from(b'A' + i as u8);
        row.push_str(&format!(r#"<c r="{column}1" t="inlineStr"><is><t>{text}</t></is></c>"#));
    }
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="{SHEET_NS}"><sheetData><row r="1">{row}</row></sheetData></worksheet>"#
    )
}

/// A workbook: one sheet holding `cells`; `macro_enabled` adds a VBA
/// project (an `xlsm`).
pub fn workbook(cells: &[&str], macro_enabled: bool) -> Vec<u8> {
    let main = if macro_enabled {
        "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
    } else {
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
    };
    let mut defaults = Vec::new();
    if macro_enabled {
        defaults.push(("bin", "application/vnd.ms-office.vbaProject"));
    }
    let types = content_types(
        &defaults,
        &[
            ("xl/workbook.xml", main),
            ("xl/worksheets/sheet1.xml", "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"),
        ],
    );
    let root_rels = relationships(&[("rId1", OFFICE_DOCUMENT, "xl/workbook.xml")]);
    let mut rels = vec![("rId1", WORKSHEET, "worksheets/sheet1.xml")];
    if macro_enabled {
        rels.push(("rId2", VBA_PROJECT, "vbaProject.bin"));
    }
    let workbook_rels = relationships(&rels);
    let workbook = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="{SHEET_NS}" xmlns:r="{R_NS}"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"#
    );
    let sheet = worksheet(cells);
    let vba = ovba::vba_project_bin(&[("Module1", &ovba::AUTO_OPEN_MODULE.replace("AutoOpen", "Workbook_Open"))]);
    let mut members: Vec<(&str, &[u8])> = vec![
        ("[Content_Types].xml", types.as_bytes()),
        ("_rels/.rels", root_rels.as_bytes()),
        ("xl/workbook.xml", workbook.as_bytes()),
        ("xl/_rels/workbook.xml.rels", workbook_rels.as_bytes()),
        ("xl/worksheets/sheet1.xml", sheet.as_bytes()),
    ];
    if macro_enabled {
        members.push(("xl/vbaProject.bin", &vba));
    }
    package(&members)
}

/// A macro-enabled slide show (`ppsm`) without any VBA project: only its
/// type says macros; rebuilt, it is a `ppsx`.
pub fn ppsm_without_macros() -> Vec<u8> {
    const P_NS: &str = "http://schemas.openxmlformats.org/presentationml/2006/main";
    let types = content_types(
        &[],
        &[
            ("ppt/presentation.xml", "application/vnd.ms-powerpoint.slideshow.macroEnabled.main+xml"),
            ("ppt/slides/slide1.xml", "application/vnd.openxmlformats-officedocument.presentationml.slide+xml"),
        ],
    );
    let root_rels = relationships(&[("rId1", OFFICE_DOCUMENT, "ppt/presentation.xml")]);
    let presentation_rels = relationships(&[(
        "rId2",
        "http://schemas.openxmlformats.org/officeDocument/2006/relationships/slide",
        "slides/slide1.xml",
    )]);
    let presentation = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><p:presentation xmlns:p="{P_NS}" xmlns:r="{R_NS}"><p:sldIdLst><p:sldId id="256" r:id="rId2"/></p:sldIdLst><p:sldSz cx="9144000" cy="6858000"/><p:notesSz cx="6858000" cy="9144000"/></p:presentation>"#
    );
    let slide = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><p:sld xmlns:p="{P_NS}" xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"><p:cSld><p:spTree><p:nvGrpSpPr><p:cNvPr id="1" name=""/><p:cNvGrpSpPr/><p:nvPr/></p:nvGrpSpPr><p:grpSpPr/><p:sp><p:nvSpPr><p:cNvPr id="2" name="Title"/><p:cNvSpPr/><p:nvPr/></p:nvSpPr><p:spPr/><p:txBody><a:bodyPr/><a:p><a:r><a:t>Slide text</a:t></a:r></a:p></p:txBody></p:sp></p:spTree></p:cSld></p:sld>"#
    );
    package(&[
        ("[Content_Types].xml", types.as_bytes()),
        ("_rels/.rels", root_rels.as_bytes()),
        ("ppt/presentation.xml", presentation.as_bytes()),
        ("ppt/_rels/presentation.xml.rels", presentation_rels.as_bytes()),
        ("ppt/slides/slide1.xml", slide.as_bytes()),
    ])
}

/// A Word document with a workbook embedded as a package
/// (`word/embeddings/Microsoft_Excel_Worksheet.xlsx`), shown by a picture.
pub fn docx_with_embedded_workbook() -> Vec<u8> {
    docx_embedding_workbook(&["embedded", "42"])
}

/// A Word document with a workbook embedded as a package, whose one row
/// holds `cells`.
pub fn docx_embedding_workbook(cells: &[&str]) -> Vec<u8> {
    let workbook = workbook(cells, false);
    let body = r#"<w:p><w:r><w:object><v:shape xmlns:v="urn:schemas-microsoft-com:vml" id="_x0000_i1025" style="width:200pt;height:50pt"><v:imagedata r:id="rId5"/></v:shape><o:OLEObject xmlns:o="urn:schemas-microsoft-com:office:office" Type="Embed" ProgID="Excel.Sheet.12" ShapeID="_x0000_i1025" DrawAspect="Content" ObjectID="_1" r:id="rId6"/></w:object></w:r></w:p>"#;
    let picture = crate::fixtures::png(8, 8);
    docx(
        &format!("{}{body}", paragraph("A document with a workbook inside")),
        &[
            ("rId5", "http://schemas.openxmlformats.org/officeDocument/2006/relationships/image", "media/image1.png"),
            (
                "rId6",
                "http://schemas.openxmlformats.org/officeDocument/2006/relationships/package",
                "embeddings/Microsoft_Excel_Worksheet.xlsx",
            ),
        ],
        &[("word/media/image1.png", &picture), ("word/embeddings/Microsoft_Excel_Worksheet.xlsx", &workbook)],
        &[("png", "image/png"), ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")],
    )
}

/// A compound file holding `streams` (path, bytes) and, when `vba_root` is
/// given, a VBA project in that storage; fixed times.
pub fn compound_file(streams: &[(&str, &[u8])], storages: &[&str], vba_root: Option<&str>) -> Vec<u8> {
    let mut cfb = cfb::CompoundFile::create_with_version(cfb::Version::V3, Cursor::new(Vec::new())).unwrap();
    for storage in storages {
        cfb.create_storage_all(storage).unwrap();
    }
    for (path, data) in streams {
        cfb.create_stream(path).unwrap().write_all(data).unwrap();
    }
    if let Some(root) = vba_root {
        ovba::write_project(&mut cfb, root, &[("Module1", ovba::AUTO_OPEN_MODULE)]).unwrap();
    }
    ovba::fix_times(&mut cfb).unwrap();
    cfb.flush().unwrap();
    cfb.into_inner().into_inner()
}

/// The class id of Word 97 documents, `00020906-0000-0000-C000-000000000046`,
/// as a compound file stores it.
pub const WORD_97_CLSID: [u8; 16] = [6, 9, 2, 0, 0, 0, 0, 0, 0xC0, 0, 0, 0, 0, 0, 0, 0x46];
/// The class id of Excel 97 workbooks, `00020820-0000-0000-C000-000000000046`.
pub const EXCEL_97_CLSID: [u8; 16] = [0x20, 8, 2, 0, 0, 0, 0, 0, 0xC0, 0, 0, 0, 0, 0, 0, 0x46];

/// Sets the class id of the root storage of a compound file written by
/// [`compound_file`] (the root entry opens the first directory sector).
pub fn set_root_clsid(cfb: &mut [u8], clsid: [u8; 16]) {
    let shift = u16::from_le_bytes([cfb[0x1E], cfb[0x1F]]);
    let first_directory = u32::from_le_bytes(cfb[0x30..0x34].try_into().unwrap()) as usize;
    let root = (first_directory + 1) << shift;
    assert_eq!(&cfb[root..root + 20], &crate::ovba::utf16_name("Root Entry")[..20], "the root entry");
    cfb[root + 0x50..root + 0x60].copy_from_slice(&clsid);
}

/// A BIFF record.
fn biff(kind: u16, data: &[u8]) -> Vec<u8> {
    let mut record = kind.to_le_bytes().to_vec();
    record.extend((data.len() as u16).to_le_bytes());
    record.extend(data);
    record
}

/// A BOUNDSHEET record: sheet `name` of `kind` (0 worksheet, 1 Excel 4 macro sheet).
fn boundsheet(name: &str, kind: u8) -> Vec<u8> {
    let mut data = vec![0, 0, 0, 0, 0, kind, name.len() as u8, 0];
    data.extend(name.as_bytes());
    biff(0x0085, &data)
}

/// An Excel 97 workbook (`xls`) whose globals declare an Excel 4 macro
/// sheet started by a built-in `Auto_Open` name: the binary-document
/// plugin cannot remove it from the record stream, so the strict profile
/// blocks the file.
pub fn xls_with_excel4_macro_sheet() -> Vec<u8> {
    // BOF: BIFF8, workbook globals.
    let mut book = biff(0x0809, &[0x00, 0x06, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0, 0, 0, 0, 0x06, 0, 0, 0]);
    book.extend(boundsheet("Sheet1", 0));
    book.extend(boundsheet("Macro1", 1));
    // NAME: built-in (0x0020), name length 1, formula length 0, sheet 0,
    // then the option byte and the built-in name code 1 (Auto_Open).
    let mut name = vec![0x20, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00];
    name.extend([0x00, 0x01]);
    book.extend(biff(0x0018, &name));
    book.extend(biff(0x000A, &[]));
    let mut xls = compound_file(&[("/Workbook", &book)], &[], None);
    set_root_clsid(&mut xls, EXCEL_97_CLSID);
    xls
}

/// How a generated Word 97 document is built.
#[derive(Clone, Copy, Debug, Default)]
pub struct WordOptions {
    /// A VBA project in the `Macros` storage.
    pub macros: bool,
    /// Document properties (`\x05SummaryInformation`).
    pub properties: bool,
    /// The FIB's encryption flag.
    pub encrypted: bool,
    /// A packaged file (`Ole10Native`) in `ObjectPool`.
    pub packaged_file: bool,
}

/// The text of a Word 97 document with a DDEAUTO field: field begin
/// (0x13), instruction, separator (0x14), result, end (0x15).
pub fn word_text_with_dde() -> String {
    "Before the field. \u{13}DDEAUTO c:\\\\windows\\\\system32\\\\cmd.exe \"/k calc.exe\" \u{14}shown result\u{15} After.\r"
        .to_owned()
}

/// A Word 97 document (`doc`) whose text (one piece, found through the
/// piece table in `1Table` as Word finds it: cp1252 when every character
/// fits, UTF-16 otherwise, as Word writes Japanese) is `text`; its root
/// storage has Word's class id.
pub fn word97(text: &str, options: WordOptions) -> Vec<u8> {
    const TEXT_AT: usize = 0x800;
    let unicode = text.chars().any(|c| u32::from(c) > 0xFF);
    let characters = if unicode { text.encode_utf16().count() } else { text.chars().count() };
    let text: Vec<u8> = if unicode {
        text.encode_utf16().flat_map(u16::to_le_bytes).collect()
    } else {
        text.chars().map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?')).collect()
    };
    // The piece table: one piece, CPs [0, n], at TEXT_AT: compressed (cp1252, the
    // flag and the offset doubled) or UTF-16.
    let fc = if unicode { TEXT_AT as u32 } else { 0x4000_0000u32 | (TEXT_AT as u32 * 2) };
    let mut plc = Vec::new();
    plc.extend(0u32.to_le_bytes());
    plc.extend((characters as u32).to_le_bytes());
    plc.extend(0u16.to_le_bytes());
    plc.extend(fc.to_le_bytes());
    plc.extend(0u16.to_le_bytes());
    let mut clx = vec![0x02];
    clx.extend((plc.len() as u32).to_le_bytes());
    clx.extend(&plc);

    // FibBase: wIdent, nFib, unused, lid, pnNext, flags (fWhichTblStm,
    // fEncrypted), nFibBack, lKey, envr, flags, reserved.
    let mut fib = vec![0u8; 32];
    fib[0..2].copy_from_slice(&0xA5ECu16.to_le_bytes());
    fib[2..4].copy_from_slice(&0x00C1u16.to_le_bytes());
    fib[6..8].copy_from_slice(&0x0409u16.to_le_bytes());
    let flags = 0x0200 | if options.encrypted { 0x0100 } else { 0 };
    fib[0x0A..0x0C].copy_from_slice(&(flags as u16).to_le_bytes());
    fib[0x0C..0x0E].copy_from_slice(&0x00BFu16.to_le_bytes());
    // FibRgW97 (14 shorts), FibRgLw97 (22 longs, ccpText the fourth).
    fib.extend(14u16.to_le_bytes());
    fib.extend([0u8; 28]);
    fib.extend(22u16.to_le_bytes());
    let mut longs = [0u8; 88];
    longs[0..4].copy_from_slice(&((TEXT_AT + text.len()) as u32).to_le_bytes()); // cbMac
    longs[12..16].copy_from_slice(&(characters as u32).to_le_bytes()); // ccpText
    fib.extend(longs);
    // FibRgFcLcb97: 93 (fc, lcb) pairs; fcClx/lcbClx are pair 33.
    fib.extend(93u16.to_le_bytes());
    let mut pairs = vec![0u8; 93 * 8];
    pairs[33 * 8..33 * 8 + 4].copy_from_slice(&0u32.to_le_bytes());
    pairs[33 * 8 + 4..33 * 8 + 8].copy_from_slice(&(clx.len() as u32).to_le_bytes());
    fib.extend(pairs);
    fib.extend(0u16.to_le_bytes()); // cswNew
    assert!(fib.len() <= TEXT_AT);
    let mut document = fib;
    document.resize(TEXT_AT, 0);
    document.extend(&text);

    let mut streams: Vec<(&str, Vec<u8>)> = vec![("/WordDocument", document), ("/1Table", clx)];
    let mut storages = Vec::new();
    if options.properties {
        streams.push(("/\u{5}SummaryInformation", property_set()));
    }
    if options.packaged_file {
        storages.push("/ObjectPool/_1234567890");
        streams.push(("/ObjectPool/_1234567890/\u{1}Ole10Native", ole10_native("calc.exe", b"MZ\x90\0 not a program")));
    }
    let streams: Vec<(&str, &[u8])> = streams.iter().map(|(p, d)| (*p, d.as_slice())).collect();
    let mut doc = compound_file(&streams, &storages, options.macros.then_some("/Macros"));
    set_root_clsid(&mut doc, WORD_97_CLSID);
    doc
}

/// An empty property set stream (byte order, version, no sections but one
/// with no properties), the shape of `\x05SummaryInformation`.
fn property_set() -> Vec<u8> {
    let mut data = vec![0xFE, 0xFF, 0x00, 0x00, 0x05, 0x01, 0x02, 0x00];
    data.extend([0u8; 16]); // CLSID
    data.extend(1u32.to_le_bytes()); // one section
    // FMTID_SummaryInformation {F29F85E0-4FF9-1068-AB91-08002B27B3D9}.
    data.extend([0xE0, 0x85, 0x9F, 0xF2, 0xF9, 0x4F, 0x68, 0x10, 0xAB, 0x91, 0x08, 0x00, 0x2B, 0x27, 0xB3, 0xD9]);
    data.extend(48u32.to_le_bytes()); // the section's offset
    data.extend(8u32.to_le_bytes()); // section size
    data.extend(0u32.to_le_bytes()); // no properties
    data
}

/// An `Ole10Native` stream: a packaged file as the Packager writes it.
fn ole10_native(name: &str, data: &[u8]) -> Vec<u8> {
    let mut native = 2u16.to_le_bytes().to_vec();
    for field in [name, &format!("C:\\{name}")] {
        native.extend(field.as_bytes());
        native.push(0);
    }
    native.extend([0, 0, 3, 0]);
    let temp = format!("C:\\Temp\\{name}");
    native.extend((temp.len() as u32 + 1).to_le_bytes());
    native.extend(temp.as_bytes());
    native.push(0);
    native.extend((data.len() as u32).to_le_bytes());
    native.extend(data);
    let mut stream = (native.len() as u32).to_le_bytes().to_vec();
    stream.extend(native);
    stream
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_deterministic() {
        assert_eq!(docm("x"), docm("x"));
        assert_eq!(xls_with_excel4_macro_sheet(), xls_with_excel4_macro_sheet());
        let options = WordOptions { macros: true, properties: true, packaged_file: true, ..WordOptions::default() };
        assert_eq!(word97("text\r", options), word97("text\r", options));
    }

    #[test]
    fn the_word97_document_has_its_streams() {
        let doc = word97(&word_text_with_dde(), WordOptions { macros: true, ..WordOptions::default() });
        let cfb = cfb::CompoundFile::open(Cursor::new(doc)).unwrap();
        for path in ["/WordDocument", "/1Table", "/Macros/PROJECT", "/Macros/VBA/dir", "/Macros/VBA/Module1"] {
            assert!(cfb.exists(path), "{path}");
        }
        let clsid = cfb.root_entry().clsid().as_bytes().to_vec();
        assert_eq!(clsid[..4], [0x00, 0x02, 0x09, 0x06], "the class id as a UUID reads it: {clsid:02X?}");
    }
}

/// `package` (an OOXML ZIP) encrypted with MS-OFFCRYPTO *standard*
/// encryption (Office 2007: AES-128 in ECB mode, SHA-1 spun 50,000 times),
/// in a compound file with `EncryptionInfo` and `EncryptedPackage`, as
/// Office writes it (2.3.4.5 to 2.3.4.9), written here from the
/// specification on its own (msoffcrypto-tool writes only agile).
pub fn standard_encrypted(package: &[u8], password: &str) -> Vec<u8> {
    use aes::cipher::{BlockCipherEncrypt, KeyInit};
    use sha1::{Digest, Sha1};
    let salt = *b"standard-salt-16";
    let verifier = *b"verifier-16bytes";
    let password: Vec<u8> = password.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let mut hash = Sha1::new().chain_update(salt).chain_update(&password).finalize();
    for iteration in 0..50_000u32 {
        hash = Sha1::new().chain_update(iteration.to_le_bytes()).chain_update(hash).finalize();
    }
    let hash = Sha1::new().chain_update(hash).chain_update(0u32.to_le_bytes()).finalize();
    let derive = |fill: u8| {
        let mut buffer = [fill; 64];
        buffer.iter_mut().zip(hash.iter()).for_each(|(b, h)| *b ^= h);
        Sha1::digest(buffer)
    };
    let key = derive(0x36);
    let aes = aes::Aes128::new_from_slice(&key[..16]).unwrap();
    let encrypt = |data: &mut [u8]| {
        for block in data.chunks_exact_mut(16) {
            aes.encrypt_block(block.try_into().unwrap());
        }
    };
    let mut encrypted_verifier = verifier;
    encrypt(&mut encrypted_verifier);
    let mut verifier_hash = [0u8; 32];
    verifier_hash[..20].copy_from_slice(&Sha1::digest(verifier));
    encrypt(&mut verifier_hash);

    let mut header = Vec::new();
    // Flags (fCryptoAPI | fAES), SizeExtra, AES-128, SHA-1, key bits, provider type, reserved.
    for field in [0x24u32, 0, 0x660E, 0x8004, 128, 0x18, 0, 0] {
        header.extend(field.to_le_bytes());
    }
    header.extend("Microsoft Enhanced RSA and AES Cryptographic Provider\0".encode_utf16().flat_map(u16::to_le_bytes));
    let mut info = vec![3, 0, 2, 0];
    info.extend(0x24u32.to_le_bytes());
    info.extend((header.len() as u32).to_le_bytes());
    info.extend(header);
    info.extend(16u32.to_le_bytes());
    info.extend(salt);
    info.extend(encrypted_verifier);
    info.extend(20u32.to_le_bytes());
    info.extend(verifier_hash);

    let mut data = package.to_vec();
    data.resize(package.len().div_ceil(16) * 16, 0);
    encrypt(&mut data);
    let mut stream = (package.len() as u64).to_le_bytes().to_vec();
    stream.extend(data);
    compound_file(&[("/EncryptionInfo", &info), ("/EncryptedPackage", &stream)], &[], None)
}
