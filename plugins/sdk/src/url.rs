//! Where a URL in SVG, HTML or CSS reaches.
//!
//! Shared by the SVG and HTML plugins (and CSS, through [`crate::css`]).
//!
//! The judgement is made on the URL as a browser reads it: the URL parser
//! drops tabs and newlines anywhere and control characters and spaces at
//! both ends, so `java&#9;script:` is a `javascript:` URL. A document reaches
//! nothing outside itself only through a same-document `#fragment` (or a
//! `cid:` part of the same message). A `data:` URL carries its content
//! inline: raster images are plain content, markup and script can run, the
//! rest (fonts, application data) is active content.

use crate::ContentClass;

/// What a URL reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reach {
    /// Nothing, a fragment of the same document or a part of the same message.
    Here,
    /// An inline raster image (`data:image/png;base64,…`).
    InlineImage,
    /// Another document or resource: remote, relative, or a local file.
    Outside,
    /// Inline data that is neither an image nor markup (fonts, application data).
    InlineData,
    /// Script: `javascript:`, `vbscript:`, or inline markup or text
    /// (`data:text/html`, `data:image/svg+xml`, `data:,alert(1)` as a script source).
    Script,
}

impl Reach {
    /// The content class of such a URL used as a link (followed when clicked)
    /// or as a resource (loaded with the document); `None` for content.
    pub fn class(self, link: bool) -> Option<ContentClass> {
        match self {
            Reach::Here | Reach::InlineImage => None,
            Reach::Outside if link => Some(ContentClass::Hyperlinks),
            Reach::Outside => Some(ContentClass::ExternalLinks),
            Reach::InlineData => Some(ContentClass::ActiveObjects),
            Reach::Script => Some(ContentClass::Scripts),
        }
    }
}

/// Raster image types a `data:` URL may carry as plain content.
const IMAGE_TYPES: [&str; 5] = ["image/png", "image/jpeg", "image/jpg", "image/gif", "image/webp"];

/// Judges `url` (attribute value or CSS URL, entities and escapes already decoded).
pub fn reach(url: &str) -> Reach {
    let url: String =
        url.trim_matches(|c: char| c <= ' ').chars().filter(|c| !matches!(c, '\t' | '\n' | '\r')).collect();
    if url.is_empty() || url.starts_with('#') {
        return Reach::Here;
    }
    let Some((scheme, rest)) = url.split_once(':') else {
        return Reach::Outside;
    };
    let is_scheme = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !is_scheme {
        return Reach::Outside;
    }
    match scheme.to_ascii_lowercase().as_str() {
        "javascript" | "vbscript" | "livescript" => Reach::Script,
        "cid" | "mid" => Reach::Here,
        "data" => {
            let header = rest.split(',').next().unwrap_or_default();
            let media = header.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
            let markup = ["html", "xml", "script", "text/"].iter().any(|m| media.contains(m));
            if IMAGE_TYPES.contains(&media.as_str()) {
                Reach::InlineImage
            } else if media.is_empty() || markup {
                Reach::Script
            } else {
                Reach::InlineData
            }
        }
        _ => Reach::Outside,
    }
}

/// A URL shortened for a finding's detail.
pub fn shown(url: &str) -> String {
    const MAX: usize = 80;
    let url = url.trim();
    if url.chars().count() <= MAX {
        return url.to_owned();
    }
    let mut short: String = url.chars().take(MAX).collect();
    short.push('…');
    short
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_read_as_browsers_read_them() {
        assert_eq!(reach(""), Reach::Here);
        assert_eq!(reach(" #frag"), Reach::Here);
        assert_eq!(reach("cid:part1@example.jp"), Reach::Here);
        assert_eq!(reach("java\tscript:alert(1)"), Reach::Script);
        assert_eq!(reach("javascrip\nt:alert(1)"), Reach::Script);
        assert_eq!(reach("\u{1}JaVaScRiPt:alert(1)"), Reach::Script);
        assert_eq!(reach("vbscript:msgbox"), Reach::Script);
        assert_eq!(reach("data:image/png;base64,iVBORw0KGgo="), Reach::InlineImage);
        assert_eq!(reach("DATA:Image/JPEG;base64,/9j/"), Reach::InlineImage);
        assert_eq!(reach("data:image/svg+xml,%3Csvg onload=alert(1)%3E"), Reach::Script);
        assert_eq!(reach("data:data:image/svg+xml,x"), Reach::Script);
        assert_eq!(reach("data:text/html;base64,PHNjcmlwdD4="), Reach::Script);
        assert_eq!(reach("data:,alert(1)"), Reach::Script);
        assert_eq!(reach("data:font/woff2;base64,d09GMgAB"), Reach::InlineData);
        for outside in
            ["http://example.jp/a.png", "//example.jp/a", "/a.svg", "a.svg#x", "text:/etc/passwd", "file:///C:/x"]
        {
            assert_eq!(reach(outside), Reach::Outside, "{outside}");
        }
    }

    #[test]
    fn classes_by_use() {
        assert_eq!(Reach::Outside.class(true), Some(ContentClass::Hyperlinks));
        assert_eq!(Reach::Outside.class(false), Some(ContentClass::ExternalLinks));
        assert_eq!(Reach::InlineImage.class(false), None);
        assert_eq!(Reach::Script.class(true), Some(ContentClass::Scripts));
        assert_eq!(shown(&"x".repeat(100)).chars().count(), 81);
    }
}
