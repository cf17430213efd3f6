//! The SVG plugin on the shared corpus when `SEKISHO_CORPUS` names it:
//! PayloadsAllTheThings XSS and SSRF payloads and the svg-sanitizer (PHP)
//! test files. The same behaviours on generated drawings run on every clone
//! (`a_dirty_drawing_*` here, and handmade.rs).

mod common;

use common::*;
use sekisho_plugin_sdk::ContentClass::{self, *};
use sekisho_plugin_sdk::FailureKind;

/// Files that are refused, and why: not well formed (a browser shows an
/// error too), or a `<use>` bomb.
const REFUSED: [(&str, FailureKind, &str); 5] = [
    ("payloadsallthethings__SVG_XSS1.svg", FailureKind::InvalidStructure, "expected `</desc>`"),
    ("payloadsallthethings__SVG_XSS2.svg", FailureKind::InvalidStructure, "expected `</foreignObject>`"),
    ("svg-sanitizer-php__badXmlTestOne.svg", FailureKind::InvalidStructure, "expected `</line>`"),
    ("svg-sanitizer-php__useDosTest.svg", FailureKind::LimitExceeded, "<use> references expand"),
    ("svg-sanitizer-php__xlinkLaughsTest.svg", FailureKind::LimitExceeded, "<use> references expand"),
];

/// What the strict profile must find in each rebuilt file (empty: clean).
const FOUND: [(&str, &[ContentClass]); 22] = [
    ("payloadsallthethings__SVG_XSS_green_triangle.svg", &[MalformedStructure, Scripts]),
    ("payloadsallthethings__SVG_XSS_nested_svg.svg", &[Scripts]),
    ("payloadsallthethings__SVG_XSS_nested_use_xlink.svg", &[ExternalLinks]),
    ("payloadsallthethings__SVG_XSS_red_lightning.svg", &[MalformedStructure, Scripts, ActiveObjects, UnknownParts]),
    ("payloadsallthethings__convert_local_etc_passwd.svg", &[MalformedStructure, ExternalLinks]),
    ("payloadsallthethings__ssrf_iframe.svg", &[ActiveObjects]),
    ("payloadsallthethings__ssrf_svg_css_import.svg", &[ExternalLinks]),
    ("payloadsallthethings__ssrf_svg_css_xmlstylesheet.svg", &[ExternalLinks]),
    ("payloadsallthethings__ssrf_svg_image.svg", &[ExternalLinks]),
    ("svg-sanitizer-php__ariaDataTest.svg", &[]),
    ("svg-sanitizer-php__cdataTwoTest.svg", &[]),
    ("svg-sanitizer-php__entityTest.svg", &[MalformedStructure]),
    ("svg-sanitizer-php__externalTest.svg", &[MalformedStructure, ExternalLinks]),
    ("svg-sanitizer-php__formDataTest.svg", &[MalformedStructure, Forms, MalformedStructure]),
    ("svg-sanitizer-php__hrefTestOne.svg", &[Scripts, MalformedStructure, Scripts]),
    ("svg-sanitizer-php__hrefTestTwo.svg", &[Scripts]),
    ("svg-sanitizer-php__htmlTest.svg", &[Comments, MalformedStructure, UnknownParts, MalformedStructure]),
    ("svg-sanitizer-php__maliciousJsAndPhpTest.svg", &[UnknownParts, Scripts, Comments]),
    ("svg-sanitizer-php__svgCleanOne.svg", &[]),
    ("svg-sanitizer-php__svgTestOne.svg", &[Comments, MalformedStructure, Scripts, UnknownParts, Scripts]),
    ("svg-sanitizer-php__useTest.svg", &[ExternalLinks]),
    ("svg-sanitizer-php__xlinkLoopTest.svg", &[Comments, MalformedStructure]),
];

#[test]
fn every_file_is_rebuilt_inert_or_refused_with_the_reason() {
    let Some(corpus) = sekisho_testkit::corpus!() else { return };
    let read = |name: &str| corpus.read("svg", name);
    let files: Vec<String> =
        corpus.files("svg").iter().map(|p| p.file_name().unwrap().to_str().unwrap().to_owned()).collect();
    assert_eq!(files.len(), REFUSED.len() + FOUND.len(), "the corpus changed: {files:?}");
    let policy = strict();
    for name in &files {
        let input = read(name);
        if let Some((_, kind, reason)) = REFUSED.iter().find(|(file, ..)| file == name) {
            let failure = failure(&input, &policy);
            assert_eq!(&failure.kind, kind, "{name}: {}", failure.detail);
            assert!(failure.detail.contains(reason), "{name}: {}", failure.detail);
            continue;
        }
        let (out, findings) = rebuild(&input, &policy);
        assert_inert(&out);
        let expected = FOUND.iter().find(|(file, _)| file == name).map(|(_, classes)| *classes);
        assert_eq!(Some(classes(&findings).as_slice()), expected, "{name}: {findings:#?}");
        // The picture keeps its size.
        if let Some(size) = root_size(&input) {
            assert_eq!(root_size(out.as_bytes()), Some(size), "{name}");
        }
    }
}

