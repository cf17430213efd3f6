//! Pixels: decoding with the `image` crate under limits, and encoding a new
//! file of the same format from the decoded pixels.
//!
//! Decoding happens in both modes: in structural mode it proves that the
//! rebuilt file is an image of the dimensions its header states (the pixels
//! are then discarded); in re-encode mode the pixels become a new file, so
//! nothing aimed at a decoder, and nothing hidden in the compressed data,
//! survives. The dimensions are checked again and the decoder's allocation is
//! capped before any pixel is decoded. Still images only: an animation
//! decodes to its first frame.

use std::io::{Cursor, Seek, Write};

use image::codecs::bmp::BmpEncoder;
use image::codecs::gif::GifEncoder;
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::codecs::webp::WebPEncoder;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageEncoder, ImageError, ImageFormat, ImageReader, Limits};
use sekisho_plugin_sdk::Failure;
use tiff::encoder::colortype::{ColorType, Gray8, Gray16, RGB8, RGB16, RGBA8, RGBA16};
use tiff::encoder::{Compression, DeflateLevel, TiffEncoder, TiffValue};
use tiff::tags::Tag;

use crate::{MAX_SIDE, check_dimensions};

/// Most bytes the decoder may allocate (a 100-megapixel RGBA image at 8 bits fits).
const MAX_ALLOC: u64 = 512 << 20;
/// JPEG quality of re-encoded files.
const JPEG_QUALITY: u8 = 90;

/// Decoded pixels and the ICC profile that goes with them.
pub struct Decoded {
    image: DynamicImage,
    icc: Option<Vec<u8>>,
}

/// Decodes `data` (a file of `format`) whose header stated `size`.
pub fn decode(format: &str, data: &[u8], size: (u32, u32)) -> Result<Decoded, Failure> {
    let kind = ImageFormat::from_extension(format).ok_or_else(|| Failure::unsupported(format!("format {format}")))?;
    let mut reader = ImageReader::with_format(Cursor::new(data), kind);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(refusal)?;
    let (width, height) = decoder.dimensions();
    if (width, height) != size {
        return Err(Failure::invalid(format!(
            "the decoder reads {width}x{height} pixels where the header says {}x{}",
            size.0, size.1
        )));
    }
    check_dimensions(width, height)?;
    if decoder.total_bytes() > MAX_ALLOC {
        return Err(Failure::limit(format!("{width}x{height} pixels need more than {MAX_ALLOC} bytes to decode")));
    }
    let icc = decoder.icc_profile().ok().flatten();
    let image = DynamicImage::from_decoder(decoder).map_err(refusal)?;
    Ok(Decoded { image, icc })
}

/// Encodes a new `format` file from decoded pixels, with the EXIF
/// `orientation` (1–8) applied to them.
pub fn encode(format: &str, decoded: Decoded, orientation: u8) -> Result<Vec<u8>, Failure> {
    let mut image = decoded.image;
    if let Some(turn) = Orientation::from_exif(orientation) {
        image.apply_orientation(turn);
    }
    let image = for_format(format, image);
    let icc = decoded.icc.filter(|profile| icc_fits(profile, &image));
    let mut out = Cursor::new(Vec::new());
    let written = match format {
        "png" => {
            write(PngEncoder::new_with_quality(&mut out, CompressionType::Default, FilterType::Adaptive), &image, icc)
        }
        "jpeg" => write(JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY), &image, icc),
        "gif" => write(GifEncoder::new_with_speed(&mut out, 10), &image, icc),
        "bmp" => write(BmpEncoder::new(&mut out), &image, icc),
        "tiff" => write_tiff(&mut out, &image, icc).map_err(|e| e.to_string()),
        "webp" => write(WebPEncoder::new_lossless(&mut out), &image, icc),
        other => return Err(Failure::unsupported(format!("format {other}"))),
    };
    written.map_err(|e| Failure::invalid(format!("encoding the new {format} file: {e}")))?;
    Ok(out.into_inner())
}

/// Writes the pixels with the ICC profile where the encoder carries one
/// (the GIF and BMP encoders do not: their files come out without).
fn write(mut encoder: impl ImageEncoder, image: &DynamicImage, icc: Option<Vec<u8>>) -> Result<(), String> {
    if let Some(profile) = icc {
        let _unsupported = encoder.set_icc_profile(profile);
    }
    encoder
        .write_image(image.as_bytes(), image.width(), image.height(), image.color().into())
        .map_err(|e| e.to_string())
}

