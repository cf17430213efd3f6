//! The HTML plugin on handmade pages: Japanese charsets, text mode, links,
//! forms, tracking pixels, every class under each action, mutation XSS.

mod common;

use common::*;
use encoding_rs::{EUC_JP, Encoding, ISO_2022_JP, SHIFT_JIS};
use sekisho_plugin_sdk::ContentClass::*;
use sekisho_plugin_sdk::{Action, Disposition, FailureKind, HyperlinkMode, Policy};
use sekisho_testkit::text_pairs as pairs;

const JAPANESE: &str = "日本語のメール本文";

fn page(body: &str) -> Vec<u8> {
    format!("<!DOCTYPE html><html><head><title>t</title></head><body>{body}</body></html>").into_bytes()
}

fn japanese_page(encoding: &'static Encoding, declared: bool) -> Vec<u8> {
    let meta = if declared { format!("<meta charset=\"{}\">", encoding.name()) } else { String::new() };
    let page = format!("<html><head>{meta}<title>{JAPANESE}</title></head><body><p>{JAPANESE}</p></body></html>");
    let (bytes, _, unmappable) = encoding.encode(&page);
    assert!(!unmappable);
    bytes.into_owned()
}

#[test]
fn japanese_charsets_come_out_as_utf8_without_mojibake() {
    for encoding in [SHIFT_JIS, EUC_JP, ISO_2022_JP] {
        for declared in [true, false] {
            let input = japanese_page(encoding, declared);
            assert_ne!(input, japanese_page(encoding_rs::UTF_8, declared), "{}", encoding.name());
            let (out, findings) = rebuild(&input, &strict());
            assert!(findings.is_empty(), "{}: {findings:?}", encoding.name());
            assert!(out.contains(&format!("<p>{JAPANESE}</p>")), "{} declared={declared}: {out}", encoding.name());
            assert!(out.contains(&format!("<title>{JAPANESE}</title>")));
            assert_eq!(out.matches("charset").count(), 1, "only the UTF-8 declaration: {out}");
            assert_eq!(sekisho_html::to_text(&input).unwrap(), format!("{JAPANESE}"));
        }
    }
}

#[test]
fn text_mode_writes_links_as_text() {
    let input = page(concat!(
        "<h1>お知らせ</h1><p>詳しくは<a href=\"https://example.jp/news\">こちら</a>、",
        "<a href=\"https://example.jp/\">https://example.jp/</a>、<a href=\"mailto:info@example.jp\">info@example.jp</a>。</p>",
        "<ul><li>一</li><li>二</li></ul><table><tr><td>a</td><td>b</td></tr></table>",
        "<p><a href=\"javascript:alert(1)\">x</a><img src=\"https://t.example/p.gif\" alt=\"ロゴ\"><br>次の行</p>",
        "<pre>  keep\n    spaces</pre><script>alert(1)</script><style>p{}</style>"
    ));
    let expected = "お知らせ\n\n詳しくはこちら <https://example.jp/news>、https://example.jp/、info@example.jp。\n\n- 一\n- 二\n\na\tb\n\nx ロゴ\n次の行\n\n  keep\n    spaces";
    let mut keep = Policy::uniform(Action::Sanitize).with_option("html-mode", "text");
    keep.hyperlink_mode = HyperlinkMode::Keep;
    for policy in [strict().with_option("html-mode", "text"), keep] {
        let (out, findings) = rebuild(&input, &policy);
        assert_eq!(pre_text(&out), expected);
        assert!(has(&findings, Scripts));
    }
    assert_eq!(sekisho_html::to_text(&input).unwrap(), expected);
    let unknown = failure(&input, &strict().with_option("html-mode", "markdown"));
    assert_eq!(unknown.kind, FailureKind::Unsupported);
}

