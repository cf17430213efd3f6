//! The image plugin on handmade hostile inputs: polyglots, bombs, lying
//! headers, truncation, bad CRCs, misplaced chunks, and the policy's say.

mod common;

use std::io::Cursor;

use common::{
    assert_clean, displayed_size, gif_extensions, jpeg_markers, png_chunks, reencode, run, structural, webp_chunks,
};
use image::{RgbImage, RgbaImage};
use sekisho_plugin_sdk::{Action, ContentClass, Disposition, FailureKind, Policy};

fn picture(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| image::Rgb([(x * 7) as u8, (y * 5) as u8, ((x + y) * 3) as u8]))
}

fn encode(format: image::ImageFormat, width: u32, height: u32) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(picture(width, height)).write_to(&mut out, format).unwrap();
    out.into_inner()
}

fn png() -> Vec<u8> {
    encode(image::ImageFormat::Png, 40, 30)
}

fn jpeg() -> Vec<u8> {
    encode(image::ImageFormat::Jpeg, 40, 30)
}

fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut chunk = (data.len() as u32).to_be_bytes().to_vec();
    chunk.extend_from_slice(kind);
    chunk.extend_from_slice(data);
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(kind);
    hasher.update(data);
    chunk.extend_from_slice(&hasher.finalize().to_be_bytes());
    chunk
}

