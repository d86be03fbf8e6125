//! The arithmetic of a map made of tiles (the "slippy map" scheme of OpenStreetMap and every
//! common tile server: Web Mercator, 256-pixel tiles, `{z}/{x}/{y}` from the top left): which
//! tiles a view needs and where they go, and which place a pixel of the view shows. No I/O.

/// Side of a tile in pixels.
pub const TILE: u32 = 256;
/// The coarsest and finest zoom a view may have.
pub const MIN_ZOOM: u8 = 5;
pub const MAX_ZOOM: u8 = 19;
/// Web Mercator ends here (the map is square).
const MAX_LAT: f64 = 85.051_128_78;

/// A rectangle of the map: its centre, zoom and size in pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct View {
    pub lat: f64,
    pub lon: f64,
    pub zoom: u8,
    pub width: u32,
    pub height: u32,
}

/// A tile a view needs, and where its top left corner goes in the view (may be negative).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TilePlace {
    pub z: u8,
    pub x: u32,
    pub y: u32,
    pub left: i64,
    pub top: i64,
}

fn world(zoom: u8) -> f64 {
    f64::from(TILE) * 2f64.powi(i32::from(zoom))
}

/// A place as pixels of the whole map at `zoom`.
pub fn to_pixels(lat: f64, lon: f64, zoom: u8) -> (f64, f64) {
    let lat = lat.clamp(-MAX_LAT, MAX_LAT).to_radians();
    let size = world(zoom);
    let x = (lon + 180.0) / 360.0 * size;
    let y = (1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0 * size;
    (x, y)
}

/// Pixels of the whole map at `zoom` as a place.
pub fn from_pixels(x: f64, y: f64, zoom: u8) -> (f64, f64) {
    let size = world(zoom);
    let lon = x / size * 360.0 - 180.0;
    let n = std::f64::consts::PI * (1.0 - 2.0 * y / size);
    let lat = n.sinh().atan().to_degrees();
    (lat, lon)
}

impl View {
    /// A view, its zoom clamped to [`MIN_ZOOM`]..=[`MAX_ZOOM`]; `None` for a centre that is not
    /// a place or a size of nothing (or over 2048 pixels).
    pub fn new(lat: f64, lon: f64, zoom: u8, width: u32, height: u32) -> Option<Self> {
        let ok = lat.is_finite() && lon.is_finite() && lat.abs() <= MAX_LAT && lon.abs() <= 180.0;
        (ok && (1..=2048).contains(&width) && (1..=2048).contains(&height)).then_some(Self { lat, lon, zoom: zoom.clamp(MIN_ZOOM, MAX_ZOOM), width, height })
    }

    fn top_left(&self) -> (f64, f64) {
        let (cx, cy) = to_pixels(self.lat, self.lon, self.zoom);
        (cx - f64::from(self.width) / 2.0, cy - f64::from(self.height) / 2.0)
    }

    /// The tiles that cover the view (those above or below the map's ends left out).
    pub fn tiles(&self) -> Vec<TilePlace> {
        let (left, top) = self.top_left();
        let tile = f64::from(TILE);
        let count = 1i64 << self.zoom;
        let (first_x, first_y) = ((left / tile).floor() as i64, (top / tile).floor() as i64);
        let (last_x, last_y) = (((left + f64::from(self.width)) / tile).ceil() as i64, ((top + f64::from(self.height)) / tile).ceil() as i64);
        let mut out = Vec::new();
        for ty in first_y..last_y {
            if ty < 0 || ty >= count {
                continue;
            }
            for tx in first_x..last_x {
                out.push(TilePlace {
                    z: self.zoom,
                    x: tx.rem_euclid(count) as u32,
                    y: ty as u32,
                    left: (tx as f64 * tile - left).round() as i64,
                    top: (ty as f64 * tile - top).round() as i64,
                });
            }
        }
        out
    }

    /// The place a pixel of the view shows (`x`, `y` from its top left).
    pub fn place_at(&self, x: f64, y: f64) -> (f64, f64) {
        let (left, top) = self.top_left();
        let (lat, lon) = from_pixels(left + x, top + y, self.zoom);
        (lat, (lon + 540.0).rem_euclid(360.0) - 180.0)
    }

    /// Where a place lies in the view, when it does.
    pub fn pixel_of(&self, lat: f64, lon: f64) -> Option<(f64, f64)> {
        let (left, top) = self.top_left();
        let (x, y) = to_pixels(lat, lon, self.zoom);
        let (x, y) = (x - left, y - top);
        (x >= 0.0 && y >= 0.0 && x < f64::from(self.width) && y < f64::from(self.height)).then_some((x, y))
    }

    /// The finest zoom (at most `max`) at which the box `(west, south, east, north)` fits into
    /// a view of this size.
    pub fn zoom_to_fit(bounds: (f64, f64, f64, f64), width: u32, height: u32, max: u8) -> u8 {
        let (w, s, e, n) = bounds;
        (MIN_ZOOM..=max.min(MAX_ZOOM))
            .rev()
            .find(|&z| {
                let (x0, y0) = to_pixels(n, w, z);
                let (x1, y1) = to_pixels(s, e, z);
                x1 - x0 <= f64::from(width) && y1 - y0 <= f64::from(height)
            })
            .unwrap_or(MIN_ZOOM)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_tile_and_the_way_back() {
        // Leipzig's market square at zoom 17 lies in tile 70_041/43_682 (the formula of the
        // OpenStreetMap wiki, with asinh(tan φ), computed apart from this code).
        let (x, y) = to_pixels(51.3406, 12.3747, 17);
        assert_eq!(((x / 256.0) as u32, (y / 256.0) as u32), (70_041, 43_682));
        let (lat, lon) = from_pixels(x, y, 17);
        assert!((lat - 51.3406).abs() < 1e-9 && (lon - 12.3747).abs() < 1e-9);
    }

    #[test]
    fn a_view_is_covered_by_its_tiles_and_its_pixels_are_places() {
        let view = View::new(51.3406, 12.3747, 17, 640, 480).unwrap();
        let tiles = view.tiles();
        // Every pixel of the view is under exactly one tile.
        for (px, py) in [(0i64, 0i64), (639, 479), (320, 240), (0, 479), (639, 0)] {
            let under = tiles.iter().filter(|t| t.left <= px && px < t.left + 256 && t.top <= py && py < t.top + 256).count();
            assert_eq!(under, 1, "pixel {px},{py}");
        }
        let (lat, lon) = view.place_at(320.0, 240.0);
        assert!((lat - 51.3406).abs() < 1e-6 && (lon - 12.3747).abs() < 1e-6, "the centre shows the centre");
        let (x, y) = view.pixel_of(51.3406, 12.3747).unwrap();
        assert!((x - 320.0).abs() < 1e-6 && (y - 240.0).abs() < 1e-6);
        // One pixel to the right at zoom 17 is about 0.75 m in Leipzig.
        let (_, east) = view.place_at(321.0, 240.0);
        let metres = (east - 12.3747) * 111_320.0 * 51.3406f64.to_radians().cos();
        assert!((0.7..0.8).contains(&metres), "{metres}");
        assert_eq!(view.pixel_of(52.0, 12.3747), None, "far away: not in the view");
    }

    #[test]
    fn the_date_line_wraps_and_the_poles_end() {
        let view = View::new(0.0, 179.999, 5, 512, 256).unwrap();
        assert!(view.tiles().iter().any(|t| t.x == 0), "east of 180° comes the first column again");
        let north = View::new(85.0, 0.0, 5, 256, 1024).unwrap();
        assert!(north.tiles().iter().all(|t| t.y < 32), "no tile above the map");
        assert!(View::new(f64::NAN, 0.0, 5, 10, 10).is_none() && View::new(0.0, 0.0, 5, 0, 10).is_none());
    }

    #[test]
    fn a_box_fits_at_the_finest_zoom_it_can() {
        // Leipzig and Halle together, in 640 × 480 pixels.
        let z = View::zoom_to_fit((11.85, 51.23, 12.55, 51.56), 640, 480, 18);
        assert_eq!(z, 10, "510 × 385 pixels at zoom 10, twice that at 11");
        assert_eq!(View::zoom_to_fit((12.374, 51.34, 12.375, 51.3405), 640, 480, 17), 17, "capped");
    }
}
