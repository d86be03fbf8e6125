//! The map of the citizen's pages, when the operator configured a tile server: a picture drawn
//! on the server (`/maengel/karte.png`) inside an image input, so that a click sends its pixel
//! (`karte.x`, `karte.y`) with the view it was made on (`mlat`, `mlon`, `z`). A click on a
//! coarse view zooms in around it; at [`PLACE_ZOOM`] it places the problem there. Everything
//! else on the pages (address, coordinates) works as before, also for people who cannot use a
//! map.

use crate::error::{AppError, PageError};
use crate::state::AppState;
use amtsweg_app::reports::tiles::{MAP_HEIGHT, MAP_WIDTH, PLACE_ZOOM, POINT_ZOOM};
use amtsweg_places::tiles::View;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use std::collections::HashMap;

/// What a page needs to show the map.
pub struct MapBlock {
    /// The picture's address.
    pub src: String,
    pub mlat: String,
    pub mlon: String,
    pub z: u8,
    /// Further fields the click carries on (the chosen category).
    pub keep: Vec<(String, String)>,
    pub attribution: String,
    /// A coarser view of the same place (none at the coarsest).
    pub zoom_out: Option<String>,
    /// Whether a click places the point (or only zooms in).
    pub places: bool,
    pub width: u32,
    pub height: u32,
}

fn number(q: &HashMap<String, String>, k: &str) -> Option<f64> {
    q.get(k).and_then(|v| v.trim().replace(',', ".").parse::<f64>().ok()).filter(|v| v.is_finite())
}

fn view_of(q: &HashMap<String, String>, lat: &str, lon: &str) -> Option<View> {
    let z = q.get("z").and_then(|z| z.parse::<u8>().ok())?;
    View::new(number(q, lat)?, number(q, lon)?, z, MAP_WIDTH, MAP_HEIGHT)
}

impl MapBlock {
    fn new(state: &AppState, view: View, marker: Option<(f64, f64)>, keep: Vec<(String, String)>) -> Option<Self> {
        let tiles = state.app.map_tiles.as_ref()?;
        let mut src = format!("/maengel/karte.png?lat={:.6}&lon={:.6}&z={}", view.lat, view.lon, view.zoom);
        if let Some((lat, lon)) = marker {
            src.push_str(&format!("&plat={lat:.6}&plon={lon:.6}"));
        }
        let zoom_out = (view.zoom > amtsweg_places::tiles::MIN_ZOOM + 1).then(|| format!("/maengel?mlat={:.6}&mlon={:.6}&z={}#karte", view.lat, view.lon, view.zoom - 2));
        Some(Self {
            src,
            mlat: format!("{:.6}", view.lat),
            mlon: format!("{:.6}", view.lon),
            z: view.zoom,
            keep,
            attribution: tiles.attribution().to_owned(),
            zoom_out,
            places: view.zoom >= PLACE_ZOOM,
            width: view.width,
            height: view.height,
        })
    }

    /// The map of the start page: the view in the query (after a click), or all areas of the
    /// installation.
    pub async fn start(state: &AppState, q: &HashMap<String, String>) -> Result<Option<Self>, PageError> {
        if state.app.map_tiles.is_none() {
            return Ok(None);
        }
        if let Some(view) = view_of(q, "mlat", "mlon") {
            return Ok(Self::new(state, view, None, vec![]));
        }
        let Some((w, s, e, n)) = drawn_box(state).await? else { return Ok(None) };
        let zoom = View::zoom_to_fit((w, s, e, n), MAP_WIDTH, MAP_HEIGHT, PLACE_ZOOM);
        Ok(View::new((s + n) / 2.0, (w + e) / 2.0, zoom, MAP_WIDTH, MAP_HEIGHT).and_then(|v| Self::new(state, v, None, vec![])))
    }

    /// The map around a placed point (the report page): a click moves the point.
    pub fn around(state: &AppState, lat: f64, lon: f64, keep: Vec<(String, String)>) -> Option<Self> {
        Self::new(state, View::new(lat, lon, POINT_ZOOM, MAP_WIDTH, MAP_HEIGHT)?, Some((lat, lon)), keep)
    }
}

/// How far beyond the installation's areas a map may be drawn (degrees, about 20 km): enough to
/// see the surroundings, not enough to use the tile server for the whole world.
const MARGIN_DEG: f64 = 0.2;

/// The box of all drawn areas of the installation; `None` without any.
async fn drawn_box(state: &AppState) -> Result<Option<(f64, f64, f64, f64)>, PageError> {
    let areas = state.app.store.areas(None).await?;
    let mut drawn = areas.iter().filter(|a| a.ars.is_none()).map(|a| a.bounds);
    let Some(first) = drawn.next() else { return Ok(None) };
    Ok(Some(drawn.fold(first, |b, a| (b.0.min(a.0), b.1.min(a.1), b.2.max(a.2), b.3.max(a.3)))))
}

/// `GET /maengel/karte.png`: the picture of a view, with the marker at `plat`/`plon`. Only
/// views near the installation's areas are drawn (404 elsewhere).
pub async fn picture(State(state): State<AppState>, Query(q): Query<HashMap<String, String>>) -> Result<Response, PageError> {
    let tiles = state.app.map_tiles.clone().ok_or(AppError::NotFound)?;
    let view = view_of(&q, "lat", "lon").ok_or_else(|| AppError::BadRequest("Die Karte braucht lat, lon und z.".into()))?;
    let Some((w, s, e, n)) = drawn_box(&state).await? else { return Err(AppError::NotFound.into()) };
    let m = MARGIN_DEG;
    if !(view.lon >= w - m && view.lon <= e + m && view.lat >= s - m && view.lat <= n + m) {
        return Err(AppError::NotFound.into());
    }
    let marker = number(&q, "plat").zip(number(&q, "plon"));
    let png = tiles.render(view, marker).await;
    Ok(([(header::CONTENT_TYPE, "image/png"), (header::CACHE_CONTROL, "public, max-age=3600")], png).into_response())
}

/// `GET /maengel/karte`: a click on the map.
pub async fn click(State(state): State<AppState>, Query(q): Query<HashMap<String, String>>) -> Result<Response, PageError> {
    if state.app.map_tiles.is_none() {
        return Err(AppError::NotFound.into());
    }
    let view = view_of(&q, "mlat", "mlon").ok_or_else(|| AppError::BadRequest("Die Karte braucht mlat, mlon und z.".into()))?;
    let category = q.get("kategorie").filter(|c| amtsweg_domain::reports::valid_code(c));
    let (x, y) = match (number(&q, "karte.x"), number(&q, "karte.y")) {
        // Enter on the picture sends 0,0: no place was chosen.
        (Some(x), Some(y)) if (x, y) != (0.0, 0.0) && x < f64::from(MAP_WIDTH) && y < f64::from(MAP_HEIGHT) && x >= 0.0 && y >= 0.0 => (x, y),
        _ => return Ok(Redirect::to(&format!("/maengel?mlat={:.6}&mlon={:.6}&z={}#karte", view.lat, view.lon, view.zoom)).into_response()),
    };
    let (lat, lon) = view.place_at(x, y);
    if view.zoom < PLACE_ZOOM {
        let z = (view.zoom + 2).min(PLACE_ZOOM);
        return Ok(Redirect::to(&format!("/maengel?mlat={lat:.6}&mlon={lon:.6}&z={z}#karte")).into_response());
    }
    let mut to = format!("/maengel/melden?lat={lat:.6}&lon={lon:.6}");
    if let Some(c) = category {
        to.push_str(&format!("&kategorie={c}"));
    }
    Ok((StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response())
}