/// Inserts chunks right after IHDR.
fn png_with(chunks: &[Vec<u8>]) -> Vec<u8> {
    let base = png();
    let mut out = base[..33].to_vec();
    for chunk in chunks {
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(&base[33..]);
    out
}

/// Inserts a segment right after SOI.
fn jpeg_with(marker: u8, payload: &[u8]) -> Vec<u8> {
    let base = jpeg();
    let mut out = vec![0xFF, 0xD8, 0xFF, marker];
    out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(payload);
    out.extend_from_slice(&base[2..]);
    out
}

/// A little-endian EXIF block: IFD0 with the orientation (and a GPS pointer
/// to an empty IFD), and an EXIF IFD that claims `claimed` pixel dimensions.
fn exif(orientation: u16, claimed: (u32, u32)) -> Vec<u8> {
    let mut tiff = b"Exif\0\0II*\0\x08\0\0\0".to_vec();
    let entry = |tag: u16, kind: u16, value: u32| {
        let mut e = tag.to_le_bytes().to_vec();
        e.extend_from_slice(&kind.to_le_bytes());
        e.extend_from_slice(&1u32.to_le_bytes());
        e.extend_from_slice(&value.to_le_bytes());
        e
    };
    // IFD0 at 8: 3 entries (2 + 36 + 4 = 42 bytes), EXIF IFD at 50, GPS IFD at 80.
    tiff.extend_from_slice(&3u16.to_le_bytes());
    tiff.extend(entry(274, 3, u32::from(orientation)));
    tiff.extend(entry(34665, 4, 50));
    tiff.extend(entry(34853, 4, 80));
    tiff.extend_from_slice(&0u32.to_le_bytes());
    tiff.extend_from_slice(&2u16.to_le_bytes());
    tiff.extend(entry(40962, 4, claimed.0));
    tiff.extend(entry(40963, 4, claimed.1));
    tiff.extend_from_slice(&0u32.to_le_bytes());
    tiff.extend_from_slice(&[0; 6]);
    tiff
}

fn findings_of(rebuilt: &sekisho_plugin_sdk::Rebuilt, class: ContentClass) -> Vec<String> {
    rebuilt.findings.iter().filter(|f| f.class == class).map(|f| format!("{} @ {}", f.detail, f.location)).collect()
}

#[test]
fn a_png_with_a_zip_appended_comes_out_only_a_png() {
    let mut data = png();
    let clean = data.clone();
    data.extend_from_slice(b"PK\x03\x04\x14\0\0\0\0\0payload.php<?php system($_GET[1]); ?>PK\x05\x06");
    let (out, rebuilt) = run("png", &data, &structural()).unwrap();
    assert_eq!(out, clean);
    assert_eq!(findings_of(&rebuilt, ContentClass::MalformedStructure), ["51 bytes after the IEND chunk @ after IEND"]);
}

#[test]
fn a_jpeg_that_is_also_a_pdf_comes_out_only_a_jpeg() {
    let mut data = jpeg();
    data.extend_from_slice(b"%PDF-1.4\n1 0 obj<</OpenAction<</S/JavaScript/JS(app.alert(1))>>>>endobj\n%%EOF\n");
    for policy in [structural(), reencode()] {
        let (out, rebuilt) = run("jpeg", &data, &policy).unwrap();
        assert_clean("jpeg+pdf", "jpeg", &out);
        assert!(!out.windows(5).any(|w| w == b"%PDF-"));
        assert_eq!(rebuilt.findings[0].location, "after EOI");
    }
    let blocking = structural().with(ContentClass::MalformedStructure, Action::Block);
    let failure = run("jpeg", &data, &blocking).unwrap_err();
    assert_eq!(failure.kind, FailureKind::Blocked(ContentClass::MalformedStructure));
}

#[test]
fn exif_claiming_100000_by_100000_is_ignored_and_removed() {
    let data = jpeg_with(0xE1, &exif(1, (100_000, 100_000)));
    let (out, rebuilt) = run("jpeg", &data, &structural()).unwrap();
    assert_clean("huge exif", "jpeg", &out);
    assert_eq!(displayed_size(&out).unwrap(), (40, 30));
    assert_eq!(
        findings_of(&rebuilt, ContentClass::Metadata),
        ["EXIF block (86 bytes: GPS tags) @ marker 0xE1 at offset 2"]
    );
}

#[test]
fn a_jpeg_frame_over_the_limit_is_refused_before_decoding() {
    let mut data = jpeg();
    let sof = data.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    data[sof + 5..sof + 9].copy_from_slice(&[0xEA, 0x60, 0xEA, 0x60]);
    let failure = run("jpeg", &data, &structural()).unwrap_err();
    assert_eq!(failure.kind, FailureKind::LimitExceeded, "{}", failure.detail);
    assert!(failure.detail.contains("60000x60000"), "{}", failure.detail);
}

#[test]
fn a_png_header_of_a_million_by_a_million_is_refused_before_decoding() {
    let base = png();
    let mut ihdr = base[16..29].to_vec();
    ihdr[..8].copy_from_slice(&[0, 0x0F, 0x42, 0x40, 0, 0x0F, 0x42, 0x40]);
    let mut data = base[..8].to_vec();
    data.extend(png_chunk(b"IHDR", &ihdr));
    data.extend_from_slice(&base[33..]);
    let failure = run("png", &data, &reencode()).unwrap_err();
    assert_eq!(failure.kind, FailureKind::LimitExceeded);
    assert_eq!(failure.detail, "1000000x1000000 pixels is over the limit (32768 per side, 100 megapixels)");
}

#[test]
fn a_gif_webp_and_bmp_over_the_limit_are_refused() {
    let mut gif = encode(image::ImageFormat::Gif, 4, 4);
    gif[6..10].copy_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF]);
    let mut bmp = encode(image::ImageFormat::Bmp, 4, 4);
    bmp[18..26].copy_from_slice(&[0, 0, 1, 0, 0, 0, 1, 0]);
    let mut webp = encode(image::ImageFormat::WebP, 4, 4);
    webp[21..25].copy_from_slice(&[0xFF, 0xFF, 0xFF, 0x0F]);
    for (format, data) in [("gif", gif), ("bmp", bmp), ("webp", webp)] {
        let failure = run(format, &data, &structural()).unwrap_err();
        assert_eq!(failure.kind, FailureKind::LimitExceeded, "{format}: {}", failure.detail);
    }
}

#[test]
fn every_truncation_fails_cleanly() {
    let formats = [
        ("png", image::ImageFormat::Png),
        ("jpeg", image::ImageFormat::Jpeg),
        ("gif", image::ImageFormat::Gif),
        ("bmp", image::ImageFormat::Bmp),
        ("tiff", image::ImageFormat::Tiff),
        ("webp", image::ImageFormat::WebP),
    ];
    for (format, kind) in formats {
        let data = encode(kind, 12, 9);
        for cut in 0..data.len() {
            let prefix = &data[..cut];
            if let Ok((out, _)) = run(format, prefix, &structural()) {
                // Only a cut in padding may still hold the whole picture.
                assert_eq!(displayed_size(&out).unwrap(), (12, 9), "{format} cut at {cut}");
            }
        }
        let failure = run(format, &data[..data.len() / 2], &structural()).unwrap_err();
        assert!(matches!(failure.kind, FailureKind::InvalidStructure), "{format}: {failure:?}");
    }
}

