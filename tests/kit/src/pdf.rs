//! PDF files written object by object with a classic cross-reference
//! table: pages of text, JavaScript run on open, a Launch action,
//! attachments.

/// Serializes `objects` (numbered from 1, object 1 the catalog) as a PDF
/// with a cross-reference table and a trailer.
pub fn write(objects: &[Vec<u8>]) -> Vec<u8> {
    let mut out = b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, object) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend(object);
        out.extend(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for offset in offsets {
        out.extend(format!("{offset:010} 00000 n \n").as_bytes());
    }
    out.extend(
        format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).as_bytes(),
    );
    out
}

/// A dictionary object from its text.
fn object(text: impl Into<String>) -> Vec<u8> {
    text.into().into_bytes()
}

/// A stream object with `extra` entries in its dictionary.
fn stream(extra: &str, data: &[u8]) -> Vec<u8> {
    let mut out = format!("<< /Length {}{extra} >>\nstream\n", data.len()).into_bytes();
    out.extend(data);
    out.extend(b"\nendstream");
    out
}

/// A page's content: `lines` lines of text.
fn page_text(page: usize, lines: usize) -> Vec<u8> {
    let mut content = String::new();
    for line in 0..lines {
        let y = 800 - 15 * line;
        content.push_str(&format!(
            "BT /F1 10 Tf 40 {y} Td (Page {page}, line {line}: text that a sanitizer must keep as it is.) Tj ET\n"
        ));
    }
    content.into_bytes()
}

/// What goes into a generated PDF.
#[derive(Clone, Debug, Default)]
pub struct Spec {
    pub pages: usize,
    /// Lines of text per page.
    pub lines: usize,
    /// JavaScript run when the document opens (`/OpenAction`), also listed
    /// in the document-level `/Names /JavaScript` tree.
    pub open_action_js: Option<String>,
    /// A link annotation on the first page whose action launches this program.
    pub launch: Option<String>,
    /// Attached files (`/Names /EmbeddedFiles`), by name.
    pub attachments: Vec<(String, Vec<u8>)>,
    /// Attachments are written encoded (`/ASCIIHexDecode`), as real PDFs
    /// write them compressed: their bytes are not in the file as they are.
    pub encoded_attachments: bool,
}

/// Builds the PDF a [`Spec`] describes.
pub fn build(spec: &Spec) -> Vec<u8> {
    let pages = spec.pages.max(1);
    // 1 catalog, 2 pages, 3 font, then per page: page and content, then actions and files.
    let mut objects: Vec<Vec<u8>> =
        vec![Vec::new(), Vec::new(), object("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")];
    let mut kids = Vec::new();
    let mut first_page_annots = String::new();
    let launch_at = 4 + 2 * pages;
    if spec.launch.is_some() {
        first_page_annots = format!(" /Annots [{launch_at} 0 R]");
    }
    for page in 0..pages {
        let id = objects.len() + 1;
        kids.push(format!("{id} 0 R"));
        let annots = if page == 0 { first_page_annots.as_str() } else { "" };
        objects.push(object(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> /Contents {} 0 R{annots} >>",
            id + 1
        )));
        objects.push(stream("", &page_text(page + 1, spec.lines)));
    }
    if let Some(program) = &spec.launch {
        assert_eq!(objects.len() + 1, launch_at);
        objects.push(object(format!(
            "<< /Type /Annot /Subtype /Link /Rect [40 700 300 720] /Border [0 0 0] /A << /S /Launch /F ({program}) /NewWindow true >> >>"
        )));
    }
    let mut catalog_extra = String::new();
    let mut names = String::new();
    if let Some(js) = &spec.open_action_js {
        let action = objects.len() + 1;
        objects.push(object(format!("<< /Type /Action /S /JavaScript /JS ({}) >>", escape(js))));
        catalog_extra.push_str(&format!(" /OpenAction {action} 0 R"));
        names.push_str(&format!(" /JavaScript << /Names [(open) {action} 0 R] >>"));
    }
    if !spec.attachments.is_empty() {
        let mut entries = String::new();
        let mut attachments: Vec<&(String, Vec<u8>)> = spec.attachments.iter().collect();
        attachments.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, data) in attachments {
            let file = objects.len() + 1;
            if spec.encoded_attachments {
                let mut hex: String = data.iter().map(|b| format!("{b:02X}")).collect();
                hex.push('>');
                objects.push(stream(" /Type /EmbeddedFile /Filter /ASCIIHexDecode", hex.as_bytes()));
            } else {
                objects.push(stream(" /Type /EmbeddedFile", data));
            }
            let spec_id = objects.len() + 1;
            objects.push(object(format!(
                "<< /Type /Filespec /F ({n}) /UF ({n}) /EF << /F {file} 0 R >> >>",
                n = escape(name)
            )));
            entries.push_str(&format!("({}) {spec_id} 0 R ", escape(name)));
        }
        names.push_str(&format!(" /EmbeddedFiles << /Names [{}] >>", entries.trim_end()));
    }
    if !names.is_empty() {
        catalog_extra.push_str(&format!(" /Names <<{names} >>"));
    }
    objects[0] = object(format!("<< /Type /Catalog /Pages 2 0 R{catalog_extra} >>"));
    objects[1] = object(format!("<< /Type /Pages /Kids [{}] /Count {pages} >>", kids.join(" ")));
    write(&objects)
}

