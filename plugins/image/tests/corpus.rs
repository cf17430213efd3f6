//! The image plugin, natively, on every image of the shared corpus, in both
//! modes, when `SEKISHO_CORPUS` names it. The same behaviours on generated
//! images run on every clone (handmade.rs).

mod common;

use std::path::{Path, PathBuf};

use common::{assert_clean, displayed_size, format_of, reencode, run, structural};
use sekisho_plugin_sdk::{ContentClass, Disposition, FailureKind, Policy};
use sekisho_testkit::Corpus;

fn corpus_files(corpus: &Corpus) -> Vec<PathBuf> {
    let files = corpus.files("image");
    assert!(files.len() >= 43, "expected the image corpus, found {} files", files.len());
    files
}

fn label(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

/// The corpus files that are refused, and how.
fn expected_failure(label: &str) -> Option<FailureKind> {
    Some(match label {
        // 3000000x2000000 pixels: refused from the header.
        "image-rs__Bad_reallybig.bmp" => FailureKind::LimitExceeded,
        // The pixel array runs past the end of the file.
        "image-rs__Bad_shortfile.bmp" => FailureKind::InvalidStructure,
        // A logical screen and no image.
        "image-rs__zero-loop-count.gif" => FailureKind::InvalidStructure,
        // A fuzzer crasher: broken beyond repair.
        "image-rs__oss-fuzz-36829.jpeg" => FailureKind::InvalidStructure,
        _ => return None,
    })
}

/// Runs every corpus file in `policy`'s mode and checks each output.
fn check_corpus(corpus: &Corpus, policy: &Policy, mode: &str) -> usize {
    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("image-{mode}"));
    std::fs::create_dir_all(&out_dir).unwrap();
    let mut rebuilt_count = 0;
    for path in corpus_files(corpus) {
        let label = label(&path);
        let data = std::fs::read(&path).unwrap();
        let format = format_of(&data).unwrap_or_else(|| panic!("{label}: not an image"));
        let result = run(format, &data, policy);
        match &result {
            Ok((out, rebuilt)) => {
                println!("{mode} {label}: {} -> {} bytes, {} findings", data.len(), out.len(), rebuilt.findings.len())
            }
            Err(failure) => println!("{mode} {label}: {:?} {}", failure.kind, failure.detail),
        }
        match (result, expected_failure(&label)) {
            (Ok((out, rebuilt)), None) => {
                rebuilt_count += 1;
                assert_eq!(rebuilt.format, format, "{label}");
                assert_clean(&label, format, &out);
                let before = displayed_size(&data).unwrap_or_else(|e| panic!("{label}: input does not decode: {e}"));
                let after = displayed_size(&out).unwrap_or_else(|e| panic!("{label}: output does not decode: {e}"));
                assert_eq!(before, after, "{label}: dimensions changed");
                for finding in &rebuilt.findings {
                    assert!(!finding.location.is_empty() && !finding.detail.is_empty(), "{label}: vague {finding:?}");
                    assert_ne!(finding.disposition, Disposition::Kept, "{label}: {finding:?}");
                }
                std::fs::write(out_dir.join(&label), &out).unwrap();
            }
            (Err(failure), Some(kind)) => {
                assert_eq!(failure.kind, kind, "{label}: {}", failure.detail);
                assert!(failure.detail.len() > 10, "{label}: vague failure {}", failure.detail);
            }
            (Ok(_), Some(kind)) => panic!("{label}: rebuilt, expected {kind:?}"),
            (Err(failure), None) => panic!("{label}: refused: {:?} {}", failure.kind, failure.detail),
        }
    }
    rebuilt_count
}

#[test]
fn structural_mode_rebuilds_every_image_without_metadata() {
    let Some(corpus) = sekisho_testkit::corpus!() else { return };
    assert_eq!(check_corpus(&corpus, &structural(), "structural"), 39);
}

#[test]
fn reencode_mode_rebuilds_every_image_without_metadata() {
    let Some(corpus) = sekisho_testkit::corpus!() else { return };
    assert_eq!(check_corpus(&corpus, &reencode(), "re-encode"), 39);
}

#[test]
fn structural_mode_is_idempotent_and_deterministic() {
    let Some(corpus) = sekisho_testkit::corpus!() else { return };
    for path in corpus_files(&corpus) {
        let label = label(&path);
        let data = std::fs::read(&path).unwrap();
        let format = format_of(&data).unwrap();
        let Ok((first, _)) = run(format, &data, &structural()) else { continue };
        let (again, _) = run(format, &data, &structural()).unwrap();
        assert_eq!(first, again, "{label}: not deterministic");
        let (second, rebuilt) = run(format, &first, &structural()).unwrap();
        assert!(rebuilt.findings.is_empty(), "{label}: second pass found {:#?}", rebuilt.findings);
        assert_eq!(first, second, "{label}: not idempotent");
    }
}

