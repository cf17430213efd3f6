//! Native tests of the plugin-template library: `cargo test`.

use sekisho_plugin_sdk::{Action, CollectText, ContentClass, Disposition, FailureKind, Policy, RefuseAll};

use super::*;

/// The sample shipped with the plugin (what `sekisho plugin check` runs on).
const SAMPLE: &[u8] = include_bytes!("../samples/sample.ptpl");

fn rebuild(input: &[u8], policy: &Policy) -> Result<(Vec<u8>, Rebuilt), Failure> {
    let mut output = Vec::new();
    let rebuilt = sanitize(FORMAT, input, &mut output, policy, &mut RefuseAll)?;
    Ok((output, rebuilt))
}

fn strict() -> Policy {
    Policy::uniform(Action::Sanitize)
}

#[test]
fn a_clean_file_rebuilds_to_itself() {
    let clean = format!("{MAGIC}text: hello\ntext: world\n");
    let (output, rebuilt) = rebuild(clean.as_bytes(), &strict()).unwrap();
    assert_eq!(output, clean.as_bytes());
    assert!(rebuilt.findings.is_empty(), "{:?}", rebuilt.findings);
}

#[test]
fn commands_and_metadata_are_removed_and_reported() {
    let (output, rebuilt) = rebuild(SAMPLE, &strict()).unwrap();
    let text = String::from_utf8(output.clone()).unwrap();
    assert!(text.starts_with(MAGIC) && text.contains("text: Sales went up"), "{text}");
    assert!(!text.contains("run:") && !text.contains("title:"), "{text}");
    let classes: Vec<ContentClass> = rebuilt.findings.iter().map(|f| f.class).collect();
    assert_eq!(classes, [ContentClass::Metadata, ContentClass::AutoActions]);
    assert!(rebuilt.findings.iter().all(|f| f.disposition == Disposition::Removed));
    // Idempotent: the output rebuilds to itself with nothing to report.
    let (again, rebuilt) = rebuild(&output, &strict()).unwrap();
    assert_eq!(again, output);
    assert!(rebuilt.findings.is_empty());
}

#[test]
fn the_policy_decides() {
    let allowed = strict().with(ContentClass::AutoActions, Action::Allow);
    let (output, rebuilt) = rebuild(SAMPLE, &allowed).unwrap();
    assert!(String::from_utf8(output).unwrap().contains("run: calc.exe"));
    assert!(rebuilt.findings.iter().any(|f| f.disposition == Disposition::Kept));

    let blocked = strict().with(ContentClass::AutoActions, Action::Block);
    let failure = rebuild(SAMPLE, &blocked).unwrap_err();
    assert_eq!(failure.kind, FailureKind::Blocked(ContentClass::AutoActions));
}

#[test]
fn the_kept_text_goes_to_the_host() {
    let mut host = CollectText::default();
    let mut output = Vec::new();
    sanitize(FORMAT, SAMPLE, &mut output, &strict(), &mut host).unwrap();
    assert_eq!(host.texts.len(), 2);
    assert_eq!(host.texts[0], ("line 2".to_owned(), "Sales went up in the third quarter.".to_owned()));
}

#[test]
fn what_is_not_the_format_is_refused() {
    for input in [&b""[..], b"PLUGIN-TEMPLATE 2\n", b"text: no header\n"] {
        assert_eq!(rebuild(input, &strict()).unwrap_err().kind, FailureKind::InvalidStructure, "{input:?}");
    }
    let mut not_utf8 = MAGIC.as_bytes().to_vec();
    not_utf8.extend_from_slice(b"text: \xff\n");
    assert_eq!(rebuild(&not_utf8, &strict()).unwrap_err().kind, FailureKind::InvalidStructure);
    let mut output = Vec::new();
    let other = sanitize("pdf", SAMPLE, &mut output, &strict(), &mut RefuseAll).unwrap_err();
    assert_eq!(other.kind, FailureKind::Unsupported);
}

#[test]
fn no_truncation_of_the_sample_panics() {
    for len in 0..SAMPLE.len() {
        let _ = rebuild(&SAMPLE[..len], &strict());
    }
}