/// Escapes a PDF literal string.
fn escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('(', "\\(").replace(')', "\\)")
}

/// A three-page PDF (over 8 KiB, for previews and partial reads) that runs
/// JavaScript when it opens and has a link launching `calc.exe`.
pub fn with_javascript() -> Vec<u8> {
    build(&Spec {
        pages: 3,
        lines: 40,
        open_action_js: Some("app.alert('Sekisho test fixture: this script runs when the file opens');".into()),
        launch: Some("calc.exe".into()),
        ..Spec::default()
    })
}

/// A one-page PDF with the given attachments.
pub fn with_attachments(attachments: &[(&str, &[u8])]) -> Vec<u8> {
    build(&Spec {
        pages: 1,
        lines: 3,
        attachments: attachments.iter().map(|(n, d)| (n.to_string(), d.to_vec())).collect(),
        ..Spec::default()
    })
}

/// A one-page PDF that draws `jpeg` (a JPEG file, `/DCTDecode`) of
/// `width` by `height` pixels.
pub fn with_jpeg(jpeg: &[u8], width: u32, height: u32) -> Vec<u8> {
    let draw = format!("q {width} 0 0 {height} 40 600 cm /Im1 Do Q\n");
    write(&[
        object("<< /Type /Catalog /Pages 2 0 R >>"),
        object("<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
        object(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /XObject << /Im1 5 0 R >> >> /Contents 4 0 R >>",
        ),
        stream("", draw.as_bytes()),
        stream(
            &format!(
                " /Type /XObject /Subtype /Image /Width {width} /Height {height} /ColorSpace /DeviceRGB \
                 /BitsPerComponent 8 /Filter /DCTDecode"
            ),
            jpeg,
        ),
    ])
}

/// [`with_attachments`], the attachments encoded (`/ASCIIHexDecode`).
pub fn with_encoded_attachments(attachments: &[(&str, &[u8])]) -> Vec<u8> {
    build(&Spec {
        pages: 1,
        lines: 3,
        attachments: attachments.iter().map(|(n, d)| (n.to_string(), d.to_vec())).collect(),
        encoded_attachments: true,
        ..Spec::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_javascript_pdf_is_large_enough_for_previews() {
        let pdf = with_javascript();
        assert!(pdf.len() > 8192, "{} bytes", pdf.len());
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.contains("/OpenAction") && text.contains("/JavaScript") && text.contains("/Launch"));
        assert_eq!(pdf, with_javascript());
    }

    #[test]
    fn cross_reference_offsets_point_at_objects() {
        let pdf = with_attachments(&[("a.txt", b"hello")]);
        let text = String::from_utf8_lossy(&pdf);
        let xref = text.rfind("xref\n").unwrap();
        for (i, line) in text[xref..].lines().skip(3).take_while(|l| l.ends_with(" n ")).enumerate() {
            let offset: usize = line[..10].parse().unwrap();
            assert!(text[offset..].starts_with(&format!("{} 0 obj", i + 1)), "object {}", i + 1);
        }
    }
}
