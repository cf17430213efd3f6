//! The SVG plugin on handmade images: bombs, every class under each
//! action, encodings, escapes and broken XML.

mod common;

use common::*;
use sekisho_plugin_sdk::ContentClass::*;
use sekisho_plugin_sdk::{Action, Disposition, FailureKind, HyperlinkMode, Policy};

const SVG: &str = r#"xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink""#;

fn svg(body: &str) -> Vec<u8> {
    format!(r#"<svg {SVG} width="10" height="10">{body}</svg>"#).into_bytes()
}

#[test]
fn entity_bombs_are_removed_unexpanded_or_blocked() {
    let mut bomb = String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE svg [\n<!ENTITY lol0 \"lol\">\n");
    for level in 1..10 {
        let refs = format!("&lol{};", level - 1).repeat(10);
        bomb.push_str(&format!("<!ENTITY lol{level} \"{refs}\">\n"));
    }
    bomb.push_str(&format!("]>\n<svg {SVG}><text>&lol9;</text><text>kept &amp; escaped</text></svg>"));
    let (out, findings) = rebuild(bomb.as_bytes(), &strict());
    assert_inert(&out);
    assert!(out.len() < 300, "{out}");
    assert!(out.contains("<text/><text>kept &amp; escaped</text>"), "{out}");
    assert_eq!((findings[0].class, findings[0].disposition), (MalformedStructure, Disposition::Removed));
    // Allowing malformed structure does not let an internal subset stay.
    let (out, _) = rebuild(bomb.as_bytes(), &Policy::uniform(Action::Allow));
    assert!(!out.contains("ENTITY") && !out.contains("lollol"), "{out}");
    let blocked = failure(bomb.as_bytes(), &strict().with(MalformedStructure, Action::Block));
    assert_blocked(&blocked, MalformedStructure);
    // Without a DTD, an unknown entity is an error, not an expansion.
    let failure = failure(&svg("<text>&lol9;</text>"), &strict());
    assert_eq!(failure.kind, FailureKind::InvalidStructure);
    assert!(failure.detail.contains("&lol9;"), "{}", failure.detail);
}

/// Groups `a1`…`a{levels}` of `width` references each to the one below.
fn use_pyramid(levels: usize, width: usize) -> Vec<u8> {
    let mut body = String::from(r#"<defs><circle id="a0" r="1"/>"#);
    for level in 1..=levels {
        body.push_str(&format!(r#"<g id="a{level}">"#));
        for _ in 0..width {
            body.push_str(&format!(r##"<use href="#a{}"/>"##, level - 1));
        }
        body.push_str("</g>");
    }
    body.push_str(&format!(r##"</defs><use href="#a{levels}"/>"##));
    svg(&body)
}

#[test]
fn use_amplification_is_refused_by_a_limit() {
    let (out, findings) = rebuild(&use_pyramid(4, 10), &strict());
    assert!(findings.is_empty(), "{findings:?}");
    assert_eq!(out.matches("<use").count(), 41);
    let failure = failure(&use_pyramid(6, 10), &strict());
    assert_eq!(failure.kind, FailureKind::LimitExceeded);
    assert!(failure.detail.contains("more than 1000000 elements"), "{}", failure.detail);
    // A long chain is no bomb, and no stack overflow either.
    let (out, _) = rebuild(&use_pyramid(200, 1), &strict());
    assert_eq!(out.matches("<use").count(), 201);
}

#[test]
fn reference_loops_are_removed_or_kept_by_policy() {
    let input =
        svg(r##"<g id="a"><use href="#b"/></g><g id="b"><use xlink:href="#a"/><rect/></g><use id="c" href="#c"/>"##);
    let (out, findings) = rebuild(&input, &strict());
    assert_eq!(out.matches("<use").count(), 0, "{out}");
    assert_eq!(findings.len(), 3);
    assert!(findings.iter().all(|f| f.class == MalformedStructure && f.detail.starts_with("reference loop")));
    let (out, findings) = rebuild(&input, &strict().with(MalformedStructure, Action::Allow));
    assert_eq!(out.matches("<use").count(), 3);
    assert!(findings.iter().all(|f| f.disposition == Disposition::Kept));
}

#[test]
fn loops_through_duplicate_ids_are_all_removed() {
    // Fuzzing found this: once the first `#self` goes, the next one is its target.
    let (out, findings) = rebuild(&svg(&r##"<use id="self" href="#self"/>"##.repeat(3)), &strict());
    assert_eq!(out.matches("<use").count(), 0, "{out}");
    assert_eq!(findings[0].count, 3);
    let failure = failure(&svg(&r##"<use id="self" href="#self"/>"##.repeat(20)), &strict());
    assert_eq!(failure.kind, FailureKind::InvalidStructure);
    assert!(failure.detail.contains("duplicate ids"), "{}", failure.detail);
}

#[test]
fn each_class_is_kept_removed_or_blocked_as_the_policy_says() {
    let cases: [(&str, sekisho_plugin_sdk::ContentClass, &str); 9] = [
        (r#"<script>alert(1)</script>"#, Scripts, "alert"),
        (r#"<rect onclick="alert(1)"/>"#, Scripts, "onclick"),
        (
            r#"<foreignObject><p xmlns="http://www.w3.org/1999/xhtml">x</p></foreignObject>"#,
            ActiveObjects,
            "foreignObject",
        ),
        (r#"<image href="https://tracker.example/p.png"/>"#, ExternalLinks, "tracker"),
        (r#"<form><input/></form>"#, Forms, "form"),
        (
            r#"<metadata><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/></metadata>"#,
            Metadata,
            "metadata",
        ),
        (r#"<!-- made by hand -->"#, Comments, "made by hand"),
        (
            r#"<sodipodi:namedview xmlns:sodipodi="http://sodipodi.sourceforge.net/DTD/sodipodi-0.dtd"/>"#,
            UnknownParts,
            "namedview",
        ),
        (r#"<video/>"#, Multimedia, "video"),
    ];
    for (body, class, marker) in cases {
        let input = svg(body);
        let (out, findings) = rebuild(&input, &strict());
        assert!(!out.contains(marker), "{body}: {out}");
        assert_eq!(findings.first().map(|f| (f.class, f.disposition)), Some((class, Disposition::Removed)), "{body}");
        let (out, findings) = rebuild(&input, &strict().with(class, Action::Allow));
        assert!(out.contains(marker), "{body} allowed: {out}");
        assert_eq!(findings.first().map(|f| (f.class, f.disposition)), Some((class, Disposition::Kept)), "{body}");
        assert_blocked(&failure(&input, &strict().with(class, Action::Block)), class);
    }
}

#[test]
fn links_follow_the_hyperlink_mode() {
    let input = svg(r#"<a href="https://example.jp/"><text>site</text></a>"#);
    let mut keep = Policy::uniform(Action::Sanitize);
    keep.hyperlink_mode = HyperlinkMode::Keep;
    let (out, findings) = rebuild(&input, &keep);
    assert!(out.contains(r#"<a href="https://example.jp/">"#) && findings.is_empty(), "{out}");
    for mode in [HyperlinkMode::KeepAsText, HyperlinkMode::Remove] {
        let mut policy = strict();
        policy.hyperlink_mode = mode;
        let (out, findings) = rebuild(&input, &policy);
        assert!(out.contains("<a><text>site</text></a>"), "{out}");
        assert_eq!(findings[0].class, Hyperlinks);
    }
    // Script URLs are scripts whatever the mode.
    let (out, findings) = rebuild(&svg(r#"<a xlink:href=" JaVa&#x09;ScRiPt:alert(1)">x</a>"#), &keep);
    assert!(out.contains("<a>x</a>") && findings[0].class == Scripts, "{out}");
}

#[test]
fn inline_images_stay_inline_markup_goes() {
    let png = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
    let (out, findings) = rebuild(&svg(&format!(r#"<image width="1" height="1" href="{png}"/>"#)), &strict());
    assert!(out.contains(png) && findings.is_empty(), "{out}");
    let (out, findings) =
        rebuild(&svg(r#"<image href="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+"/>"#), &strict());
    assert!(out.contains("<image/>") && findings[0].class == Scripts, "{out}");
}

#[test]
fn css_loses_only_what_fetches_or_runs() {
    let input = svg(concat!(
        r#"<style><![CDATA[@import url(//evil.example/a.css); rect { fill: red; background: url("https://t.example/p.gif") } ]]></style>"#,
        r#"<rect style="stroke: blue; fill: url(http://t.example/x#p); opacity: .5" fill="url(#grad)" filter="url('https://x/f.svg#f')"/>"#,
        r#"<animate attributeName="href" to="javascript:alert(1)"/><set attributeName="fill" to="red"/>"#
    ));
    let (out, findings) = rebuild(&input, &strict());
    assert_inert(&out);
    assert!(out.contains("<style> rect { fill: red;} </style>"), "{out}");
    assert!(out.contains(r#"<rect style="stroke: blue; opacity: .5" fill="url(#grad)"/>"#), "{out}");
    assert!(out.contains(r#"<set attributeName="fill" to="red"/>"#) && !out.contains("<animate"), "{out}");
    assert_eq!(classes(&findings), [ExternalLinks, Scripts]);
}

#[test]
fn encodings_become_utf8() {
    let text = "日本語のメール本文";
    let source = format!("<?xml version=\"1.0\" encoding=\"Shift_JIS\"?>\n<svg {SVG}><text>{text}</text></svg>");
    let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode(&source);
    let (out, findings) = rebuild(&sjis, &strict());
    assert!(out.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"), "{out}");
    assert!(out.contains(&format!("<text>{text}</text>")) && findings.is_empty(), "{out}");
    let mut utf16 = vec![0xff, 0xfe];
    utf16.extend(format!("<svg {SVG}><text>{text}</text></svg>").encode_utf16().flat_map(u16::to_le_bytes));
    let (out, _) = rebuild(&utf16, &strict());
    assert!(out.contains(&format!("<text>{text}</text>")), "{out}");
}

#[test]
fn escapes_and_line_breaks_survive_the_round_trip() {
    let input =
        svg("<text x=\"1\" data-x='a&#10;b \"q\" &amp; &lt;'>1 &lt; 2 &amp;&#13; <![CDATA[<b> & ]]>\r\nend</text>");
    let (out, _) = rebuild(&input, &strict());
    assert!(out.contains(r#"data-x="a&#10;b &quot;q&quot; &amp; &lt;">1 &lt; 2 &amp;&#13; &lt;b&gt; &amp; "#), "{out}");
    assert!(out.contains("&amp; \nend</text>"), "{out}");
}

#[test]
fn broken_xml_is_refused_with_the_reason() {
    let cases: [(&[u8], &str); 8] = [
        (b"<svg><g></svg>", "expected `</g>`"),
        (b"<svg/><svg/>", "a second root element"),
        (b"<html/>", "the root element is <html>, not <svg>"),
        (b"<svg/>text", "character data outside the root element"),
        (b"<svg><g>", "ends inside an element"),
        (b"<svg>\x01</svg>", "U+0001"),
        (b"<svg><text>&#1;</text></svg>", "U+0001"),
        (b"", "no <svg> root element"),
    ];
    for (input, reason) in cases {
        let failure = failure(input, &strict());
        assert_eq!(failure.kind, FailureKind::InvalidStructure, "{reason}");
        assert!(failure.detail.contains(reason), "{reason}: {}", failure.detail);
    }
    let deep = svg(&format!("{}{}", "<g>".repeat(300), "</g>".repeat(300)));
    let failure = failure(&deep, &strict());
    assert_eq!(failure.kind, FailureKind::LimitExceeded, "{}", failure.detail);
}

#[test]
fn allowing_everything_keeps_everything_stable() {
    let input = svg(concat!(
        r#"<?xml-stylesheet href="s.css"?><script>if (a &lt; b) go()</script><rect onload="f()"/>"#,
        r#"<image xlink:href="https://example.jp/i.png"/><!-- note --><foo:bar xmlns:foo="urn:x" foo:baz="1"/>"#
    ));
    let (out, findings) = rebuild(&input, &Policy::uniform(Action::Allow));
    for kept in
        ["<?xml-stylesheet", "<script>if (a &lt; b) go()</script>", "onload", "https://", "<!-- note -->", "<foo:bar"]
    {
        assert!(out.contains(kept), "{kept}: {out}");
    }
    assert!(findings.iter().all(|f| f.disposition == Disposition::Kept));
}

#[test]
fn text_channel_gives_text_title_and_desc_without_scripts_or_comments() {
    let input = svg(concat!(
        "<title>地図 山田太郎</title><desc>東京都\n  千代田区の\t案内図</desc>",
        "<!-- 123456789012 --><script>var x = 'スクリプト';</script><style>text { fill: red }</style>",
        "<text x=\"1\" y=\"2\">氏名：<tspan font-weight=\"bold\">山田太郎</tspan></text>",
        "<g><text><tspan x=\"0\" y=\"1\">taro@example.jp</tspan><tspan x=\"0\" dy=\"1\">03-1234-5678</tspan></text></g>",
        "<foreignObject><p xmlns=\"http://www.w3.org/1999/xhtml\">外部</p></foreignObject>",
        "<text onclick=\"alert(1)\"><a xlink:href=\"https://example.jp/\">リンク</a></text><text>  </text>",
    ));
    let mut host = sekisho_plugin_sdk::CollectText::default();
    sekisho_svg::sanitize(&input[..], &mut Vec::new(), &strict(), &mut host).unwrap();
    let expected = [
        ("title", "地図 山田太郎"),
        ("desc", "東京都 千代田区の 案内図"),
        ("text 1", "氏名：山田太郎"),
        ("text 2", "taro@example.jp\n03-1234-5678"),
        ("text 3", "リンク"),
    ];
    let expected = sekisho_testkit::text_pairs(&expected);
    assert_eq!(host.texts, expected);
}
