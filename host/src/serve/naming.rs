//! File names at the gateway's edges: read from requests (URLs,
//! `Content-Disposition`) and written into answers, where a name is built,
//! never copied (RFC 6266: an ASCII `filename` and an exact `filename*`).

/// `%xx` escapes decoded; invalid UTF-8 replaced.
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The last segment of a URL's path, decoded: `http://h/a/b%20c.pdf?x` → `b c.pdf`.
pub fn url_file_name(url: &str) -> Option<String> {
    let path = url.split(['?', '#']).next().unwrap_or_default();
    let path = match path.find("://") {
        Some(i) => path[i + 3..].find('/').map_or("", |j| &path[i + 3 + j..]),
        None => path,
    };
    base_name(&percent_decode(path.rsplit('/').next().unwrap_or_default()))
}

/// The file name of a path, without folders; `None` when empty.
pub fn base_name(path: &str) -> Option<String> {
    let name = path.rsplit(['/', '\\']).next().unwrap_or_default().trim();
    (!name.is_empty()).then(|| name.to_owned())
}

/// The file name of a `Content-Disposition` value: `filename*` (RFC 6266,
/// `UTF-8''…`) first, else `filename`; folders removed.
pub fn disposition_filename(value: &str) -> Option<String> {
    let params = parameters(value);
    let find = |key: &str| params.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    let extended = find("filename*").and_then(|v| v.split_once("''")).map(|(_, encoded)| percent_decode(encoded));
    extended.or_else(|| find("filename").map(str::to_owned)).and_then(|name| base_name(&name))
}

/// The parameters of a header value such as `attachment; filename="a;b.pdf"`:
/// (lowercase name, unquoted value) pairs after the first `;`.
pub fn parameters(value: &str) -> Vec<(String, String)> {
    let mut params = Vec::new();
    let mut chars = value.chars().skip_while(|&c| c != ';').peekable();
    while chars.next().is_some() {
        let mut name = String::new();
        while let Some(c) = chars.next_if(|&c| c != '=' && c != ';') {
            name.push(c);
        }
        if chars.next_if_eq(&'=').is_none() {
            continue;
        }
        while chars.next_if(|c| c.is_ascii_whitespace()).is_some() {}
        let mut text = String::new();
        if chars.next_if_eq(&'"').is_some() {
            while let Some(c) = chars.next() {
                match c {
                    '"' => break,
                    '\\' => text.extend(chars.next()),
                    c => text.push(c),
                }
            }
            while chars.next_if(|&c| c != ';').is_some() {}
        } else {
            while let Some(c) = chars.next_if(|&c| c != ';') {
                text.push(c);
            }
        }
        params.push((name.trim().to_ascii_lowercase(), text.trim().to_owned()));
    }
    params
}

/// A `Content-Disposition` value for a file name: an ASCII `filename` in
/// which quotes, backslashes, `;`, `%` and controls became `_`, and
/// `filename*` with the exact name whenever the two differ. No character of
/// the name can end the quoted string or start another parameter.
pub fn content_disposition(kind: &str, name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| if (c.is_ascii_graphic() || c == ' ') && !matches!(c, '"' | '\\' | ';' | '%') { c } else { '_' })
        .collect();
    let mut value = format!("{kind}; filename=\"{ascii}\"");
    if ascii != name {
        value.push_str("; filename*=UTF-8''");
        for b in name.bytes() {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                value.push(b as char);
            } else {
                value.push_str(&format!("%{b:02X}"));
            }
        }
    }
    value
}

/// The name a rebuilt file is delivered under: the base name of `name`
/// (folders dropped) with its extension replaced by `extension`, which must
/// be 1 to 10 lowercase letters or digits (else `bin`). `report.docm`
/// rebuilt as docx becomes `report.docx`.
pub fn download_name(name: &str, extension: &str) -> String {
    let valid =
        (1..=10).contains(&extension.len()) && extension.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    let extension = if valid { extension } else { "bin" };
    let file = base_name(name).unwrap_or_else(|| "file".into());
    match file.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => format!("{stem}.{extension}"),
        _ => format!("{file}.{extension}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_cannot_inject_parameters() {
        let evil = "a\"; filename*=UTF-8''evil%2Ehta; y=\".x";
        let value = content_disposition("attachment", &download_name(evil, "txt"));
        let params = parameters(&value);
        let names: Vec<&str> = params.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["filename", "filename*"], "{value}");
        assert!(!value.contains("evil%2Ehta"), "{value}");
        assert_eq!(disposition_filename(&value).unwrap(), "a\"; filename*=UTF-8''evil%2Ehta; y=\".txt");
    }

    #[test]
    fn download_names_take_the_checked_extension() {
        assert_eq!(download_name("dir/report.docm", "docx"), "report.docx");
        assert_eq!(download_name("C:\\x\\報告書.docm", "docx"), "報告書.docx");
        assert_eq!(download_name("noext", "pdf"), "noext.pdf");
        assert_eq!(download_name("a.pdf", "x/y"), "a.bin");
        assert_eq!(download_name("a.pdf", "HTML"), "a.bin");
        let value = content_disposition("attachment", "報告書.docx");
        assert_eq!(disposition_filename(&value).unwrap(), "報告書.docx");
    }
}
