//! What each part and relationship is, in the policy's vocabulary.
//!
//! Parts are judged by content type (what the consumer will load them as),
//! relationships by type and target mode. Anything not recognized as a
//! passive part is an unknown part.

use sekisho_plugin_sdk::ContentClass;

use crate::opc::Relationship;

/// The class of a part that is active content, with a label for the report;
/// `None` for passive parts.
pub fn part_class(content_type: &str, name: &str) -> Option<(ContentClass, &'static str)> {
    let ct = content_type;
    let has = |needle: &str| ct.contains(needle);
    Some(match () {
        _ if has("vbaproject") || has("vbadata") || name.ends_with("vbaproject.bin") => {
            (ContentClass::Macros, "VBA project")
        }
        _ if has("macrosheet") || has("dialogsheet") => (ContentClass::Macros, "Excel 4 (XLM) macro sheet"),
        _ if has("keymapcustomizations") || has("attachedtoolbars") => (ContentClass::Macros, "macro key bindings"),
        _ if has("activex") => (ContentClass::ActiveObjects, "ActiveX control"),
        _ if has("controlproperties") => (ContentClass::ActiveObjects, "form control"),
        _ if has("oleobject") => (ContentClass::ActiveObjects, "embedded OLE object"),
        _ if has("externallink") => (ContentClass::ExternalLinks, "link to an external workbook"),
        _ if has("connections+xml") || has("querytable") => (ContentClass::DataConnections, "data connection"),
        _ if has("webextension") || has("taskpane") => (ContentClass::ExternalLinks, "web add-in"),
        _ if has("core-properties") || has("extended-properties") || has("custom-properties") => {
            (ContentClass::Metadata, "document properties")
        }
        _ if has("comment") || has("threadedcomments") || has("person+xml") || has("people+xml") => {
            (ContentClass::Comments, "comments")
        }
        _ if has("revisionheaders") || has("revisionlog") || has("usernames") => {
            (ContentClass::Revisions, "shared workbook revisions")
        }
        _ => return None,
    })
}

/// True for content types of parts that are plain document content: the
/// document's own XML vocabularies, pictures, sound and video, fonts.
pub fn is_passive(content_type: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "application/vnd.openxmlformats-officedocument.",
        "application/vnd.openxmlformats-package.",
        "application/vnd.ms-office.",
        "application/vnd.ms-excel.",
        "application/vnd.ms-word.",
        "application/vnd.ms-powerpoint.",
        "application/xml",
        "text/xml",
        "image/",
        "audio/",
        "video/",
        "application/x-fontdata",
        "application/x-font",
        "application/vnd.ms-fontobject",
        "font/",
    ];
    PREFIXES.iter().any(|prefix| content_type.starts_with(prefix))
}

/// Relationships whose target is a document of its own, rebuilt through the host.
pub fn is_embedded_package(rel: &Relationship) -> bool {
    !rel.external && matches!(rel.short_kind(), "package" | "aFChunk")
}

/// The class of a relationship itself, for external targets and parts
/// recognized by their relationship alone.
pub fn relationship_class(rel: &Relationship) -> Option<(ContentClass, &'static str)> {
    let kind = rel.short_kind();
    if rel.external {
        return Some(match kind {
            "hyperlink" => (ContentClass::Hyperlinks, "hyperlink"),
            "mailMergeSource" | "mailMergeRecipientData" | "mailMergeHeaderSource" | "recipientData" => {
                (ContentClass::DataConnections, "mail merge data source")
            }
            "attachedTemplate" => (ContentClass::ExternalLinks, "remote template"),
            "oleObject" => (ContentClass::ExternalLinks, "linked OLE object"),
            "frame" => (ContentClass::ExternalLinks, "remote frame"),
            "subDocument" => (ContentClass::ExternalLinks, "remote subdocument"),
            "image" => (ContentClass::ExternalLinks, "remote image"),
            "externalLinkPath" | "externalLink" => (ContentClass::ExternalLinks, "external workbook"),
            _ => (ContentClass::ExternalLinks, "external target"),
        });
    }
    match kind {
        "extensibility" => Some((ContentClass::Macros, "ribbon customization that calls macros")),
        "thumbnail" => Some((ContentClass::Metadata, "thumbnail of an earlier state")),
        _ => None,
    }
}

/// A macro-enabled main content type and its macro-free counterpart.
pub fn macro_free(content_type: &str) -> Option<&'static str> {
    Some(match content_type {
        "application/vnd.ms-word.document.macroenabled.main+xml" => {
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
        }
        "application/vnd.ms-word.template.macroenabledtemplate.main+xml" => {
            "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml"
        }
        "application/vnd.ms-excel.sheet.macroenabled.main+xml" => {
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
        }
        "application/vnd.ms-excel.template.macroenabled.main+xml" => {
            "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml"
        }
        "application/vnd.ms-powerpoint.presentation.macroenabled.main+xml" => {
            "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml"
        }
        "application/vnd.ms-powerpoint.slideshow.macroenabled.main+xml" => {
            "application/vnd.openxmlformats-officedocument.presentationml.slideshow.main+xml"
        }
        "application/vnd.ms-powerpoint.template.macroenabled.main+xml" => {
            "application/vnd.openxmlformats-officedocument.presentationml.template.main+xml"
        }
        _ => return None,
    })
}
