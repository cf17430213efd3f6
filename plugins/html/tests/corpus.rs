//! The HTML plugin on the shared corpus when `SEKISHO_CORPUS` names it:
//! PayloadsAllTheThings XSS payloads, the Readability test pages (real news
//! sites, Wikipedia) and textract's. The same behaviours on generated pages
//! run on every clone (`generated_*` here, and handmade.rs).

mod common;

use common::*;
use sekisho_plugin_sdk::ContentClass::*;
use sekisho_testkit::Corpus;

fn files(corpus: &Corpus) -> Vec<(String, Vec<u8>)> {
    let files: Vec<(String, Vec<u8>)> = corpus
        .files("html")
        .into_iter()
        .map(|path| (path.file_name().unwrap().to_str().unwrap().to_owned(), std::fs::read(&path).unwrap()))
        .collect();
    assert!(files.len() >= 17, "expected the HTML corpus, found {} files", files.len());
    files
}

/// A page with the payloads and the content of the corpus pages, in small:
/// scripts and handlers, frames and plugins, a `javascript:` link, an
/// inline picture, links to other pages and within the page.
fn generated_page() -> Vec<u8> {
    concat!(
        "<!DOCTYPE html><html><head><title>Generated</title><link rel=\"stylesheet\" href=\"https://cdn.example/s.css\">",
        "<script>alert('head')</script></head><body>",
        "<h1>Lorem</h1><h2>Foo</h2><p id=\"top\">Ipsum dolor sit amet, a paragraph of text that stays.</p>",
        "<img src=x onerror=alert(1)><svg onload=alert(2)></svg>",
        "<iframe src=\"file:///etc/passwd\"></iframe><object data=\"movie.swf\"></object><embed src=\"clip.swf\">",
        "<a href=\"javascript:alert(3)\"><p>abc</p></a>",
        "<p><img src=\"data:image/png;base64,iVBORw0KGgo=\" alt=\"inline\"></p>",
        "<p><b>Mozilla</b> is a free-software <a href=\"/wiki/Free_software\">community</a>, ",
        "see <a href=\"#top\">the top</a>.</p>",
        "</body></html>\n"
    )
    .as_bytes()
    .to_vec()
}

#[test]
fn generated_payloads_are_gone_and_content_stays() {
    let (out, findings) = rebuild(&generated_page(), &strict());
    assert_inert(&out);
    assert!(!out.contains("alert") && !out.contains("passwd") && !out.contains("swf"), "{out}");
    assert!(has(&findings, Scripts) && has(&findings, ActiveObjects), "{findings:?}");
    assert_eq!(findings.iter().filter(|f| f.class == ActiveObjects).map(|f| f.count).sum::<u32>(), 3);
    assert!(out.contains("<h1>Lorem</h1>") && out.contains("<h2>Foo</h2>"), "{out}");
    assert!(out.contains("<a><p>abc</p></a>"), "the link's text stays: {out}");
    // Inline images are content: they stay.
    let elements = elements(&out);
    assert!(
        elements.iter().any(|(e, a)| e == "img" && a.iter().any(|(k, v)| k == "src" && v.starts_with("data:image/")))
    );
    // Links are text now: their targets are shown; links within the page stay.
    assert!(out.contains("<b>Mozilla</b> is a free-software community &lt;/wiki/Free_software&gt;"), "{out}");
    assert!(elements.iter().any(|(e, a)| e == "a" && a.iter().any(|(k, v)| k == "href" && v == "#top")));
    assert!(!elements.iter().any(|(e, a)| e == "a" && a.iter().any(|(k, v)| k == "href" && !v.starts_with('#'))));
    assert!(!elements.iter().any(|(e, _)| e == "link"));
    assert!(has(&findings, Hyperlinks) && has(&findings, ExternalLinks));
}

#[test]
fn a_generated_page_keeps_its_text_and_becomes_stable_text() {
    let input = generated_page();
    let (out, _) = rebuild(&input, &strict());
    let words = |text: &str| text.split_whitespace().filter(|w| !w.starts_with('<')).count();
    let (before, after) = (sekisho_html::to_text(&input).unwrap(), sekisho_html::to_text(out.as_bytes()).unwrap());
    assert!(words(&after) * 100 >= words(&before) * 95, "{after:?} from {before:?}");
    let (out, _) = rebuild(&input, &strict().with_option("html-mode", "text"));
    assert_eq!(elements(&out).iter().filter(|(e, _)| e == "pre").count(), 1);
    assert_eq!(pre_text(&out), sekisho_html::to_text(&input).unwrap());
}

