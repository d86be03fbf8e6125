//! The map of the report pages, drawn on the server from the operator's own tile server (none
//! is configured by default, and nothing is fetched from the internet unless the operator names
//! a server there): the browser gets one PNG and sends back where it was clicked (an image
//! input), so the map works without JavaScript and without the citizen's browser talking to
//! anyone but amtsweg.
//!
//! Tiles are kept in memory ([`CACHE_BYTES`] in all, a day each); at most [`FETCHES`] are
//! fetched at once; a tile that does not come within [`TILE_TIMEOUT`] or is not a PNG or JPEG
//! leaves a grey square (and is not asked for again for a minute), and the address and
//! coordinate fields above the map still work. Which views may be drawn at all (near the
//! installation's areas) the web layer decides.

use amtsweg_places::tiles::View;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Size of the map picture in pixels.
pub const MAP_WIDTH: u32 = 640;
pub const MAP_HEIGHT: u32 = 400;
/// The zoom at which a click places the point (about 1 m a pixel); coarser clicks zoom in.
pub const PLACE_ZOOM: u8 = 16;
/// The zoom of a map around a placed point.
pub const POINT_ZOOM: u8 = 17;
/// Bytes of tiles kept in memory (a tile is typically 10–40 KiB).
const CACHE_BYTES: usize = 64 * 1024 * 1024;
const CACHE_FOR: Duration = Duration::from_secs(24 * 3600);
/// A tile that did not come is not asked for again this soon.
const MISSING_FOR: Duration = Duration::from_secs(60);
/// Tiles fetched at the same time, from all requests together.
const FETCHES: usize = 8;
const TILE_TIMEOUT: Duration = Duration::from_secs(3);
const MAX_TILE_BYTES: usize = 1024 * 1024;

/// The operator's tile server and the tiles fetched from it.
pub struct MapTiles {
    template: String,
    attribution: String,
    http: reqwest::Client,
    /// Tiles by `(z, x, y)`: bytes (empty: it did not come) and when they were fetched.
    cache: Mutex<Cache>,
    fetches: tokio::sync::Semaphore,
    /// Pictures composed at the same time (each takes a few milliseconds of CPU).
    composing: tokio::sync::Semaphore,
}

#[derive(Default)]
struct Cache {
    tiles: HashMap<(u8, u32, u32), (Arc<[u8]>, Instant)>,
    bytes: usize,
}

impl std::fmt::Debug for MapTiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the URL: a tile service's URL may carry its key.
        f.debug_struct("MapTiles").finish_non_exhaustive()
    }
}

impl MapTiles {
    /// `template` is the tile URL with `{z}`, `{x}` and `{y}` (e.g.
    /// `https://tiles.stadt.example/osm/{z}/{x}/{y}.png`); `attribution` is shown under the
    /// map (the tiles' licence usually asks for it, e.g. „© OpenStreetMap-Mitwirkende“).
    pub fn new(template: &str, attribution: &str) -> Result<Self, String> {
        let template = template.trim();
        if !(template.starts_with("http://") || template.starts_with("https://")) || ["{z}", "{x}", "{y}"].iter().any(|p| !template.contains(p)) {
            return Err("Die Adresse des Kachelservers muss mit http:// oder https:// beginnen und {z}, {x} und {y} enthalten.".into());
        }
        Ok(Self {
            template: template.to_owned(),
            attribution: attribution.trim().to_owned(),
            http: reqwest::Client::builder().timeout(TILE_TIMEOUT).build().map_err(|e| e.to_string())?,
            cache: Mutex::new(Cache::default()),
            fetches: tokio::sync::Semaphore::new(FETCHES),
            composing: tokio::sync::Semaphore::new(2),
        })
    }

    pub fn attribution(&self) -> &str {
        &self.attribution
    }

    /// A tile kept: `Some(None)` for one that did not come a moment ago.
    fn cached(&self, key: (u8, u32, u32)) -> Option<Option<Arc<[u8]>>> {
        let cache = self.cache.lock().ok()?;
        let (bytes, at) = cache.tiles.get(&key)?;
        match bytes.is_empty() {
            true => (at.elapsed() < MISSING_FOR).then_some(None),
            false => (at.elapsed() < CACHE_FOR).then(|| Some(bytes.clone())),
        }
    }

    fn keep(&self, key: (u8, u32, u32), bytes: Option<Arc<[u8]>>) {
        let bytes = bytes.unwrap_or_else(|| Arc::from(Vec::new()));
        let Ok(mut cache) = self.cache.lock() else { return };
        while cache.bytes + bytes.len() > CACHE_BYTES && !cache.tiles.is_empty() {
            // The oldest goes (a scan of a few thousand entries, far cheaper than a fetch).
            let Some(oldest) = cache.tiles.iter().min_by_key(|(_, (_, at))| *at).map(|(k, _)| *k) else { break };
            if let Some((gone, _)) = cache.tiles.remove(&oldest) {
                cache.bytes -= gone.len();
            }
        }
        cache.bytes += bytes.len();
        if let Some((old, _)) = cache.tiles.insert(key, (bytes, Instant::now())) {
            cache.bytes -= old.len();
        }
    }

    async fn fetch(&self, (z, x, y): (u8, u32, u32)) -> Option<Arc<[u8]>> {
        let _permit = self.fetches.acquire().await.ok()?;
        let url = self.template.replace("{z}", &z.to_string()).replace("{x}", &x.to_string()).replace("{y}", &y.to_string());
        let mut response = self.http.get(url).send().await.ok()?;
        if !response.status().is_success() {
            return None;
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.ok()? {
            if body.len() + chunk.len() > MAX_TILE_BYTES {
                return None;
            }
            body.extend_from_slice(&chunk);
        }
        // Only pictures: an error page sent with 200 is no tile.
        matches!(amtsweg_documents::sniff(&body), Some("image/png" | "image/jpeg")).then(|| body.into())
    }

    /// The map picture (PNG) of `view`, with a marker at `marker` (a place) when it lies in it.
    pub async fn render(self: &Arc<Self>, view: View, marker: Option<(f64, f64)>) -> Vec<u8> {
        let places = view.tiles();
        let mut fetched: Vec<Option<Arc<[u8]>>> = vec![None; places.len()];
        let mut tasks = tokio::task::JoinSet::new();
        for (i, t) in places.iter().enumerate() {
            let key = (t.z, t.x, t.y);
            match self.cached(key) {
                Some(bytes) => fetched[i] = bytes,
                None => {
                    let me = self.clone();
                    tasks.spawn(async move {
                        let bytes = me.fetch(key).await;
                        me.keep(key, bytes.clone());
                        (i, bytes)
                    });
                }
            }
        }
        while let Some(done) = tasks.join_next().await {
            if let Ok((i, bytes)) = done {
                fetched[i] = bytes;
            }
        }
        let marker = marker.and_then(|(lat, lon)| view.pixel_of(lat, lon));
        let _permit = self.composing.acquire().await;
        let (png, broken) = tokio::task::spawn_blocking(move || {
            let tiles: Vec<amtsweg_documents::map::MapTile<'_>> =
                places.iter().zip(&fetched).map(|(p, b)| amtsweg_documents::map::MapTile { left: p.left, top: p.top, bytes: b.as_deref() }).collect();
            amtsweg_documents::map::compose(view.width, view.height, &tiles, marker)
        })
        .await
        .unwrap_or_default();
        if broken > 0 {
            // No place in the message: where a citizen looks is personal.
            tracing::warn!(tiles = broken, "map tiles missing or unreadable; shown grey");
        }
        png
    }
}
