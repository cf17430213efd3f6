//! The personal-information audit (個人情報検知) of what goes out: the text
//! that plugins hand over for what they keep, from every file of the tree,
//! is scanned by `sekisho-pii` and held against the policy's `[pii]` rules.
//!
//! It runs in the host, on text the sandboxed plugins extracted: the parsing
//! of untrusted formats stays in the sandbox, and what is scanned here is
//! UTF-8 text, matched in linear time (`regex`, `aho-corasick`).
//!
//! A finding never carries the value it found: only its masked form
//! (`****-****-9012`), here, in the report, the audit log and the logs.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use sekisho_pii::{Confidence, CustomRule, Detector, Scanner};

use crate::pipeline::TextPiece;

/// What a rule does when its detector reaches `at-least` findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleAction {
    /// The findings are listed in the report; the file passes.
    Report,
    /// The file is rebuilt but `held` until someone approves it.
    Hold,
    /// The file is `blocked`.
    Block,
}

/// One rule of `[[pii.rule]]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Rule {
    /// A built-in detector (`my-number`, `email`…) or a `[[pii.detector]]` name.
    pub detector: String,
    /// How many findings (over the whole tree) make the rule apply.
    #[serde(default = "one")]
    pub at_least: u32,
    /// What happens then.
    pub action: RuleAction,
    /// Findings below this confidence do not count.
    #[serde(default = "medium")]
    pub min_confidence: Confidence,
}

fn one() -> u32 {
    1
}

fn medium() -> Confidence {
    Confidence::Medium
}

/// A customer detector of `[[pii.detector]]`: a regex, a word list, or both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct CustomDetector {
    /// The name rules and reports use.
    pub name: String,
    /// A regular expression (the `regex` crate's syntax: linear time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// Words to find.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub words: Vec<String>,
    /// A file of words, one a line (relative to the policy file); read
    /// when the policy is loaded, its words join `words`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub words_file: Option<String>,
    /// The confidence of a finding with no keyword near it.
    #[serde(default = "medium")]
    pub confidence: Confidence,
    /// Words near a finding that raise its confidence one level.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keywords: Vec<String>,
}

/// Whether the audit runs: `outbound` audits, `inbound` does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    /// Files coming in: no audit (the default).
    #[default]
    Inbound,
    /// Files going out: every file is audited.
    Outbound,
}

/// The `[pii]` section of a policy, as the policy holds it.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct PiiPolicy {
    /// `outbound` turns the audit on.
    pub direction: Direction,
    /// The rules, in order; with none, findings are only reported.
    #[serde(rename = "rule", skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<Rule>,
    /// Customer detectors.
    #[serde(rename = "detector", skip_serializing_if = "Vec::is_empty")]
    pub detectors: Vec<CustomDetector>,
    /// The compiled detectors, built once when the policy is loaded.
    #[serde(skip)]
    scanner: Option<Arc<Scanner>>,
}

/// The `[pii]` section as a policy file writes it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(crate) struct PiiFile {
    direction: Option<Direction>,
    #[serde(default)]
    rule: Option<Vec<Rule>>,
    #[serde(default)]
    detector: Vec<CustomDetector>,
}

impl PartialEq for PiiPolicy {
    fn eq(&self, other: &PiiPolicy) -> bool {
        (self.direction, &self.rules, &self.detectors) == (other.direction, &other.rules, &other.detectors)
    }
}

impl Eq for PiiPolicy {}

