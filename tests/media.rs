//! Images, SVG and HTML end to end on the corpus, checked by tools that are
//! not ours: exiftool, Pillow, ImageMagick and `check_active.py`.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use sekisho::policy::{ImageMode, Policy};
use sekisho::report::{Outcome, ReasonKind};

/// Tags the strict profile cannot remove, by file: the PHP in this GIF is
/// spelled by the pixel values themselves, so any lossless rebuild keeps it.
const PIXEL_PAYLOADS: [(&str, &str); 1] = [("image/payloadsallthethings__GIF_exploit.gif", "php-in-image")];

struct Done {
    key: String,
    input: PathBuf,
    output: PathBuf,
}

/// Sanitizes a corpus folder and writes the outputs to `dir`.
fn sanitize_folder(folder: &str, policy: &Policy, dir: &Path) -> Vec<Done> {
    let mut done = Vec::new();
    for input in corpus_files(folder) {
        let file = input.file_name().unwrap().to_str().unwrap().to_owned();
        let result = sanitize_file(engine(), &input, policy);
        let report = result.report;
        match report.outcome {
            Outcome::Clean | Outcome::Sanitized => {}
            Outcome::Failed => {
                let kind = report.reason.as_ref().unwrap().kind;
                assert!(
                    matches!(kind, ReasonKind::InvalidStructure | ReasonKind::LimitExceeded),
                    "{file}: {report:#?}"
                );
                continue;
            }
            Outcome::Blocked => {
                assert!(report.reason.as_ref().is_some_and(|r| r.class.is_some()), "{file}: {report:#?}");
                continue;
            }
            other => panic!("{file}: {other:?} {report:#?}"),
        }
        let (stem, ext) = file.rsplit_once('.').unwrap();
        let extension = &report.output.as_ref().unwrap().extension;
        let output = dir.join(format!("{stem}-{ext}.{extension}"));
        std::fs::write(&output, result.output.unwrap()).unwrap();
        done.push(Done { key: format!("{folder}/{file}"), input, output });
    }
    done
}

fn python_with(modules: &str) -> bool {
    let found = Command::new("python3").args(["-c", &format!("import {modules}")]).status().is_ok_and(|s| s.success());
    if !found {
        assert!(std::env::var_os("SEKISHO_REQUIRE_ORACLES").is_none(), "python3 with {modules} is required");
        eprintln!("skipping: python3 with {modules} is not installed");
    }
    found
}

/// For each (input, output) pair, Pillow's view: the output decodes, has the
/// input's size once EXIF orientation is applied, and nothing follows its end
/// marker. Answers one line of findings per pair (empty when all is well).
const PILLOW_CHECK: &str = r#"
import sys, json, struct
from PIL import Image, ImageOps
def size(path, transpose):
    with Image.open(path) as im:
        im.load()
        return (ImageOps.exif_transpose(im) if transpose else im).size
def trailing(path):
    data = open(path, "rb").read()
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return len(data) - (data.rfind(b"IEND") + 8)
    if data[:2] == b"\xff\xd8":
        return 0 if data.endswith(b"\xff\xd9") else -1
    if data[:3] == b"GIF":
        return 0 if data.endswith(b";") else -1
    if data[:4] == b"RIFF":
        return len(data) - (struct.unpack("<I", data[4:8])[0] + 8)
    if data[:2] == b"BM":
        return len(data) - struct.unpack("<I", data[2:6])[0]
    return 0
out = {}
pairs = json.loads(sys.argv[1])
for src, dst in pairs:
    problems = []
    try:
        want = size(src, True)
    except Exception:
        want = None
    try:
        got = size(dst, False)
        if want and got != want:
            problems.append(f"size {got} != {want}")
    except Exception as e:
        problems.append(f"does not decode: {e}")
    if trailing(dst) != 0:
        problems.append("bytes after the end marker")
    out[dst] = problems
print(json.dumps(out))
"#;

#[test]
fn images_lose_their_metadata_and_still_decode() {
    if !(python_with("magic, PIL") && tool("exiftool")) {
        return;
    }
    let baseline = baseline();
    for mode in [ImageMode::Structural, ImageMode::ReEncode] {
        let mut policy = Policy::default();
        policy.options.image_mode = mode;
        let work = tempfile::tempdir().unwrap();
        let done = sanitize_folder("image", &policy, work.path());
        assert!(done.len() >= 39, "{mode:?}: only {} images passed", done.len());
        // exiftool: no metadata group left.
        let outputs: Vec<&Path> = done.iter().map(|d| d.output.as_path()).collect();
        let exif = Command::new("exiftool").args(["-j", "-G1", "-a", "-n"]).args(&outputs).output().unwrap();
        let exif: Vec<serde_json::Value> = serde_json::from_slice(&exif.stdout).unwrap();
        for record in &exif {
            let file = record["SourceFile"].as_str().unwrap();
            for key in record.as_object().unwrap().keys() {
                let group = key.split(':').next().unwrap();
                let forbidden = ["ExifIFD", "GPS", "IFD1", "MakerNotes", "InteropIFD"].contains(&group)
                    || group.starts_with("XMP")
                    || group.starts_with("IPTC")
                    || key.ends_with(":Comment")
                    || (group == "PNG"
                        && ["TextualData", "Comment", "Author", "Description"].iter().any(|k| key.ends_with(k)));
                assert!(!forbidden, "{mode:?} {file}: exiftool still shows {key}");
            }
        }
        // check_active: no baseline tag survives, but the pixel payload.
        let tags = check_active(&outputs, work.path());
        for file in &done {
            let before = &baseline[&file.key];
            for tag in tags[&file.output].iter().filter(|t| before.contains(t)) {
                assert!(
                    PIXEL_PAYLOADS.contains(&(file.key.as_str(), tag.as_str())),
                    "{mode:?} {}: {tag} survived",
                    file.key
                );
            }
        }
        // Pillow: decodes, same size, nothing after the end.
        let pairs: Vec<(String, String)> =
            done.iter().map(|d| (d.input.display().to_string(), d.output.display().to_string())).collect();
        let pillow = Command::new("python3")
            .args(["-c", PILLOW_CHECK, &serde_json::to_string(&pairs).unwrap()])
            .output()
            .unwrap();
        assert!(pillow.status.success(), "{}", String::from_utf8_lossy(&pillow.stderr));
        let problems: BTreeMap<String, Vec<String>> = serde_json::from_slice(&pillow.stdout).unwrap();
        for (file, found) in problems {
            assert!(found.is_empty(), "{mode:?} {file}: {found:?}");
        }
    }
}

