//! Word field instructions, shared by the formats that carry them (OOXML,
//! the binary `.doc`, RTF): the same `DDEAUTO` runs a command whatever file
//! it sits in.

use crate::ContentClass;

/// The class of a field instruction that reaches outside the document or
/// runs something, with its keyword for the report; `None` for fields that
/// only format or compute (PAGE, DATE, MERGEFIELD…).
pub fn field_class(instruction: &str) -> Option<(ContentClass, &'static str)> {
    let keyword = instruction.split_whitespace().next()?.trim_start_matches('\\').to_ascii_uppercase();
    Some(match keyword.as_str() {
        "DDE" => (ContentClass::Dde, "DDE"),
        "DDEAUTO" => (ContentClass::Dde, "DDEAUTO"),
        "INCLUDETEXT" => (ContentClass::ExternalLinks, "INCLUDETEXT"),
        "INCLUDEPICTURE" => (ContentClass::ExternalLinks, "INCLUDEPICTURE"),
        "INCLUDE" => (ContentClass::ExternalLinks, "INCLUDE"),
        "IMPORT" => (ContentClass::ExternalLinks, "IMPORT"),
        "LINK" => (ContentClass::ExternalLinks, "LINK"),
        "DATABASE" => (ContentClass::DataConnections, "DATABASE"),
        "HYPERLINK" => (ContentClass::Hyperlinks, "HYPERLINK"),
        "MACROBUTTON" => (ContentClass::Macros, "MACROBUTTON"),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_keywords() {
        assert_eq!(field_class(" DDEAUTO c:\\\\windows\\\\cmd.exe \"/c calc\"").map(|c| c.1), Some("DDEAUTO"));
        assert_eq!(field_class("includePicture \"http://x/y.png\" \\d").map(|c| c.1), Some("INCLUDEPICTURE"));
        assert_eq!(field_class(" ddeauto x").map(|c| c.0), Some(ContentClass::Dde));
        assert_eq!(field_class(" PAGE "), None);
        assert_eq!(field_class(""), None);
    }
}
