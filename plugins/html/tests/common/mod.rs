//! Helpers shared by the corpus and handmade tests: running the plugin,
//! reading its output back with a real HTML parser, and the properties
//! every output has.

#![allow(dead_code)] // each test file uses its own subset

use html5ever::tendril::TendrilSink;
use html5ever::{ParseOpts, parse_document};
use markup5ever_rcdom::{Handle, NodeData, RcDom};
use sekisho_plugin_sdk::{
    Action, CollectText, ContentClass, Failure, FailureKind, Finding, HyperlinkMode, Policy, RefuseAll,
};

/// The strict profile: everything sanitized, links kept as text.
pub fn strict() -> Policy {
    let mut policy = Policy::uniform(Action::Sanitize);
    policy.hyperlink_mode = HyperlinkMode::KeepAsText;
    policy
}

pub fn run(input: &[u8], policy: &Policy) -> Result<(String, Vec<Finding>), Failure> {
    let mut out = Vec::new();
    let rebuilt = sekisho_html::sanitize(input, &mut out, policy, &mut RefuseAll)?;
    assert_eq!(rebuilt.format, "html");
    Ok((String::from_utf8(out).expect("the output is UTF-8"), rebuilt.findings))
}

/// The (location, text) pairs the plugin hands the host for `input`.
pub fn texts(input: &[u8], policy: &Policy) -> Vec<(String, String)> {
    let mut host = CollectText::default();
    sekisho_html::sanitize(input, &mut Vec::new(), policy, &mut host).unwrap_or_else(|f| panic!("{}", f.detail));
    host.texts
}

/// Runs the plugin and checks what every output has: UTF-8 declared first
/// in the head, deterministic, idempotent with nothing found the second time.
pub fn rebuild(input: &[u8], policy: &Policy) -> (String, Vec<Finding>) {
    let (out, findings) = run(input, policy).unwrap_or_else(|f| panic!("{:?}: {}", f.kind, f.detail));
    assert!(out.contains("<head><meta charset=\"utf-8\">"), "UTF-8 is declared first: {out}");
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

pub fn has(findings: &[Finding], class: ContentClass) -> bool {
    findings.iter().any(|f| f.class == class)
}

pub fn assert_blocked(failure: &Failure, class: ContentClass) {
    assert_eq!(failure.kind, FailureKind::Blocked(class), "{}", failure.detail);
    assert!(failure.findings.iter().any(|f| f.class == class), "{:?}", failure.findings);
}

/// The page as a browser reads it.
pub fn parse(html: &str) -> RcDom {
    parse_document(RcDom::default(), ParseOpts::default()).one(html)
}

/// Every element of a parsed page, with its attributes, in document order.
pub fn elements(html: &str) -> Vec<(String, Vec<(String, String)>)> {
    // The tree stays alive while it is walked: dropping a node empties its subtree.
    let dom = parse(html);
    let (mut found, mut stack): (Vec<_>, Vec<Handle>) = (Vec::new(), vec![dom.document.clone()]);
    while let Some(node) = stack.pop() {
        if let NodeData::Element { name, attrs, template_contents, .. } = &node.data {
            let attrs = attrs.borrow().iter().map(|a| (a.name.local.to_string(), a.value.to_string())).collect();
            found.push((name.local.to_string(), attrs));
            stack.extend(template_contents.borrow().iter().cloned());
        }
        stack.extend(node.children.borrow().iter().rev().cloned());
    }
    found
}

/// What a browser reading the output would run or fetch: nothing. The
/// output is parsed again, as a browser would (scripting on), and every
/// element and attribute is looked at.
pub fn assert_inert(html: &str) {
    const ACTIVE: [&str; 16] = [
        "script", "iframe", "frame", "frameset", "object", "embed", "applet", "form", "input", "button", "textarea",
        "select", "base", "svg", "math", "template",
    ];
    for (element, attrs) in elements(html) {
        assert!(!ACTIVE.contains(&element.as_str()), "<{element}> survived in\n{html}");
        for (key, value) in attrs {
            let lower = value.to_ascii_lowercase().replace(['\t', '\n', '\r', ' '], "");
            assert!(!key.starts_with("on"), "handler {key} on <{element}> survived");
            assert!(!lower.contains("javascript:") && !lower.contains("vbscript:"), "{key}={value} survived");
            if matches!(key.as_str(), "src" | "srcset" | "href" | "background" | "poster") {
                let inside = lower.is_empty()
                    || lower.starts_with('#')
                    || lower.starts_with("data:image/")
                    || lower.starts_with("cid:");
                assert!(inside, "<{element} {key}={value}> survived");
            }
            if key == "http-equiv" {
                assert!(lower != "refresh", "meta refresh survived");
            }
            assert_css_inert(&lower);
        }
    }
    let lower = html.to_ascii_lowercase();
    for style in lower.split("<style").skip(1) {
        assert_css_inert(style.split("</style").next().unwrap_or_default());
    }
}

fn assert_css_inert(css: &str) {
    assert!(!css.contains("@import") && !css.contains("expression("), "{css}");
    for (at, _) in css.match_indices("url(") {
        let target = css[at + 4..].trim_start_matches([' ', '\'', '"']);
        assert!(target.starts_with('#') || target.starts_with("data:image/"), "url({target} survived");
    }
}

/// The text of the `<pre>` of a text-mode page.
pub fn pre_text(html: &str) -> String {
    let start = html.find("<pre>").expect("a <pre>") + 5;
    let end = html.rfind("</pre>").expect("a </pre>");
    html[start..end].replace("&lt;", "<").replace("&gt;", ">").replace("&nbsp;", "\u{a0}").replace("&amp;", "&")
}