impl PiiPolicy {
    /// The `outbound` profile's rules: identity numbers and cards block one
    /// at a time; lists of contacts, accounts and identity documents are
    /// held for approval; everything else is reported.
    pub fn outbound() -> PiiPolicy {
        let rule = |detector: Detector, at_least, action| Rule {
            detector: detector.name().into(),
            at_least,
            action,
            min_confidence: Confidence::Medium,
        };
        let rules = vec![
            rule(Detector::MyNumber, 1, RuleAction::Block),
            rule(Detector::PaymentCard, 1, RuleAction::Block),
            rule(Detector::Email, 3, RuleAction::Hold),
            rule(Detector::Phone, 3, RuleAction::Hold),
            rule(Detector::PostalAddress, 3, RuleAction::Hold),
            rule(Detector::BankAccount, 1, RuleAction::Hold),
            rule(Detector::DriversLicence, 1, RuleAction::Hold),
            rule(Detector::Passport, 1, RuleAction::Hold),
            rule(Detector::DateOfBirth, 1, RuleAction::Hold),
            rule(Detector::CorporateNumber, 1, RuleAction::Report),
        ];
        let mut policy = PiiPolicy { direction: Direction::Outbound, rules, detectors: Vec::new(), scanner: None };
        policy.compile(None).expect("the built-in detectors compile");
        policy
    }

    /// True when the audit is off and nothing about it was set (such a
    /// policy renders without a `[pii]` section).
    pub fn is_off(&self) -> bool {
        !self.enabled() && self.rules.is_empty() && self.detectors.is_empty()
    }

    /// This audit, on: `outbound`, with the `outbound` profile's rules when
    /// it has none (`sekisho scan --pii`).
    pub fn turned_on(&self) -> PiiPolicy {
        let mut on = self.clone();
        on.direction = Direction::Outbound;
        if on.rules.is_empty() {
            on.rules = PiiPolicy::outbound().rules;
        }
        if on.scanner.is_none() {
            on.compile(None).expect("rules of the outbound profile name built-in detectors");
        }
        on
    }

    /// True when files are audited.
    pub fn enabled(&self) -> bool {
        self.direction == Direction::Outbound
    }

    /// Applies a policy file's `[pii]` on top of this one: its direction,
    /// its rules (which replace the profile's when given) and its
    /// detectors; then checks the rules and compiles the detectors.
    /// `base` is the policy file's folder, for `words-file`.
    pub(crate) fn apply(&mut self, file: PiiFile, base: Option<&Path>) -> Result<(), String> {
        if let Some(direction) = file.direction {
            self.direction = direction;
        }
        if self.enabled() && self.rules.is_empty() && file.rule.is_none() {
            self.rules = PiiPolicy::outbound().rules;
        }
        if let Some(rules) = file.rule {
            self.rules = rules;
        }
        self.detectors.extend(file.detector);
        self.compile(base)
    }

