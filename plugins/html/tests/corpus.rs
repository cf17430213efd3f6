//! The HTML plugin on the shared corpus: PayloadsAllTheThings XSS payloads,
//! the Readability test pages (real news sites, Wikipedia) and textract's.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use sekisho_plugin_sdk::ContentClass::*;

fn corpus() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/html");
    assert!(dir.is_dir(), "the shared corpus is missing at {}", dir.display());
    dir
}

fn files() -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(corpus())
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            (path.file_name().unwrap().to_str().unwrap().to_owned(), std::fs::read(&path).unwrap())
        })
        .collect();
    files.sort();
    assert!(files.len() >= 17, "expected the HTML corpus, found {} files", files.len());
    files
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(corpus().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn every_page_is_rebuilt_inert_and_stable() {
    for (name, input) in files() {
        let (out, findings) = rebuild(&input, &strict());
        assert_inert(&out);
        assert!(!findings.is_empty(), "{name}: every corpus page has something to remove");
    }
}

#[test]
fn every_page_becomes_stable_text() {
    let policy = strict().with_option("html-mode", "text");
    for (name, input) in files() {
        let (out, _) = rebuild(&input, &policy);
        assert!(out.starts_with("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head><body><pre>"), "{name}");
        assert_eq!(elements(&out).iter().filter(|(e, _)| e == "pre").count(), 1, "{name}");
        assert_eq!(pre_text(&out), sekisho_html::to_text(&input).unwrap(), "{name}: the text is to_text's");
    }
}

#[test]
fn payloads_are_gone_and_content_stays() {
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
