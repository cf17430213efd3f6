//! Helpers shared by the corpus and handmade tests: running the plugin, and
//! the properties every output has.

#![allow(dead_code)] // each test file uses its own subset

use quick_xml::events::Event;
use quick_xml::{NsReader, XmlVersion};
use sekisho_plugin_sdk::{Action, ContentClass, Failure, FailureKind, Finding, HyperlinkMode, Policy, RefuseAll};

/// The strict profile: everything sanitized, links kept as text.
pub fn strict() -> Policy {
    let mut policy = Policy::uniform(Action::Sanitize);
    policy.hyperlink_mode = HyperlinkMode::KeepAsText;
    policy
}

pub fn run(input: &[u8], policy: &Policy) -> Result<(String, Vec<Finding>), Failure> {
    let mut out = Vec::new();
    let rebuilt = sekisho_svg::sanitize(input, &mut out, policy, &mut RefuseAll)?;
    assert_eq!(rebuilt.format, "svg");
    Ok((String::from_utf8(out).expect("the output is UTF-8"), rebuilt.findings))
}

/// Runs the plugin and checks what every output has: well-formed XML,
/// deterministic, idempotent with nothing found the second time.
pub fn rebuild(input: &[u8], policy: &Policy) -> (String, Vec<Finding>) {
    let (out, findings) = run(input, policy).unwrap_or_else(|f| panic!("{:?}: {}", f.kind, f.detail));
    assert_well_formed(&out);
    let (same, _) = run(input, policy).unwrap();
    assert_eq!(same, out, "not deterministic");
    let (again, found) = run(out.as_bytes(), policy).unwrap();
    assert_eq!(again, out, "not idempotent");
    if policy.rules.iter().all(|rule| rule.action == Action::Sanitize) {
        assert!(found.is_empty(), "the second pass found {found:?}");
    }
    (out, findings)
}

pub fn failure(input: &[u8], policy: &Policy) -> Failure {
    match run(input, policy) {
        Ok((out, _)) => panic!("expected a failure, got {out}"),
        Err(failure) => failure,
    }
}

pub fn classes(findings: &[Finding]) -> Vec<ContentClass> {
    let mut classes: Vec<ContentClass> = findings.iter().map(|f| f.class).collect();
    classes.dedup();
    classes
}

pub fn has(findings: &[Finding], class: ContentClass) -> bool {
    findings.iter().any(|f| f.class == class)
}

pub fn assert_blocked(failure: &Failure, class: ContentClass) {
    assert_eq!(failure.kind, FailureKind::Blocked(class), "{}", failure.detail);
    assert!(failure.findings.iter().any(|f| f.class == class), "{:?}", failure.findings);
}

/// Parses the whole document again, namespaces resolved: no DTD, one root `<svg>`.
pub fn assert_well_formed(svg: &str) {
    let mut reader = NsReader::from_str(svg);
    reader.config_mut().check_end_names = true;
    reader.config_mut().check_comments = true;
    let (mut depth, mut roots) = (0usize, Vec::new());
    loop {
        match reader.read_event().unwrap_or_else(|e| panic!("output is not well formed: {e}\n{svg}")) {
            Event::Start(e) => {
                if depth == 0 {
                    roots.push(e.local_name().as_ref().to_owned());
                }
                depth += 1;
            }
            Event::Empty(e) if depth == 0 => roots.push(e.local_name().as_ref().to_owned()),
            Event::End(_) => depth -= 1,
            Event::DocType(_) => panic!("the output declares a DTD"),
            Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(depth, 0);
    assert_eq!(roots, ["svg"], "one <svg> root");
}

/// Width, height and viewBox of the root element, if it can be read.
pub fn root_size(svg: &[u8]) -> Option<[Option<String>; 3]> {
    let mut reader = NsReader::from_reader(svg);
    loop {
        match reader.read_event().ok()? {
            Event::Start(e) | Event::Empty(e) => {
                let get = |key: &str| {
                    e.attributes().flatten().find(|a| a.key.as_ref() == key).map(|a| a.value.trim().to_owned())
                };
                return Some([get("width"), get("height"), get("viewBox")]);
            }
            Event::Eof => return None,
            _ => {}
        }
    }
}

/// Nothing that runs, fetches or expands is left: the constructs the
/// oracles' markup check flags, read on the output's bytes and attributes.
pub fn assert_inert(svg: &str) {
    let lower = svg.to_ascii_lowercase();
    for construct in [
        "<script",
        "<foreignobject",
        "<iframe",
        "<!doctype",
        "<!entity",
        "<?xml-stylesheet",
        "@import",
        "javascript:",
        "vbscript:",
        "<?php",
    ] {
        assert!(!lower.contains(construct), "{construct} survived in\n{svg}");
    }
    let unquoted = lower.replace("&quot;", "\"").replace("&apos;", "'");
    for (at, _) in unquoted.match_indices("url(") {
        let target = unquoted[at + 4..].trim_start_matches([' ', '\'', '"']);
        assert!(
            target.starts_with('#') || target.starts_with("data:image/png"),
            "url() to {target} survived in\n{svg}"
        );
    }
    let mut reader = NsReader::from_str(svg);
    loop {
        match reader.read_event().unwrap() {
            Event::Start(e) | Event::Empty(e) => {
                for attribute in e.attributes().flatten() {
                    let key = attribute.key.as_ref().to_ascii_lowercase();
                    let value =
                        attribute.normalized_value(XmlVersion::Implicit1_0).unwrap().trim().to_ascii_lowercase();
                    assert!(!key.starts_with("on"), "event handler {key} survived in\n{svg}");
                    if key == "href" || key.ends_with(":href") {
                        let inside = value.starts_with('#') || value.starts_with("data:image/png");
                        assert!(inside, "reference {value} survived in\n{svg}");
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
}
