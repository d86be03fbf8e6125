//! A map picture for the report pages: tiles from the operator's own tile server laid side by
//! side, with a marker where the citizen placed the problem. Tiles are outside input: each is
//! decoded within a small limit, and one that does not read (or is missing) leaves its square
//! plain grey rather than failing the whole map.

use image::{DynamicImage, ImageFormat, Rgb, RgbImage};
use std::io::Cursor;

/// The side of a tile in pixels: the slippy-map scheme's 256 (a server of 512-pixel tiles is
/// configured with its 256-pixel URL; others would not line up with the clicks).
const TILE_SIDE: u32 = 256;
const GREY: Rgb<u8> = Rgb([0xE6, 0xE6, 0xE6]);
/// The marker: a ring in KERN's red with a white edge, and a dot in the centre.
const RED: Rgb<u8> = Rgb([0xC0, 0x1C, 0x28]);
const WHITE: Rgb<u8> = Rgb([0xFF, 0xFF, 0xFF]);

/// One tile of the picture: where its top left corner goes, and its bytes (PNG or JPEG) when
/// they came.
pub struct MapTile<'a> {
    pub left: i64,
    pub top: i64,
    pub bytes: Option<&'a [u8]>,
}

fn decode_tile(bytes: &[u8]) -> Option<RgbImage> {
    let format = match crate::sniff(bytes)? {
        "image/png" => ImageFormat::Png,
        "image/jpeg" => ImageFormat::Jpeg,
        _ => return None,
    };
    let mut reader = image::ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(TILE_SIDE);
    limits.max_image_height = Some(TILE_SIDE);
    limits.max_alloc = Some(16 * 1024 * 1024);
    reader.limits(limits);
    let picture = std::panic::catch_unwind(|| reader.decode().ok().map(|p| p.to_rgb8())).ok().flatten()?;
    (picture.dimensions() == (TILE_SIDE, TILE_SIDE)).then_some(picture)
}

/// Lays the tiles into a PNG of `width` × `height` pixels, with a marker at `marker` (pixels
/// from the top left) when given. Returns the PNG and how many tiles did not read.
pub fn compose(width: u32, height: u32, tiles: &[MapTile<'_>], marker: Option<(f64, f64)>) -> (Vec<u8>, usize) {
    let mut picture = RgbImage::from_pixel(width, height, GREY);
    let mut broken = 0;
    for tile in tiles {
        match tile.bytes.and_then(decode_tile) {
            Some(t) => image::imageops::overlay(&mut picture, &t, tile.left, tile.top),
            None => broken += 1,
        }
    }
    if let Some((mx, my)) = marker {
        draw_marker(&mut picture, mx, my);
    }
    let mut out = Vec::new();
    // Writing a PNG to memory does not fail for an RGB picture of this size.
    let _ = DynamicImage::ImageRgb8(picture).write_to(&mut Cursor::new(&mut out), ImageFormat::Png);
    (out, broken)
}

fn draw_marker(picture: &mut RgbImage, mx: f64, my: f64) {
    let (w, h) = (picture.width() as i64, picture.height() as i64);
    let (cx, cy) = (mx.round() as i64, my.round() as i64);
    for y in (cy - 16).max(0)..(cy + 17).min(h) {
        for x in (cx - 16).max(0)..(cx + 17).min(w) {
            let d = (((x - cx).pow(2) + (y - cy).pow(2)) as f64).sqrt();
            let colour = if (9.0..13.0).contains(&d) || d < 3.0 {
                Some(RED)
            } else if (7.5..9.0).contains(&d) || (13.0..14.5).contains(&d) || (3.0..4.5).contains(&d) {
                Some(WHITE)
            } else {
                None
            };
            if let Some(c) = colour {
                picture.put_pixel(x as u32, y as u32, c);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tile(colour: [u8; 3]) -> Vec<u8> {
        let mut out = Vec::new();
        DynamicImage::ImageRgb8(RgbImage::from_pixel(256, 256, Rgb(colour))).write_to(&mut Cursor::new(&mut out), ImageFormat::Png).unwrap();
        out
    }

    #[test]
    fn tiles_go_where_they_belong_and_broken_ones_stay_grey() {
        let (blue, green) = (tile([0, 0, 255]), tile([0, 255, 0]));
        let tiles = [
            MapTile { left: -100, top: -50, bytes: Some(&blue) },
            MapTile { left: 156, top: -50, bytes: Some(&green) },
            MapTile { left: -100, top: 206, bytes: Some(b"<html>kein Bild</html>") },
            MapTile { left: 156, top: 206, bytes: None },
        ];
        let (png, broken) = compose(300, 300, &tiles, Some((150.0, 100.0)));
        assert_eq!(broken, 2);
        let picture = image::load_from_memory(&png).unwrap().to_rgb8();
        assert_eq!(picture.dimensions(), (300, 300));
        assert_eq!(picture.get_pixel(10, 10), &Rgb([0, 0, 255]));
        assert_eq!(picture.get_pixel(200, 10), &Rgb([0, 255, 0]));
        assert_eq!(picture.get_pixel(10, 250), &GREY);
        assert_eq!(picture.get_pixel(150, 100), &RED, "the marker's centre");
        assert_eq!(picture.get_pixel(161, 100), &RED, "its ring");
    }

    #[test]
    fn only_tiles_of_256_pixels_are_laid() {
        for (w, h) in [(4096, 16), (512, 512), (128, 128)] {
            let mut out = Vec::new();
            DynamicImage::ImageRgb8(RgbImage::new(w, h)).write_to(&mut Cursor::new(&mut out), ImageFormat::Png).unwrap();
            assert!(decode_tile(&out).is_none(), "{w} × {h}");
        }
        assert!(decode_tile(&tile([1, 2, 3])).is_some());
    }
}