    /// Checks that every rule names a detector, and builds the scanner.
    fn compile(&mut self, base: Option<&Path>) -> Result<(), String> {
        let mut custom = Vec::new();
        for detector in &mut self.detectors {
            if let Some(file) = detector.words_file.take() {
                let path = base.map_or_else(|| Path::new(&file).to_path_buf(), |base| base.join(&file));
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| format!("[[pii.detector]] {}: words-file {}: {e}", detector.name, path.display()))?;
                detector.words.extend(text.lines().map(str::trim).filter(|w| !w.is_empty()).map(str::to_owned));
            }
            custom.push(CustomRule {
                name: detector.name.clone(),
                pattern: detector.pattern.clone(),
                words: detector.words.clone(),
                confidence: detector.confidence,
                keywords: detector.keywords.clone(),
            });
        }
        for rule in &self.rules {
            let known =
                Detector::from_name(&rule.detector).is_some() || self.detectors.iter().any(|d| d.name == rule.detector);
            if !known {
                let names: Vec<&str> = Detector::ALL
                    .iter()
                    .map(|d| d.name())
                    .chain(self.detectors.iter().map(|d| d.name.as_str()))
                    .collect();
                return Err(format!(
                    "[[pii.rule]] detector {:?} is not a detector (known: {})",
                    rule.detector,
                    names.join(", ")
                ));
            }
            if rule.at_least == 0 {
                return Err(format!("[[pii.rule]] {}: at-least must be 1 or more", rule.detector));
            }
        }
        let scanner = Scanner::new(&custom).map_err(|e| format!("[[pii.detector]] {e}"))?;
        self.scanner = Some(Arc::new(scanner));
        Ok(())
    }

    /// This audit tightened by `other`'s: outbound when either is, and the
    /// rules of both.
    pub(crate) fn tightened_by(&self, other: &PiiPolicy) -> PiiPolicy {
        if other.is_off() {
            // Nothing to add: keep the compiled scanner rather than build it
            // again for each profile the gateway allows.
            return self.clone();
        }
        let mut tightened = self.clone();
        if other.enabled() {
            tightened.direction = Direction::Outbound;
        }
        for rule in &other.rules {
            if !tightened.rules.contains(rule) {
                tightened.rules.push(rule.clone());
            }
        }
        for detector in &other.detectors {
            if !tightened.detectors.iter().any(|d| d.name == detector.name) {
                tightened.detectors.push(detector.clone());
            }
        }
        if tightened.compile(None).is_err() {
            // Both sides compiled on their own; a clash of custom names keeps the operator's.
            return PiiPolicy { direction: Direction::Outbound, ..self.clone() };
        }
        tightened
    }

    /// Scans the text of a tree and decides.
    pub fn audit(&self, pieces: &[TextPiece]) -> Audit {
        let Some(scanner) = &self.scanner else { return Audit::default() };
        // (detector, file, location) → (count, best confidence, masked values)
        let mut grouped: BTreeMap<(String, String, String), (u32, Confidence, Vec<String>)> = BTreeMap::new();
        for piece in pieces {
            for hit in scanner.scan(&piece.text) {
                let key = (hit.detector, piece.file.clone(), piece.location.clone());
                let entry = grouped.entry(key).or_insert((0, hit.confidence, Vec::new()));
                entry.0 += 1;
                entry.1 = entry.1.max(hit.confidence);
                if entry.2.len() < MASKED_PER_FINDING && !entry.2.contains(&hit.masked) {
                    entry.2.push(hit.masked);
                }
            }
        }
        let findings: Vec<Finding> = grouped
            .into_iter()
            .map(|((detector, file, location), (count, confidence, masked))| Finding {
                detector,
                confidence,
                count,
                file,
                location,
                masked,
            })
            .collect();
        let mut decision: Option<Decision> = None;
        for rule in &self.rules {
            let count: u32 = findings
                .iter()
                .filter(|f| f.detector == rule.detector && f.confidence >= rule.min_confidence)
                .map(|f| f.count)
                .sum();
            if count >= rule.at_least && decision.as_ref().is_none_or(|d| rule.action > d.action) {
                decision = Some(Decision {
                    action: rule.action,
                    detail: format!(
                        "{count} × {} (rule: at least {}, {})",
                        rule.detector,
                        rule.at_least,
                        match rule.action {
                            RuleAction::Report => "report",
                            RuleAction::Hold => "hold",
                            RuleAction::Block => "block",
                        }
                    ),
                });
            }
        }
        Audit { findings, decision }
    }
}

/// Masked examples kept per finding.
const MASKED_PER_FINDING: usize = 5;

/// Findings of one detector at one place of the tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct Finding {
    /// The detector (`my-number`, `email`…, or a customer detector's name).
    pub detector: String,
    /// The highest confidence among these findings.
    #[cfg_attr(test, schemars(with = "String"))]
    pub confidence: Confidence,
    /// How many values were found here.
    pub count: u32,
    /// The file of the tree (`mail.eml/a.zip/b.xlsx`).
    pub file: String,
    /// Where in the file (`page 2`, `Sheet1!B3`, `paragraph 4`).
    pub location: String,
    /// Up to five of the values, masked (`****-****-9012`, `t***@example.jp`).
    pub masked: Vec<String>,
}

/// What the strongest rule that applies decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Report, hold or block.
    pub action: RuleAction,
    /// Which rule and how many findings, for the report's reason.
    pub detail: String,
}

/// The audit of one tree.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Audit {
    /// Every finding, by detector, file and location.
    pub findings: Vec<Finding>,
    /// The decision of the strongest rule that applies, if any.
    pub decision: Option<Decision>,
}