#[test]
fn links_follow_the_hyperlink_mode() {
    let input = page(r##"<p><a href="https://example.jp/a" title="t">site</a> <a href="#top">top</a></p>"##);
    let mut keep = Policy::uniform(Action::Sanitize);
    keep.hyperlink_mode = HyperlinkMode::Keep;
    let (out, findings) = rebuild(&input, &keep);
    assert!(out.contains(r#"<a href="https://example.jp/a" title="t">site</a>"#) && findings.is_empty(), "{out}");
    let (out, findings) = rebuild(&input, &strict());
    assert!(out.contains(r##"<p>site &lt;https://example.jp/a&gt; <a href="#top">top</a></p>"##), "{out}");
    assert_eq!((findings[0].class, findings[0].disposition), (Hyperlinks, Disposition::Neutralized));
    let mut remove = strict();
    remove.hyperlink_mode = HyperlinkMode::Remove;
    let (out, findings) = rebuild(&input, &remove);
    assert!(out.contains(r##"<p>site <a href="#top">top</a></p>"##), "{out}");
    assert_eq!(findings[0].disposition, Disposition::Removed);
    let (out, findings) = rebuild(&input, &strict().with(Hyperlinks, Action::Allow));
    assert!(out.contains(r#"<a href="https://example.jp/a""#) && findings[0].disposition == Disposition::Kept);
    assert_blocked(&failure(&input, &strict().with(Hyperlinks, Action::Block)), Hyperlinks);
}

#[test]
fn each_class_is_kept_removed_or_blocked_as_the_policy_says() {
    let cases: [(&str, sekisho_plugin_sdk::ContentClass, &str); 11] = [
        ("<script>alert(1)</script>", Scripts, "alert"),
        (r#"<p onmouseover="alert(1)">x</p>"#, Scripts, "onmouseover"),
        (r#"<iframe src="https://example.jp/"></iframe>"#, ActiveObjects, "iframe"),
        (r#"<object data="x.swf"></object>"#, ActiveObjects, "<object"),
        (r#"<meta http-equiv="refresh" content="0;url=https://evil.example/">"#, AutoActions, "refresh"),
        (r#"<img src="https://t.example/pixel.gif" width="1" height="1">"#, ExternalLinks, "pixel"),
        (r#"<form action="https://example.jp/"><label>名前</label><input name="n"></form>"#, Forms, "input"),
        (r#"<video src="movie.mp4"></video>"#, Multimedia, "<video"),
        (r#"<meta name="author" content="山田">"#, Metadata, "山田"),
        ("<!-- 社外秘 -->", Comments, "社外秘"),
        ("<marquee>x</marquee>", UnknownParts, "marquee"),
    ];
    for (body, class, marker) in cases {
        let input = page(body);
        let (out, findings) = rebuild(&input, &strict());
        assert!(!out.contains(marker), "{body}: {out}");
        assert_inert(&out);
        assert_eq!(findings.first().map(|f| f.class), Some(class), "{body}");
        let (out, findings) = rebuild(&input, &strict().with(class, Action::Allow));
        assert!(out.contains(marker), "{body} allowed: {out}");
        assert_eq!(findings.first().map(|f| (f.class, f.disposition)), Some((class, Disposition::Kept)), "{body}");
        assert_blocked(&failure(&input, &strict().with(class, Action::Block)), class);
    }
}

#[test]
fn forms_lose_their_controls_and_keep_their_text() {
    let input = page(
        r#"<form action="/login"><fieldset><legend>ログイン</legend><label for="u">ID</label><input id="u"><select><option>a</option></select><button type="submit">送信</button></fieldset></form>"#,
    );
    let (out, findings) = rebuild(&input, &strict());
    assert!(out.contains(r#"<fieldset><legend>ログイン</legend><label for="u">ID</label>送信</fieldset>"#), "{out}");
    assert!(findings.iter().all(|f| f.class == Forms));
}

#[test]
fn remote_resources_go_and_content_stays() {
    let input = page(concat!(
        r#"<style>@import "https://t.example/a.css"; p { color: red; background: url(https://t.example/bg.png) }</style>"#,
        r#"<p style="margin: 0; background-image: url('//t.example/p.gif')">本文</p>"#,
        r#"<img alt="図" src="https://t.example/a.png" srcset="https://t.example/a2.png 2x" width="10">"#,
        r#"<img alt="inline" src="data:image/gif;base64,R0lGODlhAQABAAAAACw="><img src="cid:part1@mail">"#,
        r#"<table background="https://t.example/t.png"><tr><td>表</td></tr></table>"#,
        r#"<link rel="stylesheet" href="https://t.example/s.css"><base href="https://evil.example/">"#,
        r#"<a href="data:text/html,<script>alert(1)</script>">x</a>"#
    ));
    let (out, findings) = rebuild(&input, &strict());
    assert_inert(&out);
    assert!(out.contains("<style> p { color: red;}</style>"), "{out}");
    assert!(out.contains(r#"<p style="margin: 0;">本文</p>"#), "{out}");
    assert!(
        out.contains(r#"<img alt="図" width="10">"#) && out.contains("data:image/gif") && out.contains("cid:part1")
    );
    assert!(out.contains("<table><tbody><tr><td>表</td></tr></tbody></table>") && out.contains("<a>x</a>"), "{out}");
    assert!(has(&findings, ExternalLinks) && has(&findings, Scripts));
}

#[test]
fn mutation_xss_does_not_survive_a_reparse() {
    for body in [
        r#"<svg><style><img src=x onerror=alert(1)></style></svg>"#,
        r#"<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>"#,
        r#"<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>"#,
        r#"<xmp><img src=x onerror=alert(1)></xmp>"#,
        r#"<a href="jav&#x09;ascript:alert(1)">x</a><a href="&#106;avascript:alert(1)">y</a>"#,
        r#"<div style="width: expression(alert(1)); color: red">z</div>"#,
        r#"<form><math><mtext></form><form><mglyph><style></math><img src onerror=alert(1)>"#,
    ] {
        let (out, _) = rebuild(&page(body), &strict());
        assert_inert(&out);
        assert!(!elements(&out).iter().any(|(_, attrs)| attrs.iter().any(|(k, _)| k == "onerror")), "{body}: {out}");
    }
}

#[test]
fn inline_svg_kept_by_policy_keeps_no_script() {
    let input = page(
        r#"<svg><script>alert(1)</script><set attributeName="href" to="javascript:alert(2)"/><circle r="1" onclick="alert(3)"/></svg>"#,
    );
    let (out, findings) = rebuild(&input, &strict().with(UnknownParts, Action::Allow));
    assert!(out.contains(r#"<svg><circle r="1"></circle></svg>"#), "{out}");
    assert!(!out.contains("alert"), "{out}");
    assert!(has(&findings, Scripts));
}

#[test]
fn deep_nesting_and_broken_bytes() {
    let deep = page(&"<div>".repeat(600));
    let failure = failure(&deep, &strict());
    assert_eq!(failure.kind, FailureKind::LimitExceeded, "{}", failure.detail);
    let (out, findings) = rebuild(b"<meta charset=\"utf-8\"><p>a\xffb</p>", &strict());
    assert!(out.contains("<p>a\u{fffd}b</p>"), "{out}");
    assert_eq!((findings[0].class, findings[0].disposition), (MalformedStructure, Disposition::Neutralized));
    let (out, findings) = rebuild("<meta charset=\"shift_jis\"><p>日本語</p>".as_bytes(), &strict());
    assert!(out.contains("<p>日本語</p>") && findings[0].detail.contains("Shift_JIS"), "{out}");
}

#[test]
fn allowing_everything_keeps_everything_stable() {
    let input = page(concat!(
        r#"<script>if (a < b) go()</script><p onclick="f()">x</p><iframe src="https://example.jp/">fallback</iframe>"#,
        r#"<img src="https://example.jp/i.png"><!-- note --><marquee>m</marquee><svg><circle r="1"/></svg>"#
    ));
    let (out, findings) = rebuild(&input, &Policy::uniform(Action::Allow));
    for kept in [
        "<script>if (a < b) go()</script>",
        "onclick",
        "<iframe",
        "https://example.jp/i.png",
        "<!-- note -->",
        "<marquee>",
        "<circle",
    ] {
        assert!(out.contains(kept), "{kept}: {out}");
    }
    assert!(findings.iter().all(|f| f.disposition == Disposition::Kept));
}

#[test]
fn text_channel_gives_title_and_blocks_in_reading_order_without_what_was_removed() {
    let input = concat!(
        "<html><head><title> 会員 情報 </title><style>p{color:red}</style><script>var secret='スクリプト';</script></head>",
        "<body><h1>山田太郎 様</h1><!-- コメント 999988887777 -->",
        "<div>住所：<b>東京都</b>千代田区<p>メール: <a href=\"mailto:taro@example.jp\">連絡先</a></p>後書き</div>",
        "<ul><li>一つ目</li><li>二つ目<br>続き</li></ul>",
        "<table><tr><th>個人番号</th><td>123456789012</td></tr></table>",
        "<p onclick=\"alert(1)\">詳細は<a href=\"https://example.jp/x\">こちら</a></p>",
        "<script>document.write('書かれない')</script><iframe src=\"https://evil.example/\">枠</iframe>",
        "<pre>  整形済み\n    テキスト</pre></body></html>",
    );
    let blocks = [
        ("block 1", "山田太郎 様"),
        ("block 2", "住所：東京都千代田区"),
        ("block 3", "メール: 連絡先 <mailto:taro@example.jp>"),
        ("block 4", "後書き"),
        ("block 5", "一つ目"),
        ("block 6", "二つ目\n続き"),
        ("block 7", "個人番号"),
        ("block 8", "123456789012"),
        ("block 9", "詳細はこちら <https://example.jp/x>"),
        ("block 10", "整形済み\n    テキスト"),
    ];
    // Links kept as text: the target is in the page as text, so it is in the text.
    let mut expected = pairs(&[("title", "会員 情報")]);
    expected.extend(pairs(&blocks));
    assert_eq!(texts(input.as_bytes(), &strict()), expected);
    // Links kept as links: only what the page shows.
    let mut keep = strict();
    keep.hyperlink_mode = HyperlinkMode::Keep;
    let shown = texts(input.as_bytes(), &keep);
    assert_eq!(shown[3], ("block 3".to_string(), "メール: 連絡先".to_string()));
    assert_eq!(shown[9], ("block 9".to_string(), "詳細はこちら".to_string()));
    // Text mode: the page is the text, links written out; no title is kept.
    let text_mode = texts(input.as_bytes(), &keep.clone().with_option("html-mode", "text"));
    assert_eq!(text_mode, pairs(&blocks));
    // Removed content never reaches the text channel; Shift_JIS pages are decoded.
    let (sjis, _, _) = SHIFT_JIS.encode(input);
    for texts in [texts(input.as_bytes(), &strict()), texts(&sjis, &strict())] {
        let all: String = texts.iter().map(|(_, t)| t.as_str()).collect();
        for removed in ["スクリプト", "999988887777", "書かれない", "枠", "color"] {
            assert!(!all.contains(removed), "{removed} was emitted: {texts:?}");
        }
    }
    assert_eq!(texts(&sjis, &strict()), expected);
}