/// Writes a Deflate-compressed TIFF with the `tiff` crate (the `image`
/// crate's TIFF encoder does not compress: a fax page would grow fifty-fold).
fn write_tiff(out: &mut Cursor<Vec<u8>>, image: &DynamicImage, icc: Option<Vec<u8>>) -> tiff::TiffResult<()> {
    let mut encoder = TiffEncoder::new(out)?.with_compression(Compression::Deflate(DeflateLevel::Balanced));
    let size = (image.width(), image.height());
    match image {
        DynamicImage::ImageLuma8(pixels) => tiff_image::<_, Gray8>(&mut encoder, size, pixels.as_raw(), icc),
        DynamicImage::ImageLuma16(pixels) => tiff_image::<_, Gray16>(&mut encoder, size, pixels.as_raw(), icc),
        DynamicImage::ImageRgb8(pixels) => tiff_image::<_, RGB8>(&mut encoder, size, pixels.as_raw(), icc),
        DynamicImage::ImageRgb16(pixels) => tiff_image::<_, RGB16>(&mut encoder, size, pixels.as_raw(), icc),
        DynamicImage::ImageRgba16(pixels) => tiff_image::<_, RGBA16>(&mut encoder, size, pixels.as_raw(), icc),
        other => tiff_image::<_, RGBA8>(&mut encoder, size, other.to_rgba8().as_raw(), icc),
    }
}

/// One TIFF image of colour type `C`, with its ICC profile.
fn tiff_image<W: Write + Seek, C: ColorType>(
    encoder: &mut TiffEncoder<W>,
    (width, height): (u32, u32),
    pixels: &[C::Inner],
    icc: Option<Vec<u8>>,
) -> tiff::TiffResult<()>
where
    [C::Inner]: TiffValue,
{
    let mut image = encoder.new_image::<C>(width, height)?;
    if let Some(profile) = icc {
        image.encoder().write_tag(Tag::IccProfile, profile.as_slice())?;
    }
    image.write_data(pixels)
}

/// Converts the pixels to a layout the format's encoder writes: JPEG has no
/// alpha, only PNG and TIFF keep 16 bits, GIF is RGBA before quantizing.
fn for_format(format: &str, image: DynamicImage) -> DynamicImage {
    let colour = image.color();
    let (gray, alpha) = (!colour.has_color(), colour.has_alpha());
    let deep = colour.bytes_per_pixel() / colour.channel_count() > 1;
    match (format, gray, alpha, deep) {
        ("gif", ..) => image.to_rgba8().into(),
        ("jpeg", true, ..) => image.to_luma8().into(),
        ("jpeg", false, ..) => image.to_rgb8().into(),
        ("png", true, false, true) | ("tiff", true, false, true) => image.to_luma16().into(),
        ("png", true, true, true) => image.to_luma_alpha16().into(),
        ("png" | "tiff", _, false, true) => image.to_rgb16().into(),
        ("png" | "tiff", _, true, true) => image.to_rgba16().into(),
        ("tiff", true, true, false) => image.to_rgba8().into(),
        (_, true, false, _) => image.to_luma8().into(),
        (_, true, true, _) => image.to_luma_alpha8().into(),
        (_, false, false, _) => image.to_rgb8().into(),
        (_, false, true, _) => image.to_rgba8().into(),
    }
}

/// True when an ICC profile is well formed and describes the colour space of
/// the pixels (a CMYK profile does not fit pixels the decoder made RGB).
fn icc_fits(profile: &[u8], image: &DynamicImage) -> bool {
    let space: &[u8] = if image.color().has_color() { b"RGB " } else { b"GRAY" };
    profile.get(36..40) == Some(b"acsp") && profile.get(16..20) == Some(space)
}

/// The failure for a decoder error.
fn refusal(error: ImageError) -> Failure {
    match error {
        ImageError::Limits(e) => Failure::limit(format!("decoding: {e}")),
        ImageError::Unsupported(e) => Failure::unsupported(format!("decoding: {e}")),
        other => Failure::invalid(format!("the image does not decode: {other}")),
    }
}