/// A drawing of seven lines, and the same drawing with scripts, handlers,
/// an unknown element, a comment and a `javascript:` link mixed in.
fn drawing_pair() -> (Vec<u8>, Vec<u8>) {
    let lines: String = (0..7)
        .map(|i| format!("<line x1=\"0\" y1=\"{y}\" x2=\"100\" y2=\"{y}\" stroke=\"black\"/>\n", y = 10 + 10 * i))
        .collect();
    let head = r#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="100" height="100">"#;
    let clean = format!("{head}\n{lines}</svg>\n");
    let dirty = format!(
        "{head}\n<script>alert(1)</script>\n<!-- a comment -->\n{}<this>is not svg</this>\n\
         <a xlink:href=\"javascript:alert(2)\"><text x=\"1\" y=\"95\" onclick=\"alert(3)\">t</text></a>\n</svg>\n",
        lines.replace("stroke=\"black\"/>", "stroke=\"black\" onmouseover=\"alert(4)\"/>")
    );
    (dirty.into_bytes(), clean.into_bytes())
}

#[test]
fn a_dirty_drawing_rebuilds_to_its_clean_pair() {
    let (dirty, clean) = drawing_pair();
    let policy = strict();
    let (dirty, findings) = rebuild(&dirty, &policy);
    assert!(has(&findings, Scripts) && has(&findings, Comments) && has(&findings, UnknownParts), "{findings:?}");
    let (clean, findings) = rebuild(&clean, &policy);
    assert!(findings.is_empty(), "{findings:?}");
    assert_inert(&dirty);
    let lines = |svg: &str| svg.lines().filter(|l| l.starts_with("<line")).map(str::to_owned).collect::<Vec<_>>();
    assert_eq!(lines(&dirty), lines(&clean));
    assert_eq!(lines(&dirty).len(), 7);
    assert!(!dirty.contains("<this") && !dirty.to_lowercase().contains("script") && !dirty.contains("alert"));
}

#[test]
fn the_dirty_file_rebuilds_to_the_drawing_of_its_clean_pair() {
    let Some(corpus) = sekisho_testkit::corpus!() else { return };
    let read = |name: &str| corpus.read("svg", name);
    let policy = strict();
    let (dirty, _) = rebuild(&read("svg-sanitizer-php__svgTestOne.svg"), &policy);
    let (clean, findings) = rebuild(&read("svg-sanitizer-php__svgCleanOne.svg"), &policy);
    assert!(findings.is_empty(), "{findings:?}");
    let lines = |svg: &str| svg.lines().filter(|l| l.starts_with("<line")).map(str::to_owned).collect::<Vec<_>>();
    assert_eq!(lines(&dirty), lines(&clean));
    assert_eq!(lines(&dirty).len(), 7);
    assert!(!dirty.contains("<this") && !dirty.to_lowercase().contains("script"));
}

#[test]
fn payloads_lose_exactly_their_active_parts() {
    let Some(corpus) = sekisho_testkit::corpus!() else { return };
    let read = |name: &str| corpus.read("svg", name);
    let policy = strict();
    let (out, _) = rebuild(&read("payloadsallthethings__SVG_XSS_red_lightning.svg"), &policy);
    assert!(out.contains(r##"<polygon id="lightning" points="0,100 50,25 50,75 100,0" fill="#ff1919""##), "{out}");
    assert!(!out.contains("alert"), "{out}");

    let (out, _) = rebuild(&read("svg-sanitizer-php__externalTest.svg"), &policy);
    assert_eq!(out.matches("<rect").count(), 7);
    assert_eq!(out.matches("fill=").count(), 1, "{out}");
    assert!(out.contains(r#"fill="url('#benis.svg')""#), "{out}");

    let (out, _) = rebuild(&read("svg-sanitizer-php__hrefTestOne.svg"), &policy);
    assert!(
        out.contains(r##"<a href="#test3">test 3.a</a>"##) && out.contains(r##"<a xlink:href="#test">test 4.a</a>"##)
    );
    assert!(out.contains("<a>test 7</a>") && out.contains("<a>test 8</a>"), "{out}");

    let (out, _) = rebuild(&read("payloadsallthethings__ssrf_svg_css_import.svg"), &policy);
    assert!(out.contains("<style>\n  </style>") && out.contains("<circle"), "{out}");

    let (out, _) = rebuild(&read("svg-sanitizer-php__useTest.svg"), &policy);
    assert!(out.contains(r##"<use xlink:href="#a" x="28" fill="#1A374D"/>"##) && out.contains("<use/>"), "{out}");

    let (out, findings) = rebuild(&read("svg-sanitizer-php__xlinkLoopTest.svg"), &policy);
    assert_eq!(out.matches("<use").count(), 0, "{out}");
    assert_eq!(findings.iter().filter(|f| f.detail.starts_with("reference loop")).count(), 7);
    for text in ["Ping", "Pong", "1st", "2nd", "3rd", "4th"] {
        assert!(out.contains(&format!(">{text}</text>")), "{text} kept");
    }

    let (out, findings) = rebuild(&read("svg-sanitizer-php__entityTest.svg"), &policy);
    assert!(out.contains(r#"<text x="0" y="20" font-size="20"/>"#), "{out}");
    assert!(findings[0].detail.contains("internal DTD subset"), "{findings:?}");
}