#[test]
fn images_are_idempotent_and_deterministic() {
    assert_idempotent_and_deterministic("image", &Policy::default(), true);
}

#[test]
fn a_polyglot_comes_out_as_the_image_only() {
    let jpeg = std::fs::read(corpus("image").join("image-rs__cat.jpg")).unwrap();
    let zip = make_zip(&[("payload.txt", b"hidden")]);
    let polyglot = [jpeg.clone(), zip].concat();
    let result = sanitize_bytes(engine(), "cat.jpg", &polyglot, &Policy::default());
    let output = result.output.expect("the image passes");
    assert!(output.ends_with(b"\xff\xd9"));
    assert!(!output.windows(4).any(|w| w == b"PK\x03\x04"), "the archive is gone");
    assert!(result.report.items.iter().any(|i| i.class == sekisho::policy::Class::MalformedStructure));
}

/// Tags `check_active.py` reports that strict keeps on purpose, by file:
/// inline `data:image/…` pictures are content, and one page's title is the
/// text "Replace javascript: links" (its real `javascript:` link is gone).
const KEPT_ON_PURPOSE: [(&str, &str); 3] = [
    ("html/readability__data-url-image_source.html", "data-uri"),
    ("html/readability__lemonde-1_source.html", "data-uri"),
    ("html/readability__js-link-replacement_source.html", "js-uri"),
];

#[test]
fn svg_and_html_lose_their_active_content() {
    if !python_with("magic") {
        return;
    }
    let baseline = baseline();
    for folder in ["svg", "html"] {
        let work = tempfile::tempdir().unwrap();
        let done = sanitize_folder(folder, &Policy::default(), work.path());
        assert!(done.len() >= if folder == "svg" { 22 } else { 17 }, "{folder}: only {} passed", done.len());
        let outputs: Vec<&Path> = done.iter().map(|d| d.output.as_path()).collect();
        let tags = check_active(&outputs, work.path());
        for file in &done {
            for tag in tags[&file.output].iter().filter(|t| baseline[&file.key].contains(t)) {
                assert!(KEPT_ON_PURPOSE.contains(&(file.key.as_str(), tag.as_str())), "{}: {tag} survived", file.key);
            }
        }
    }
}

/// Width and height of a PNG, from its header.
fn png_size(path: &Path) -> Option<(u32, u32)> {
    let data = std::fs::read(path).ok()?;
    let number = |at: usize| Some(u32::from_be_bytes(data.get(at..at + 4)?.try_into().ok()?));
    Some((number(16)?, number(20)?))
}

#[test]
fn svg_outputs_render_at_the_same_size() {
    if !tool("rsvg-convert") {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let done = sanitize_folder("svg", &Policy::default(), work.path());
    let render = |svg: &Path, png: &Path| {
        Command::new("timeout")
            .args(["20", "rsvg-convert", "-f", "png", "-o"])
            .arg(png)
            .arg(svg)
            .output()
            .is_ok_and(|o| o.status.success())
            .then(|| png_size(png))
            .flatten()
    };
    let mut compared = 0;
    for file in &done {
        let before = render(&file.input, &work.path().join("before.png"));
        let after = render(&file.output, &work.path().join("after.png"));
        // Some corpus files do not render even before (broken on purpose);
        // entityTest's only content was the text of an entity, which is not
        // expanded, so nothing is left to draw.
        if file.key == "svg/svg-sanitizer-php__entityTest.svg" {
            continue;
        }
        if let Some(size) = before {
            assert_eq!(after, Some(size), "{}: renders differently", file.key);
            compared += 1;
        }
    }
    assert!(compared >= 15, "only {compared} SVGs rendered before and after");
}

#[test]
fn html_text_mode_gives_plain_text_in_pre() {
    let mut policy = Policy::default();
    policy.options.html_mode = sekisho::policy::HtmlMode::Text;
    let page = corpus("html").join("payloadsallthethings__xss.html");
    let result = sanitize_file(engine(), &page, &policy);
    let output = String::from_utf8(result.output.expect("the page passes")).unwrap();
    assert!(output.contains("<pre>"), "{output}");
    assert!(!output.to_ascii_lowercase().contains("<script"), "{output}");
}

#[test]
fn japanese_html_comes_out_as_utf8() {
    let text = "日本語のメール本文です。";
    let page =
        format!("<html><head><meta charset=\"shift_jis\"><title>t</title></head><body><p>{text}</p></body></html>");
    let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode(&page);
    let result = sanitize_bytes(engine(), "page.html", &bytes, &Policy::default());
    let output = String::from_utf8(result.output.expect("the page passes")).expect("UTF-8 output");
    assert!(output.contains(text), "{output}");
    assert!(
        output.to_ascii_lowercase().contains("charset=\"utf-8\"")
            || output.to_ascii_lowercase().contains("charset=utf-8"),
        "{output}"
    );
}
