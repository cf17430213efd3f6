//! Images, SVG and HTML end to end: generated files for each behaviour, and
//! the corpus when `SEKISHO_CORPUS` names it, checked by tools that are not
//! ours: exiftool, Pillow, librsvg and `check_active.py`.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use sekisho::policy::Policy;
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
fn sanitize_folder(corpus: &Corpus, folder: &str, policy: &Policy, dir: &Path) -> Vec<Done> {
    let mut done = Vec::new();
    for input in corpus.files(folder) {
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
    let Some(corpus) = corpus!() else { return };
    if !(python_modules("magic, PIL") && tool("exiftool")) {
        return;
    }
    let baseline = baseline(&corpus);
    let oracle = corpus.oracle("check_active.py");
    for mode in ["structural", "re-encode"] {
        let mut policy = Policy::default();
        policy.options.insert("image-mode".into(), mode.into());
        let work = tempfile::tempdir().unwrap();
        let done = sanitize_folder(&corpus, "image", &policy, work.path());
        assert!(done.len() >= 39, "{mode:?}: only {} images passed", done.len());
        // exiftool: no metadata group left.
        let outputs: Vec<&Path> = done.iter().map(|d| d.output.as_path()).collect();
        let exif = Command::new("exiftool").args(["-j", "-G1", "-a", "-n"]).args(&outputs).output().unwrap();
        let exif: Vec<serde_json::Value> = serde_json::from_slice(&exif.stdout).unwrap();
        assert_eq!(exif.len(), outputs.len(), "exiftool read every output");
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
        let tags = check_active(&oracle, &outputs, work.path());
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
        assert_eq!(problems.len(), done.len(), "Pillow checked every output");
        for (file, found) in problems {
            assert!(found.is_empty(), "{mode:?} {file}: {found:?}");
        }
    }
}

#[test]
fn images_are_idempotent_and_deterministic() {
    let Some(corpus) = corpus!() else { return };
    assert_idempotent_and_deterministic(&corpus, "image", &Policy::default(), true);
}

/// A generated JPEG with EXIF metadata (a camera, a GPS position) and a
/// comment: exiftool shows them in the input and none in the output, and
/// Pillow decodes the output at the same size with nothing after its end.
#[test]
fn a_jpeg_loses_its_metadata_and_still_decodes() {
    if !(python_modules("PIL") && tool("exiftool")) {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let input = work.path().join("photo.jpg");
    std::fs::write(&input, kit::fixtures::jpeg(64, 48)).unwrap();
    let tag = Command::new("exiftool")
        .args(["-overwrite_original", "-Make=Sekisho", "-Model=Fixture", "-GPSLatitude=35.68", "-GPSLatitudeRef=N"])
        .args(["-Comment=a comment", "-XMP-dc:Creator=someone"])
        .arg(&input)
        .output()
        .unwrap();
    assert!(tag.status.success(), "exiftool could not tag the fixture: {}", String::from_utf8_lossy(&tag.stderr));
    let groups = |file: &Path| {
        let out = Command::new("exiftool").args(["-j", "-G1", "-a", "-n"]).arg(file).output().unwrap();
        assert!(out.status.success(), "exiftool: {}", String::from_utf8_lossy(&out.stderr));
        let records: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(records.len(), 1);
        records[0].as_object().unwrap().keys().cloned().collect::<Vec<String>>()
    };
    let before = groups(&input);
    for group in ["IFD0:", "GPS:", "XMP-dc:", "File:Comment"] {
        assert!(before.iter().any(|k| k.starts_with(group)), "the fixture has no {group} metadata: {before:?}");
    }
    for mode in ["structural", "re-encode"] {
        let mut policy = Policy::default();
        policy.options.insert("image-mode".into(), mode.into());
        let result = sanitize_file(engine(), &input, &policy);
        assert_eq!(result.report.outcome, Outcome::Sanitized, "{mode:?}: {:#?}", result.report);
        let output = work.path().join(format!("out-{mode}.jpg"));
        std::fs::write(&output, result.output.unwrap()).unwrap();
        let after = groups(&output);
        for key in &after {
            let group = key.split(':').next().unwrap();
            let forbidden = ["IFD0", "ExifIFD", "GPS", "IFD1", "MakerNotes"].contains(&group)
                || group.starts_with("XMP")
                || group.starts_with("IPTC")
                || key.ends_with(":Comment");
            assert!(!forbidden, "{mode:?}: exiftool still shows {key}: {after:?}");
        }
        let pairs = serde_json::to_string(&[(input.display().to_string(), output.display().to_string())]).unwrap();
        let pillow = Command::new("python3").args(["-c", PILLOW_CHECK, &pairs]).output().unwrap();
        assert!(pillow.status.success(), "{}", String::from_utf8_lossy(&pillow.stderr));
        let problems: BTreeMap<String, Vec<String>> = serde_json::from_slice(&pillow.stdout).unwrap();
        assert_eq!(problems.len(), 1);
        for (file, found) in problems {
            assert!(found.is_empty(), "{mode:?} {file}: {found:?}");
        }
    }
}

#[test]
fn a_polyglot_comes_out_as_the_image_only() {
    let jpeg = kit::fixtures::jpeg(64, 48);
    let zip = make_zip(&[("payload.txt", b"hidden")]);
    let polyglot = [jpeg.clone(), zip].concat();
    let result = sanitize_bytes(engine(), "cat.jpg", &polyglot, &Policy::default());
    let output = result.output.expect("the image passes");
    assert!(output.ends_with(b"\xff\xd9"));
    assert!(!output.windows(4).any(|w| w == b"PK\x03\x04"), "the archive is gone");
    assert!(result.report.items.iter().any(|i| i.class == sekisho::policy::Class::MalformedStructure.name()));
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
    let Some(corpus) = corpus!() else { return };
    if !python_modules("magic") {
        return;
    }
    let baseline = baseline(&corpus);
    let oracle = corpus.oracle("check_active.py");
    for folder in ["svg", "html"] {
        let work = tempfile::tempdir().unwrap();
        let done = sanitize_folder(&corpus, folder, &Policy::default(), work.path());
        assert!(done.len() >= if folder == "svg" { 22 } else { 17 }, "{folder}: only {} passed", done.len());
        let outputs: Vec<&Path> = done.iter().map(|d| d.output.as_path()).collect();
        let tags = check_active(&oracle, &outputs, work.path());
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
    let Some(corpus) = corpus!() else { return };
    if !tool("rsvg-convert") {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let done = sanitize_folder(&corpus, "svg", &Policy::default(), work.path());
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

/// An SVG with a script, a handler and a remote image renders at the same
/// size once they are gone.
#[test]
fn a_generated_svg_loses_its_scripts_and_renders_at_the_same_size() {
    let svg = concat!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="120" height="80" onload="alert(1)">"#,
        r#"<script>alert(2)</script><rect x="10" y="10" width="100" height="60" fill="teal"/>"#,
        r#"<image xlink:href="http://tracker.example/p.png" width="1" height="1"/>"#,
        r#"<a xlink:href="javascript:alert(3)"><circle cx="60" cy="40" r="10"/></a></svg>"#,
    );
    let result = sanitize_bytes(engine(), "drawing.svg", svg.as_bytes(), &Policy::default());
    assert_eq!(result.report.outcome, Outcome::Sanitized, "{:#?}", result.report);
    let output = String::from_utf8(result.output.unwrap()).unwrap();
    let lower = output.to_ascii_lowercase();
    for gone in ["<script", "onload", "javascript:", "tracker.example"] {
        assert!(!lower.contains(gone), "{gone} survived: {output}");
    }
    assert!(output.contains("<rect") && output.contains("<circle"), "the drawing stays: {output}");
    if tool("rsvg-convert") {
        let work = tempfile::tempdir().unwrap();
        let render = |svg: &[u8], name: &str| {
            let (input, png) = (work.path().join(format!("{name}.svg")), work.path().join(format!("{name}.png")));
            std::fs::write(&input, svg).unwrap();
            let out = Command::new("rsvg-convert").args(["-f", "png", "-o"]).arg(&png).arg(&input).output().unwrap();
            assert!(out.status.success(), "rsvg-convert {name}: {}", String::from_utf8_lossy(&out.stderr));
            png_size(&png)
        };
        assert_eq!(render(output.as_bytes(), "after"), Some((120, 80)));
        assert_eq!(render(svg.as_bytes(), "before"), Some((120, 80)));
    }
}

/// Text mode: the page becomes its text in one `<pre>`, no markup left.
fn assert_text_mode(page: &[u8]) {
    let mut policy = Policy::default();
    policy.options.insert("html-mode".into(), "text".into());
    let result = sanitize_bytes(engine(), "page.html", page, &policy);
    let output = String::from_utf8(result.output.expect("the page passes")).unwrap();
    assert!(output.contains("<pre>"), "{output}");
    assert!(!output.to_ascii_lowercase().contains("<script"), "{output}");
}

#[test]
fn html_text_mode_gives_plain_text_in_pre() {
    let page = kit::fixtures::html_with_scripts();
    assert_text_mode(&page);
    let mut policy = Policy::default();
    policy.options.insert("html-mode".into(), "text".into());
    let output = String::from_utf8(sanitize_bytes(engine(), "page.html", &page, &policy).output.unwrap()).unwrap();
    assert!(output.contains("Visible heading") && output.contains("Visible text."), "the text stays: {output}");
    assert!(!output.contains("<img") && !output.contains("<svg") && !output.contains("<iframe"), "{output}");
}

#[test]
fn html_text_mode_on_a_corpus_page_gives_plain_text_in_pre() {
    let Some(corpus) = corpus!() else { return };
    assert_text_mode(&corpus.read("html", "payloadsallthethings__xss.html"));
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