#[test]
fn every_page_is_rebuilt_inert_and_stable() {
    let Some(corpus) = sekisho_testkit::corpus!() else { return };
    for (name, input) in files(&corpus) {
        let (out, findings) = rebuild(&input, &strict());
        assert_inert(&out);
        assert!(!findings.is_empty(), "{name}: every corpus page has something to remove");
    }
}

#[test]
fn every_page_becomes_stable_text() {
    let Some(corpus) = sekisho_testkit::corpus!() else { return };
    let policy = strict().with_option("html-mode", "text");
    for (name, input) in files(&corpus) {
        let (out, _) = rebuild(&input, &policy);
        assert!(out.starts_with("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head><body><pre>"), "{name}");
        assert_eq!(elements(&out).iter().filter(|(e, _)| e == "pre").count(), 1, "{name}");
        assert_eq!(pre_text(&out), sekisho_html::to_text(&input).unwrap(), "{name}: the text is to_text's");
    }
}

#[test]
fn payloads_are_gone_and_content_stays() {
    let Some(corpus) = sekisho_testkit::corpus!() else { return };
    let read = |name: &str| corpus.read("html", name);
    let policy = strict();
    let (out, findings) = rebuild(&read("payloadsallthethings__xss.html"), &policy);
    assert!(!out.contains("alert") && has(&findings, Scripts), "{out}");
    let (out, findings) = rebuild(&read("payloadsallthethings__iframe.html"), &policy);
    assert!(!out.contains("passwd") && has(&findings, ActiveObjects), "{out}");

    let (out, findings) = rebuild(&read("readability__basic-tags-cleaning_source.html"), &policy);
    assert!(!out.contains("swf") && out.contains("<h1>Lorem</h1>") && out.contains("<h2>Foo</h2>"), "{out}");
    assert_eq!(findings.iter().filter(|f| f.class == ActiveObjects).map(|f| f.count).sum::<u32>(), 3);

    let (out, findings) = rebuild(&read("readability__js-link-replacement_source.html"), &policy);
    assert!(out.contains("<a>\n      <p>abc</p>") && has(&findings, Scripts), "{out}");

    // Inline images are content: they stay.
    let (out, _) = rebuild(&read("readability__data-url-image_source.html"), &policy);
    assert!(
        elements(&out)
            .iter()
            .any(|(e, a)| e == "img" && a.iter().any(|(k, v)| k == "src" && v.starts_with("data:image/")))
    );

    // Links are text now: their targets are shown.
    let (out, findings) = rebuild(&read("readability__wikipedia_source.html"), &policy);
    assert!(out.contains("Mozilla</b> is a free-software &lt;/wiki/Free_software&gt; community"), "links as text");
    let elements = elements(&out);
    assert!(elements.iter().any(|(e, a)| e == "a" && a.iter().any(|(k, v)| k == "href" && v.starts_with('#'))));
    assert!(!elements.iter().any(|(e, a)| e == "a" && a.iter().any(|(k, v)| k == "href" && !v.starts_with('#'))));
    assert!(!elements.iter().any(|(e, _)| e == "link"));
    assert!(has(&findings, Hyperlinks) && has(&findings, ExternalLinks) && has(&findings, Scripts));
}

#[test]
fn pages_keep_their_text() {
    let Some(corpus) = sekisho_testkit::corpus!() else { return };
    let read = |name: &str| corpus.read("html", name);
    for name in ["readability__lemonde-1_source.html", "readability__cnn_source.html", "readability__bbc-1_source.html"]
    {
        let input = read(name);
        let (out, _) = rebuild(&input, &strict());
        let before = sekisho_html::to_text(&input).unwrap();
        let after = sekisho_html::to_text(out.as_bytes()).unwrap();
        // Only link targets (now text) and the text of removed forms and frames differ.
        let words = |text: &str| text.split_whitespace().filter(|w| !w.starts_with('<')).count();
        let (before, after) = (words(&before), words(&after));
        assert!(after * 100 >= before * 95, "{name}: {after} of {before} words left");
    }
}
