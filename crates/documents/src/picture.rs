//! Images: decoded (the header first, so that the pixel limit holds before anything is
//! allocated), turned as their EXIF orientation says, and encoded again in their own format.
//! What is stored has no metadata and nothing appended: a plain image of the type it claims.

use crate::{MAX_PIXELS, Refusal};
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};
use std::io::Cursor;

/// The JPEG quality of re-encoded photos (visually the same as what phones write).
const JPEG_QUALITY: u8 = 90;
/// The most memory a decoder may take (40 megapixels of RGBA with room to spare).
const MAX_ALLOC: u64 = 512 * 1024 * 1024;

pub(crate) fn reencode(bytes: &[u8], format: ImageFormat) -> Result<Vec<u8>, Refusal> {
    reencode_within(bytes, format, None)
}

/// As [`reencode`], and scaled down (keeping its proportions) so that neither side is longer
/// than `max_side`, when given.
pub(crate) fn reencode_within(bytes: &[u8], format: ImageFormat, max_side: Option<u32>) -> Result<Vec<u8>, Refusal> {
    // A panic in a decoder on hostile input is an unreadable image, not a failed request.
    std::panic::catch_unwind(|| decode_and_encode(bytes, format, max_side)).map_err(|_| Refusal::UnreadableImage)?
}

pub(crate) fn black_out(bytes: &[u8], format: ImageFormat, (left, top, width, height): (f32, f32, f32, f32)) -> Result<Vec<u8>, Refusal> {
    let mut picture = image::load_from_memory_with_format(bytes, format).map_err(|_| Refusal::UnreadableImage)?.to_rgb8();
    let (w, h) = (picture.width() as f32, picture.height() as f32);
    let x0 = (left.clamp(0.0, 1.0) * w) as u32;
    let y0 = (top.clamp(0.0, 1.0) * h) as u32;
    let x1 = ((left + width).clamp(0.0, 1.0) * w).ceil() as u32;
    let y1 = ((top + height).clamp(0.0, 1.0) * h).ceil() as u32;
    for y in y0..y1.min(picture.height()) {
        for x in x0..x1.min(picture.width()) {
            picture.put_pixel(x, y, image::Rgb([0, 0, 0]));
        }
    }
    let mut out = Vec::new();
    match format {
        ImageFormat::Jpeg => {
            let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY);
            DynamicImage::ImageRgb8(picture).write_with_encoder(encoder).map_err(|_| Refusal::UnreadableImage)?;
        }
        _ => DynamicImage::ImageRgb8(picture).write_to(&mut Cursor::new(&mut out), ImageFormat::Png).map_err(|_| Refusal::UnreadableImage)?,
    }
    Ok(out)
}

fn decode_and_encode(bytes: &[u8], format: ImageFormat, max_side: Option<u32>) -> Result<Vec<u8>, Refusal> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(|_| Refusal::UnreadableImage)?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(Refusal::TooManyPixels { width, height });
    }
    let orientation = decoder.orientation().unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut picture = DynamicImage::from_decoder(decoder).map_err(|_| Refusal::UnreadableImage)?;
    picture.apply_orientation(orientation);
    if let Some(max) = max_side.filter(|max| picture.width() > *max || picture.height() > *max) {
        picture = picture.resize(max, max, image::imageops::FilterType::Triangle);
    }
    let mut out = Vec::new();
    match format {
        ImageFormat::Jpeg => {
            // JPEG has no alpha and 8 bits: grey stays grey, everything else is RGB.
            let picture = match picture {
                DynamicImage::ImageLuma8(_) | DynamicImage::ImageRgb8(_) => picture,
                other => DynamicImage::ImageRgb8(other.to_rgb8()),
            };
            let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY);
            picture.write_with_encoder(encoder).map_err(|_| Refusal::UnreadableImage)?;
        }
        _ => picture.write_to(&mut Cursor::new(&mut out), ImageFormat::Png).map_err(|_| Refusal::UnreadableImage)?,
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check;
    use crate::testing::jpeg_with_gps;

    #[test]
    fn images_are_encoded_again_without_what_was_added() {
        let original = crate::testing::png(40, 30);
        let mut appended = original.clone();
        appended.extend(b"<script>alert(1)</script>");
        let checked = check(&appended).unwrap();
        assert_eq!(checked.media_type, "image/png");
        assert!(!checked.bytes.windows(7).any(|w| w == b"<script"));
        let back = image::load_from_memory(&checked.bytes).unwrap().to_rgb8();
        assert_eq!(back, image::load_from_memory(&original).unwrap().to_rgb8(), "the same pixels");
    }

    #[test]
    fn photos_lose_their_metadata_and_stand_upright() {
        let photo = jpeg_with_gps(64, 32);
        assert!(photo.windows(3).any(|w| w == b"GPS"));
        let checked = check(&photo).unwrap();
        assert_eq!(checked.media_type, "image/jpeg");
        assert!(!checked.bytes.windows(4).any(|w| w == b"Exif") && !checked.bytes.windows(3).any(|w| w == b"GPS"));
        let upright = image::load_from_memory(&checked.bytes).unwrap();
        assert_eq!((upright.width(), upright.height()), (32, 64), "turned as the EXIF orientation said");
    }

    #[test]
    fn report_photos_are_upright_without_gps_and_at_most_2048_pixels() {
        let photo = jpeg_with_gps(3000, 1000);
        let checked = crate::photo(&photo).unwrap();
        assert!(!checked.bytes.windows(3).any(|w| w == b"GPS"), "the GPS position is gone");
        let stored = image::load_from_memory(&checked.bytes).unwrap();
        assert_eq!((stored.width(), stored.height()), (683, 2048), "turned upright, then scaled to 2048 on the long side");
        let small = crate::photo(&jpeg_with_gps(64, 32)).unwrap();
        assert_eq!(image::load_from_memory(&small.bytes).unwrap().height(), 64, "small photos keep their size");
    }

    #[test]
    fn a_blacked_out_region_is_black_and_the_rest_is_not() {
        let photo = crate::photo(&jpeg_with_gps(64, 32)).unwrap();
        let png = {
            let picture = image::load_from_memory(&photo.bytes).unwrap();
            let mut out = Vec::new();
            picture.write_to(&mut Cursor::new(&mut out), ImageFormat::Png).unwrap();
            out
        };
        let done = crate::black_out(&png, "image/png", (0.0, 0.0, 0.5, 0.5)).unwrap();
        let picture = image::load_from_memory(&done).unwrap().to_rgb8();
        assert_eq!(picture.get_pixel(0, 0), &image::Rgb([0, 0, 0]));
        // Upright, the photo's red half is on top: its right end stays red.
        assert!(picture.get_pixel(picture.width() - 1, 0).0[0] > 200, "{:?}", picture.get_pixel(picture.width() - 1, 0));
    }

    #[test]
    fn too_many_pixels_are_refused_before_decoding() {
        // 20,000 × 20,000 black-and-white pixels compress to a small file.
        let file = crate::testing::black_png(20_000, 20_000);
        assert!(file.len() < 5 * 1024 * 1024, "{}", file.len());
        assert_eq!(check(&file), Err(Refusal::TooManyPixels { width: 20_000, height: 20_000 }));
    }

    #[test]
    fn what_only_starts_like_an_image_is_refused() {
        assert_eq!(check(b"\x89PNG\r\n\x1a\nbild"), Err(Refusal::UnreadableImage));
        assert_eq!(check(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]), Err(Refusal::UnreadableImage));
    }
}
