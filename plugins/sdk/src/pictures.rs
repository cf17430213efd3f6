//! Pictures inside documents (an OOXML package's `media/`, ODF `Pictures/`,
//! a mail's inline images), sent through the host to the image plugin and
//! rebuilt like a top-level image: EXIF and GPS, XMP, IPTC, comments and
//! text chunks go, the pixels stay. The policy option `embedded-images`
//! (`rebuild`, the default, or `keep`) decides; every plugin that holds
//! pictures declares the same option.

use crate::embed::Refused;
use crate::{ContentClass, Decision, Disposition, EmbeddedOutcome, Failure, Findings, Host, OptionDeclaration, Policy};

/// The option's name in the policy's `[options]`.
pub const OPTION: &str = "embedded-images";

/// The declaration every plugin holding pictures makes.
pub fn option() -> OptionDeclaration {
    OptionDeclaration {
        name: OPTION.into(),
        values: vec!["rebuild".into(), "keep".into()],
        default: "rebuild".into(),
        doc: "Pictures inside documents: rebuilt by the image plugin (metadata removed) or kept as they are".into(),
    }
}

/// True when `data` starts like a raster format the image plugin rebuilds
/// (PNG, JPEG, GIF, TIFF, WebP, BMP). Vector pictures (EMF, WMF, SVG) and
/// anything else stay as the document's own plugin decides.
pub fn is_raster(data: &[u8]) -> bool {
    data.starts_with(b"\x89PNG\r\n\x1a\n")
        || data.starts_with(b"\xFF\xD8\xFF")
        || data.starts_with(b"GIF87a")
        || data.starts_with(b"GIF89a")
        || data.starts_with(b"II*\0")
        || data.starts_with(b"MM\0*")
        || (data.len() >= 12 && &data[..4] == b"RIFF" && &data[8..12] == b"WEBP")
        || (data.len() >= 14 && data.starts_with(b"BM"))
}

/// What becomes of one picture.
#[derive(Debug, PartialEq, Eq)]
pub enum Picture {
    /// Kept as it is: the policy keeps pictures, it is not a raster
    /// picture, or its rebuild is byte for byte the same.
    Keep,
    /// Rebuilt: put these bytes in its place (same format).
    Rebuilt(Vec<u8>),
    /// The image plugin could not rebuild it (broken, a decompression
    /// bomb) and the policy removes unknown parts.
    Remove,
}

/// Rebuilds the picture `data`, found at `location` and named `name`,
/// through `host`. A rebuild that removed something is one grouped
/// `metadata` finding per document; a picture the image plugin refuses is
/// an `unknown-parts` decision; a blocked picture or one over a limit fails
/// the whole document.
pub fn rebuild<H: Host + ?Sized>(
    findings: &mut Findings,
    policy: &Policy,
    host: &mut H,
    location: &str,
    name: &str,
    data: &[u8],
) -> Result<Picture, Failure> {
    if policy.option(OPTION) == Some("keep") || !is_raster(data) {
        return Ok(Picture::Keep);
    }
    match host.sanitize_embedded(name, data) {
        // Nothing changed: the document keeps the picture as it came.
        Ok(rebuilt) if rebuilt.data == data => Ok(Picture::Keep),
        Ok(rebuilt) => {
            if rebuilt.outcome == EmbeddedOutcome::Sanitized {
                findings.decide_grouped(
                    policy,
                    ContentClass::Metadata,
                    Disposition::Neutralized,
                    "pictures",
                    "pictures rebuilt by the image plugin, their metadata removed",
                )?;
            }
            Ok(Picture::Rebuilt(rebuilt.data))
        }
        Err(refusal) => match findings.refusal(ContentClass::Metadata, location, refusal)? {
            // No plugin for pictures (a host without the image plugin, a
            // native test): they stay as they were before pictures were rebuilt.
            Refused::Unsupported(_) => Ok(Picture::Keep),
            Refused::Failed(why) => {
                let detail = format!("picture the image plugin could not rebuild ({why})");
                Ok(
                    match findings.decide(policy, ContentClass::UnknownParts, Disposition::Removed, location, detail)? {
                        Decision::Sanitize => Picture::Remove,
                        Decision::Keep => Picture::Keep,
                    },
                )
            }
        },
    }
}
