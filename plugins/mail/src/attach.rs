//! Attachments, inline images and forwarded messages.
//!
//! With `sanitize`, each goes back through the host to the plugin for its
//! own type (a forwarded message comes back to this plugin) and is
//! re-attached rebuilt, its name given the extension of what it was rebuilt
//! as (a .docm comes back a .docx) and its media type that of the rebuilt
//! format, not the sender's. What no plugin rebuilds is removed and the text
//! body gets a note saying what and why; TNEF (winmail.dat) is not unpacked
//! and goes the same way. `allow` keeps attachments as they are, `block`
//! refuses the message.

use sekisho_plugin_sdk::{Action, ContentClass, Disposition, Embedded, Embedder, Failure};

use crate::headers::shown;
use crate::mime::{Content, Node};
use crate::rebuild::{Part, Rebuild, is_printable};

impl<E: Embedder + ?Sized> Rebuild<'_, E> {
    /// An attachment with its decoded `data`: rebuilt, kept or removed.
    pub fn attachment(&mut self, part: &Part, data: Vec<u8>) -> Result<Option<Node>, Failure> {
        self.account(data.len())?;
        let is_message = matches!(part.media_type.as_str(), "message/rfc822" | "message/global");
        let name = part.name();
        let what = match &name {
            Some(name) => format!("attachment {:?}", shown(name)),
            None => part.media_type.clone(),
        };
        let location = part.location(&what);
        let class = ContentClass::EmbeddedFiles;
        if self.policy.action(class) != Action::Sanitize {
            // `allow` keeps it as it is (recorded); `block` refuses the message.
            self.findings.decide(self.policy, class, Disposition::Kept, &location, "attachment kept as it is")?;
            let media_type =
                if is_media_type(&part.media_type) { part.media_type.as_str() } else { "application/octet-stream" };
            let mut node = Node::new(media_type, if is_message { Content::Message(data) } else { Content::Data(data) });
            node.params.extend(part.param("charset").filter(|c| is_printable(c)).map(|c| ("charset".into(), c.into())));
            node.name = name;
            return Ok(Some(part.carry(node)));
        }
        let tnef = matches!(part.media_type.as_str(), "application/ms-tnef" | "application/vnd.ms-tnef")
            || name.as_deref().is_some_and(|n| n.eq_ignore_ascii_case("winmail.dat"));
        if tnef {
            return Ok(self.removed(part, &what, &location, "Outlook TNEF (winmail.dat) is not unpacked"));
        }
        if part.part.is_encoding_problem {
            return Ok(self.removed(part, &what, &location, "its transfer encoding is broken"));
        }
        let sent_as = name.clone().unwrap_or_else(|| if is_message { "message.eml" } else { "attachment" }.into());
        let rebuilt = match self.findings.embed(self.embedder, class, &location, &sent_as, &data)? {
            Embedded::Rebuilt(rebuilt) => rebuilt,
            Embedded::Refused(why) => return Ok(self.removed(part, &what, &location, &why)),
        };
        let mut node = if rebuilt.format == "eml" {
            Node::new("message/rfc822", Content::Message(rebuilt.data))
        } else {
            // The host names the rebuilt format's media type (from its plugin's description).
            let media_type = if is_media_type(&rebuilt.media_type) {
                rebuilt.media_type.as_str()
            } else {
                "application/octet-stream"
            };
            let mut node = Node::new(media_type, Content::Data(rebuilt.data));
            if media_type.starts_with("text/") {
                node.params.push(("charset".into(), "utf-8".into()));
            }
            node
        };
        node.name = name.map(|name| {
            let renamed = with_extension(&name, &rebuilt.extension);
            if renamed != name {
                let detail = format!("rebuilt as {}, renamed to {:?}", rebuilt.format, shown(&renamed));
                self.findings.push(class, Disposition::Neutralized, &location, detail);
            }
            renamed
        });
        let mut node = part.carry(node);
        // A part that was an attachment because of its type (a delivery
        // report) must stay one when it comes back as text/plain.
        if node.disposition.is_none() && !is_message {
            node.disposition = Some("attachment");
        }
        Ok(Some(node))
    }

    /// Records a removed attachment and notes it for the reader.
    fn removed(&mut self, part: &Part, what: &str, location: &str, why: &str) -> Option<Node> {
        let detail = format!("{why}: removed");
        self.findings.push(ContentClass::EmbeddedFiles, Disposition::Removed, location, detail);
        let path = if part.path.is_empty() { "1" } else { &part.path };
        self.notes.push(format!("{what} (part {path}): {why}"));
        None
    }
}

/// A `type/subtype` that can be written as it is.
fn is_media_type(media_type: &str) -> bool {
    media_type.split_once('/').is_some_and(|(t, s)| {
        [t, s]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b)))
    })
}

/// `name` with its extension replaced by `extension` when they differ
/// (a `.docm` rebuilt as `.docx`); names without an extension stay.
fn with_extension(name: &str, extension: &str) -> String {
    match name.rsplit_once('.') {
        Some((stem, current))
            if !extension.is_empty() && !stem.is_empty() && !current.eq_ignore_ascii_case(extension) =>
        {
            format!("{stem}.{extension}")
        }
        _ => name.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_types() {
        assert_eq!(with_extension("報告書.docm", "docx"), "報告書.docx");
        assert_eq!(with_extension("a.PDF", "pdf"), "a.PDF");
        assert_eq!(with_extension("README", "txt"), "README");
        assert!(is_media_type("application/vnd.ms-excel") && !is_media_type("text/<script>"));
    }
}
