//! Applying the policy to what a plugin finds, and collecting findings.

use crate::{Action, ContentClass, Disposition, Failure, FailureKind, Finding, Policy};

/// What a plugin should do with one occurrence of active content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The policy allows the class: leave the content in place.
    Keep,
    /// Remove or neutralize the content.
    Sanitize,
}

/// The findings of one `sanitize` call, in the order they were made.
#[derive(Debug, Default, Clone)]
pub struct Findings(Vec<Finding>);

impl Findings {
    /// An empty list.
    pub fn new() -> Self {
        Findings(Vec::new())
    }

    /// Records a finding as it is.
    pub fn push(
        &mut self,
        class: ContentClass,
        disposition: Disposition,
        location: impl Into<String>,
        detail: impl Into<String>,
    ) {
        self.0.push(Finding { class, disposition, location: location.into(), detail: detail.into(), count: 1 });
    }

    /// Applies `policy` to one occurrence of `class` and records it.
    ///
    /// `allow` records it as kept and answers [`Decision::Keep`]; `sanitize`
    /// records it with `sanitized_as` (removed or neutralized: the caller
    /// knows which it will do) and answers [`Decision::Sanitize`]; `block`
    /// answers a blocking failure that carries every finding so far.
    pub fn decide(
        &mut self,
        policy: &Policy,
        class: ContentClass,
        sanitized_as: Disposition,
        location: impl Into<String>,
        detail: impl Into<String>,
    ) -> Result<Decision, Failure> {
        let (location, detail) = (location.into(), detail.into());
        match policy.action(class) {
            Action::Allow => {
                self.push(class, Disposition::Kept, location, detail);
                Ok(Decision::Keep)
            }
            Action::Sanitize => {
                self.push(class, sanitized_as, location, detail);
                Ok(Decision::Sanitize)
            }
            Action::Block => {
                let reason = format!("{class} at {location}: {detail}");
                self.push(class, Disposition::Blocked, location, detail);
                Err(Failure { kind: FailureKind::Blocked(class), detail: reason, findings: self.0.clone() })
            }
        }
    }

    /// Like [`Findings::decide`], for content that occurs many times (XMP on
    /// every image, hundreds of comments): occurrences with the same class,
    /// location and detail become one finding whose `count` grows.
    pub fn decide_grouped(
        &mut self,
        policy: &Policy,
        class: ContentClass,
        sanitized_as: Disposition,
        location: &str,
        detail: &str,
    ) -> Result<Decision, Failure> {
        let seen = self.0.iter_mut().find(|f| f.class == class && f.location == location && f.detail == detail);
        if let Some(finding) = seen {
            finding.count = finding.count.saturating_add(1);
            return Ok(if finding.disposition == Disposition::Kept { Decision::Keep } else { Decision::Sanitize });
        }
        self.decide(policy, class, sanitized_as, location, detail)
    }

    /// True when nothing was found.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The findings so far.
    pub fn as_slice(&self) -> &[Finding] {
        &self.0
    }

    /// The findings, for a `Rebuilt` or `Failure`.
    pub fn into_vec(self) -> Vec<Finding> {
        self.0
    }
}