#[test]
fn a_bad_crc_is_recomputed_or_blocks() {
    let mut data = png();
    let idat = data.windows(4).position(|w| w == b"IDAT").unwrap();
    let length = u32::from_be_bytes(data[idat - 4..idat].try_into().unwrap()) as usize;
    data[idat + 4 + length] ^= 0xFF;
    let (out, rebuilt) = run("png", &data, &structural()).unwrap();
    assert_eq!(out, png());
    assert_eq!(rebuilt.findings[0].disposition, Disposition::Neutralized);
    assert_eq!(rebuilt.findings[0].detail, "bad CRC recomputed");
    let blocking = structural().with(ContentClass::MalformedStructure, Action::Block);
    assert_eq!(run("png", &data, &blocking).unwrap_err().kind, FailureKind::Blocked(ContentClass::MalformedStructure));
}

#[test]
fn chunks_in_the_wrong_order_and_unknown_chunks_are_dropped() {
    let base = png();
    let iend = base.len() - 12;
    let mut data = base[..iend].to_vec();
    data.extend(png_chunk(b"gAMA", &45455u32.to_be_bytes()));
    data.extend(png_chunk(b"prVt", b"private"));
    data.extend_from_slice(&base[iend..]);
    let (out, rebuilt) = run("png", &data, &structural()).unwrap();
    assert_eq!(out, base);
    assert_eq!(findings_of(&rebuilt, ContentClass::MalformedStructure).len(), 1);
    assert_eq!(findings_of(&rebuilt, ContentClass::UnknownParts).len(), 1);
}

#[test]
fn png_text_time_exif_and_xmp_go_and_the_policy_decides() {
    let data = png_with(&[
        png_chunk(b"tEXt", b"Comment\0<script>alert(1)</script>"),
        png_chunk(b"zTXt", b"Raw profile type exif\0\0x\x9c\x03\0\0\0\0\x01"),
        png_chunk(b"iTXt", b"XML:com.adobe.xmp\0\0\0\0\0<x:xmpmeta/>"),
        png_chunk(b"eXIf", &exif(1, (1, 1))[6..]),
        png_chunk(b"tIME", &[7, 0xE8, 1, 2, 3, 4, 5]),
    ]);
    let (out, rebuilt) = run("png", &data, &structural()).unwrap();
    assert_eq!(out, png());
    assert_eq!(png_chunks(&out), ["IHDR", "IDAT", "IEND"]);
    let metadata = findings_of(&rebuilt, ContentClass::Metadata);
    assert_eq!(metadata.len(), 5, "{metadata:#?}");
    assert!(metadata[0].starts_with("text chunk 'Comment' @ 'tEXt' chunk at offset 33"), "{metadata:?}");
    assert!(metadata[2].starts_with("XMP packet"));

    let allowing = structural().with(ContentClass::Metadata, Action::Allow);
    let (kept, rebuilt) = run("png", &data, &allowing).unwrap();
    assert_eq!(kept, data, "allowed metadata stays in structural mode");
    assert!(rebuilt.findings.iter().all(|f| f.disposition == Disposition::Kept));

    let (reencoded, rebuilt) = run("png", &data, &allowing.with_option("image-mode", "re-encode")).unwrap();
    assert_clean("allowed, re-encoded", "png", &reencoded);
    assert!(rebuilt.findings.iter().all(|f| f.disposition == Disposition::Removed));
    assert!(rebuilt.findings[0].detail.ends_with("(re-encoded: only the pixels are carried over)"));

    let blocking = structural().with(ContentClass::Metadata, Action::Block);
    let failure = run("png", &data, &blocking).unwrap_err();
    assert_eq!(failure.kind, FailureKind::Blocked(ContentClass::Metadata));
    assert_eq!(failure.findings.len(), 1);
}

#[test]
fn jpeg_metadata_segments_and_the_jfif_thumbnail_go() {
    let mut jfif = b"JFIF\0\x01\x02\x01\0\x48\0\x48\x01\x01".to_vec();
    jfif.extend_from_slice(&[255, 0, 0]);
    let mut data = jpeg_with(0xE0, &jfif);
    data.splice(2..2, [0xFF, 0xFE, 0, 9, b'<', b'?', b'p', b'h', b'p', b' ', b'?']);
    data.splice(2..2, [0xFF, 0xED, 0, 16].into_iter().chain(*b"Photoshop 3.0\0"));
    data.splice(2..2, [0xFF, 0xE1, 0, 31].into_iter().chain(*b"http://ns.adobe.com/xap/1.0/\0"));
    let (out, rebuilt) = run("jpeg", &data, &structural()).unwrap();
    assert_clean("jpeg metadata", "jpeg", &out);
    let jfif_out = jpeg_markers(&out).into_iter().find(|(code, _)| *code == 0xE0).unwrap().1;
    assert_eq!(jfif_out, b"JFIF\0\x01\x02\x01\0\x48\0\x48\0\0");
    let details: Vec<&str> = rebuilt.findings.iter().map(|f| f.detail.as_str()).collect();
    assert_eq!(
        details,
        ["XMP packet", "Photoshop image resources (IPTC)", "comment '<?php ?'", "JFIF thumbnail (1x1)"]
    );
    let (again, rebuilt) = run("jpeg", &out, &structural()).unwrap();
    assert!(rebuilt.findings.is_empty());
    assert_eq!(again, out);
}