/// Re-encoding a JPEG again loses a little more (generation loss), so for
/// JPEG idempotence means: the second pass finds nothing and keeps the
/// dimensions. Every other format re-encodes to the same bytes.
#[test]
fn reencode_mode_is_idempotent_and_deterministic() {
    let Some(corpus) = sekisho_testkit::corpus!() else { return };
    for path in corpus_files(&corpus) {
        let label = label(&path);
        let data = std::fs::read(&path).unwrap();
        let format = format_of(&data).unwrap();
        let Ok((first, _)) = run(format, &data, &reencode()) else { continue };
        let (again, _) = run(format, &data, &reencode()).unwrap();
        assert_eq!(first, again, "{label}: not deterministic");
        let (second, rebuilt) = run(format, &first, &reencode()).unwrap();
        assert!(rebuilt.findings.is_empty(), "{label}: second pass found {:#?}", rebuilt.findings);
        assert_eq!(displayed_size(&first).unwrap(), displayed_size(&second).unwrap(), "{label}");
        if format != "jpeg" {
            assert_eq!(first, second, "{label}: not idempotent");
        }
    }
}

#[test]
fn metadata_in_the_corpus_is_reported() {
    let Some(corpus) = sekisho_testkit::corpus!() else { return };
    let expect: [(&str, &[&str]); 6] = [
        ("exif-samples__DSCN0010.jpg", &["GPS tags", "maker notes", "a thumbnail", "XMP packet"]),
        ("image-rs__iptc.jpg", &["Photoshop image resources (IPTC)"]),
        ("image-rs__tp1n3p08_xmp.png", &["XMP packet"]),
        ("image-rs__interlaced.gif", &["comment"]),
        ("image-rs__simple_xmp.webp", &["XMP packet"]),
        ("payloadsallthethings__imagemagick_CVE-2022-44268_convert_etc_passwd.png", &["text chunk 'profile'"]),
    ];
    let dir = corpus.folder("image");
    for (name, details) in expect {
        let data = std::fs::read(dir.join(name)).unwrap();
        let (_, rebuilt) = run(format_of(&data).unwrap(), &data, &structural()).unwrap();
        for detail in details {
            assert!(
                rebuilt.findings.iter().any(|f| f.class == ContentClass::Metadata && f.detail.contains(detail)),
                "{name}: no finding with {detail}: {:#?}",
                rebuilt.findings
            );
        }
    }
}

#[test]
fn exif_orientation_is_applied_to_the_pixels() {
    let Some(corpus) = sekisho_testkit::corpus!() else { return };
    let dir = corpus.folder("image");
    let data = std::fs::read(dir.join("exif-samples__landscape_6.jpg")).unwrap();
    let stored = image::load_from_memory(&data).unwrap();
    let (out, rebuilt) = run("jpeg", &data, &structural()).unwrap();
    let upright = image::load_from_memory(&out).unwrap();
    assert_eq!((upright.width(), upright.height()), (stored.height(), stored.width()));
    assert!(
        rebuilt
            .findings
            .iter()
            .any(|f| f.disposition == Disposition::Neutralized && f.detail.contains("orientation 6"))
    );
}

/// GIF_exploit.gif spells a PHP payload with its LZW codes. Structural mode
/// copies the codes; re-encode writes new ones from the same pixels, and the
/// pixels were crafted so that a canonical LZW encoder spells the payload
/// again: lossless re-encoding keeps pixel-level payloads (documented).
#[test]
fn gif_reencode_is_lossless() {
    let Some(corpus) = sekisho_testkit::corpus!() else { return };
    let dir = corpus.folder("image");
    let data = std::fs::read(dir.join("payloadsallthethings__GIF_exploit.gif")).unwrap();
    let (structural_out, _) = run("gif", &data, &structural()).unwrap();
    assert_eq!(structural_out, data, "a clean GIF is copied as it is");
    let (reencoded, _) = run("gif", &data, &reencode()).unwrap();
    assert_ne!(reencoded, data);
    let pixels = |d: &[u8]| image::load_from_memory(d).unwrap().to_rgba8();
    assert_eq!(pixels(&reencoded), pixels(&data));
}

/// Animations pass whole in structural mode; re-encode keeps the first frame
/// and says so.
#[test]
fn animations_keep_their_frames_unless_reencoded() {
    let Some(corpus) = sekisho_testkit::corpus!() else { return };
    let dir = corpus.folder("image");
    for (name, frames) in [("image-rs__ball.png", 20), ("image-rs__anim.webp", 6)] {
        let data = std::fs::read(dir.join(name)).unwrap();
        let format = format_of(&data).unwrap();
        let (out, rebuilt) = run(format, &data, &structural()).unwrap();
        assert_eq!(out, data, "{name}");
        assert!(rebuilt.findings.is_empty(), "{name}");
        let (_, rebuilt) = run(format, &data, &reencode()).unwrap();
        let multimedia: Vec<&str> = rebuilt
            .findings
            .iter()
            .filter(|f| f.class == ContentClass::Multimedia)
            .map(|f| f.detail.as_str())
            .collect();
        assert_eq!(multimedia, [format!("{frames} frames: the re-encoded image keeps the first")], "{name}");
    }
}