#[test]
fn bytes_hidden_after_the_jfif_header_go() {
    let data = jpeg_with(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0<?php?>");
    let (out, rebuilt) = run("jpeg", &data, &structural()).unwrap();
    assert_clean("jfif padding", "jpeg", &out);
    assert!(!out.windows(5).any(|w| w == b"<?php"));
    assert_eq!(
        findings_of(&rebuilt, ContentClass::MalformedStructure),
        ["7 bytes after the JFIF header @ marker 0xE0 at offset 2"]
    );
}

#[test]
fn exif_orientation_is_applied_once_when_the_exif_goes() {
    for (format, data) in [
        ("jpeg", jpeg_with(0xE1, &exif(6, (40, 30)))),
        ("png", png_with(&[png_chunk(b"eXIf", &exif(8, (40, 30))[6..])])),
    ] {
        for policy in [structural(), reencode()] {
            let (out, rebuilt) = run(format, &data, &policy).unwrap();
            assert_clean(format, format, &out);
            assert_eq!(displayed_size(&out).unwrap(), (30, 40), "{format}");
            let applied = rebuilt.findings.iter().find(|f| f.location == "EXIF Orientation").unwrap();
            assert_eq!(applied.disposition, Disposition::Neutralized);
            let (again, rebuilt) = run(format, &out, &policy).unwrap();
            assert!(rebuilt.findings.is_empty(), "{format}: {:?}", rebuilt.findings);
            assert_eq!(displayed_size(&again).unwrap(), (30, 40));
        }
    }
    // Kept EXIF keeps its orientation: the pixels are not turned.
    let data = jpeg_with(0xE1, &exif(6, (40, 30)));
    let (out, _) = run("jpeg", &data, &structural().with(ContentClass::Metadata, Action::Allow)).unwrap();
    assert_eq!(out, data);
}

#[test]
fn gif_comments_xmp_plain_text_and_trailing_data_go() {
    let base = encode(image::ImageFormat::Gif, 8, 8);
    let screen = 13 + if base[10] & 0x80 != 0 { 3 * (2 << (base[10] & 7)) } else { 0 };
    let mut data = base[..screen].to_vec();
    data.extend_from_slice(b"\x21\xFE\x0Bhello world\x00");
    data.extend_from_slice(b"\x21\xFF\x0BXMP DataXMP\x0C<x:xmpmeta/>\x00");
    data.extend_from_slice(b"\x21\x01\x0C\0\0\0\0\x08\0\x08\0\x08\x08\x01\x00\x02hi\x00");
    data.extend_from_slice(&base[screen..]);
    data.extend_from_slice(b"<?php echo 1; ?>");
    let (out, rebuilt) = run("gif", &data, &structural()).unwrap();
    assert_eq!(out, base);
    assert!(gif_extensions(&out).iter().all(|(label, _)| *label == 0xF9 || *label == 0xFF));
    let classes: Vec<ContentClass> = rebuilt.findings.iter().map(|f| f.class).collect();
    assert_eq!(
        classes,
        [ContentClass::Metadata, ContentClass::Metadata, ContentClass::UnknownParts, ContentClass::MalformedStructure]
    );
    assert_eq!(rebuilt.findings[0].detail, "comment 'hello world'");
}

#[test]
fn webp_exif_and_xmp_go_and_the_vp8x_flags_follow() {
    let simple = encode(image::ImageFormat::WebP, 10, 6);
    let bitstream = &simple[12..];
    let mut body = b"VP8X\x0A\0\0\0".to_vec();
    body.extend_from_slice(&[0x0C, 0, 0, 0, 9, 0, 0, 5, 0, 0]);
    body.extend_from_slice(bitstream);
    let exif = exif(1, (10, 6));
    body.extend_from_slice(b"EXIF");
    body.extend_from_slice(&(exif.len() as u32).to_le_bytes());
    body.extend_from_slice(&exif);
    body.extend_from_slice(b"XMP \x0C\0\0\0<x:xmpmeta/>");
    let mut data = b"RIFF".to_vec();
    data.extend_from_slice(&(body.len() as u32 + 4).to_le_bytes());
    data.extend_from_slice(b"WEBP");
    data.extend_from_slice(&body);
    data.extend_from_slice(b"trailing");
    let (out, rebuilt) = run("webp", &data, &structural()).unwrap();
    assert_eq!(webp_chunks(&out), ["VP8X", "VP8L"]);
    assert_eq!(out[20], 0, "EXIF and XMP flags cleared");
    assert_eq!(displayed_size(&out).unwrap(), (10, 6));
    assert_eq!(rebuilt.findings.len(), 3, "{:#?}", rebuilt.findings);
    let (again, rebuilt) = run("webp", &out, &structural()).unwrap();
    assert!(rebuilt.findings.is_empty());
    assert_eq!(again, out);
}

#[test]
fn bmp_gaps_trailing_data_and_a_linked_profile_go() {
    let base = encode(image::ImageFormat::Bmp, 5, 3);
    let offset = u32::from_le_bytes(base[10..14].try_into().unwrap()) as usize;
    let mut data = base[..offset].to_vec();
    data.extend_from_slice(b"hidden");
    data.extend_from_slice(&base[offset..]);
    data[10..14].copy_from_slice(&((offset + 6) as u32).to_le_bytes());
    data.extend_from_slice(b"PK\x05\x06 trailing zip");
    let (out, rebuilt) = run("bmp", &data, &structural()).unwrap();
    assert_eq!(out, base);
    assert_eq!(findings_of(&rebuilt, ContentClass::MalformedStructure).len(), 2);

    // A V5 header whose profile is linked: a path on the reader's machine.
    let pixels = RgbaImage::from_pixel(2, 2, image::Rgba([1, 2, 3, 255]));
    let mut v5 = b"BM\0\0\0\0\0\0\0\0\x8A\0\0\0".to_vec();
    let mut header = vec![0u8; 124];
    header[0] = 124;
    header[4] = 2;
    header[8] = 2;
    header[12] = 1;
    header[14] = 32;
    header[16] = 3;
    header[40..56].copy_from_slice(&[0, 0, 0xFF, 0, 0, 0xFF, 0, 0, 0xFF, 0, 0, 0, 0, 0, 0, 0xFF]);
    header[56..60].copy_from_slice(b"KNIL");
    header[112..116].copy_from_slice(&(124u32 + 16).to_le_bytes());
    header[116..120].copy_from_slice(&14u32.to_le_bytes());
    v5.extend_from_slice(&header);
    for p in pixels.pixels() {
        v5.extend_from_slice(&[p[2], p[1], p[0], p[3]]);
    }
    v5.extend_from_slice(b"\\\\evil\\x.icc\0\0");
    let total = v5.len() as u32;
    v5[2..6].copy_from_slice(&total.to_le_bytes());
    let (out, rebuilt) = run("bmp", &v5, &structural()).unwrap();
    assert_eq!(
        findings_of(&rebuilt, ContentClass::ExternalLinks),
        ["linked colour profile '\\\\evil\\x.icc??' @ BITMAPV5HEADER profile"]
    );
    assert_eq!(&out[14 + 56..14 + 60], b"BGRs");
    assert_eq!(out.len(), 138 + 16);
    assert_eq!(displayed_size(&out).unwrap(), (2, 2));
}

#[test]
fn tiff_metadata_tags_and_further_pages_are_reported() {
    use tiff::encoder::{TiffEncoder, colortype::Gray8};
    use tiff::tags::Tag;
    let mut file = Cursor::new(Vec::new());
    let mut encoder = TiffEncoder::new(&mut file).unwrap();
    for _page in 0..2 {
        let mut page = encoder.new_image::<Gray8>(4, 3).unwrap();
        page.encoder().write_tag(Tag::Software, "ScannerSoft 1.0").unwrap();
        page.encoder().write_tag(Tag::Artist, "Jane Doe").unwrap();
        page.encoder().write_tag(Tag::Unknown(65000), 7u16).unwrap();
        page.write_data(&[9u8; 12]).unwrap();
    }
    let data = file.into_inner();
    let (out, rebuilt) = run("tiff", &data, &structural()).unwrap();
    assert!(!out.windows(8).any(|w| w == b"Jane Doe"));
    assert_eq!(displayed_size(&out).unwrap(), (4, 3));
    let reported: Vec<String> = rebuilt.findings.iter().map(|f| format!("{:?}: {}", f.class, f.detail)).collect();
    assert_eq!(
        reported,
        [
            "Metadata: Software",
            "Metadata: Artist",
            "UnknownParts: tags 65000 not carried over",
            "UnknownParts: 1 further image(s) (pages or previews): the re-encode keeps the first"
        ]
    );
}

#[test]
fn an_animated_gif_keeps_its_frames_unless_reencoded() {
    let mut file = Vec::new();
    {
        let mut encoder = image::codecs::gif::GifEncoder::new(&mut file);
        let frames = (0..3).map(|i| image::Frame::new(RgbaImage::from_pixel(6, 4, image::Rgba([i * 80, 0, 0, 255]))));
        encoder.encode_frames(frames).unwrap();
    }
    let (out, rebuilt) = run("gif", &file, &structural()).unwrap();
    assert_eq!(out, file);
    assert!(rebuilt.findings.is_empty());
    let (out, rebuilt) = run("gif", &file, &reencode()).unwrap();
    assert_eq!(
        findings_of(&rebuilt, ContentClass::Multimedia),
        ["3 frames: the re-encoded image keeps the first @ animation"]
    );
    assert_eq!(image::load_from_memory(&out).unwrap().to_rgba8().get_pixel(0, 0).0, [0, 0, 0, 255]);
    let blocking = reencode().with(ContentClass::Multimedia, Action::Block);
    assert_eq!(run("gif", &file, &blocking).unwrap_err().kind, FailureKind::Blocked(ContentClass::Multimedia));
}

#[test]
fn an_unknown_mode_or_format_is_refused() {
    let policy = structural().with_option("image-mode", "lossy");
    assert_eq!(run("png", &png(), &policy).unwrap_err().kind, FailureKind::Unsupported);
    assert_eq!(run("svg", &png(), &structural()).unwrap_err().kind, FailureKind::Unsupported);
    assert_eq!(run("jpeg", &png(), &structural()).unwrap_err().kind, FailureKind::InvalidStructure);
}

#[test]
fn a_clean_jpeg_is_copied_and_reencodes_deterministically() {
    let data = jpeg();
    let (out, rebuilt) = run("jpeg", &data, &structural()).unwrap();
    assert_eq!(out, data);
    assert!(rebuilt.findings.is_empty());
    // Re-encoding is deterministic and keeps dimensions.
    let policy: Policy = reencode();
    let (first, _) = run("jpeg", &data, &policy).unwrap();
    let (second, _) = run("jpeg", &data, &policy).unwrap();
    assert_eq!(first, second);
    assert_eq!(displayed_size(&first).unwrap(), (40, 30));
}

/// Structural mode copies a clean GIF as it is; re-encode writes new LZW
/// codes for the same pixels (lossless).
#[test]
fn a_clean_gif_is_copied_and_reencodes_losslessly() {
    let data = encode(image::ImageFormat::Gif, 40, 30);
    let (out, rebuilt) = run("gif", &data, &structural()).unwrap();
    assert_eq!(out, data, "a clean GIF is copied as it is");
    assert!(rebuilt.findings.is_empty(), "{:?}", rebuilt.findings);
    let (reencoded, rebuilt) = run("gif", &data, &reencode()).unwrap();
    assert!(rebuilt.findings.is_empty(), "{:?}", rebuilt.findings);
    let pixels = |d: &[u8]| image::load_from_memory(d).unwrap().to_rgba8();
    assert_eq!(pixels(&reencoded), pixels(&data));
    let (again, _) = run("gif", &reencoded, &reencode()).unwrap();
    assert_eq!(again, reencoded, "re-encoding is idempotent");
}

#[test]
fn an_image_hands_the_host_no_text() {
    // Text chunks and comments are metadata the rebuilt file does not keep (kept, they are still not shown).
    let input = png_with(&[png_chunk(b"tEXt", "Author\0山田太郎 taro@example.jp".as_bytes())]);
    for policy in [Policy::uniform(Action::Sanitize), Policy::uniform(Action::Allow)] {
        let mut host = sekisho_plugin_sdk::CollectText::default();
        sekisho_image::sanitize("png", &input[..], &mut Vec::new(), &policy, &mut host).unwrap();
        assert!(host.texts.is_empty(), "{:?}", host.texts);
    }
}
