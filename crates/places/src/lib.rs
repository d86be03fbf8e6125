//! Places for the Mängelmelder: the areas a department is responsible for (polygons imported
//! as GeoJSON and checked before they are stored), which of them a point lies in, distances
//! on the earth, and the address list an authority imports (`addresses.rs`).
//!
//! Coordinates are WGS 84 degrees, as GeoJSON (RFC 7946) has them: longitude first. The
//! geometry itself is the `geo` crate's (validity, DE-9IM relations, geodesic area, haversine
//! distance); this crate only says what amtsweg needs of it, with German messages for the
//! service admin.

mod addresses;
pub mod tiles;

pub use addresses::{Address, AddressError, AddressList, normalize};
/// A point: `x` is the longitude, `y` the latitude.
pub type GeoPoint = geo::Point<f64>;

use geo::orient::{Direction, Orient};
use geo::{BoundingRect, Distance, GeodesicArea, Haversine, HaversineClosestPoint, Intersects, MultiPolygon, Point, Polygon, Relate, Validation};
use std::str::FromStr;

/// Most polygons one import may hold, and most corners in all of them: a district map has a
/// few dozen areas with some thousand corners; more is not an area list.
pub const MAX_AREAS: usize = 500;
pub const MAX_CORNERS: usize = 200_000;

/// What is wrong with an area import; the messages are for the service admin.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum AreaError {
    #[error("Die Datei ist kein gültiges GeoJSON: {0}")]
    NotGeoJson(String),
    #[error("Die Datei enthält keine Fläche.")]
    Empty,
    #[error("Die Datei enthält mehr als {MAX_AREAS} Flächen oder mehr als {MAX_CORNERS} Eckpunkte.")]
    TooLarge,
    #[error("Fläche {index}: Ein Objekt vom Typ {kind} ist keine Fläche; erlaubt sind Polygon und MultiPolygon.")]
    NotAnArea { index: usize, kind: String },
    #[error("Fläche {index}: Die Koordinaten liegen nicht im Bereich von WGS 84 (Länge −180 bis 180, Breite −90 bis 90).")]
    OutOfRange { index: usize },
    #[error("Fläche {index} ({name}): Die Umrisslinie ist ungültig: {reason}")]
    Invalid { index: usize, name: String, reason: String },
    #[error("Fläche {index}: Der Name fehlt (Eigenschaft „name“).")]
    NoName { index: usize },
}

/// A checked area: one or more polygons without self-intersections, in WGS 84.
#[derive(Debug, Clone, PartialEq)]
pub struct Shape {
    geometry: MultiPolygon<f64>,
}

/// How two areas lie to each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// No common point, or only boundary points.
    Apart,
    /// The first lies inside the second (or both are the same).
    Inside,
    /// The second lies inside the first.
    Encloses,
    /// They share inner points, and neither holds the other: an overlap.
    Overlap,
}

/// A named area from an import.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedShape {
    pub name: String,
    pub shape: Shape,
}

impl Shape {
    /// Checks a geometry: WGS 84 range, closed rings, no self-intersection, polygons of one
    /// multipolygon not overlapping.
    pub fn new(geometry: MultiPolygon<f64>, index: usize, name: &str) -> Result<Self, AreaError> {
        if geometry.0.is_empty() {
            return Err(AreaError::Empty);
        }
        let in_range = geometry.0.iter().flat_map(|p| p.exterior().0.iter().chain(p.interiors().iter().flat_map(|r| r.0.iter()))).all(|c| {
            c.x.is_finite() && c.y.is_finite() && (-180.0..=180.0).contains(&c.x) && (-90.0..=90.0).contains(&c.y)
        });
        if !in_range {
            return Err(AreaError::OutOfRange { index });
        }
        if let Err(problem) = geometry.check_validation() {
            return Err(AreaError::Invalid { index, name: name.to_owned(), reason: german_reason(&problem.to_string()) });
        }
        // Outer rings counter-clockwise, holes clockwise (RFC 7946, and what the geodesic area
        // assumes: a clockwise ring would measure the rest of the earth).
        Ok(Self { geometry: geometry.orient(Direction::Default) })
    }

    /// Reads a stored area (GeoJSON geometry, as [`Shape::to_geojson`] writes it), checking it
    /// again.
    pub fn from_geojson(text: &str) -> Result<Self, AreaError> {
        let areas = read_geojson(text, None)?;
        match <[NamedShape; 1]>::try_from(areas) {
            Ok([one]) => Ok(one.shape),
            Err(_) => Err(AreaError::NotGeoJson("genau eine Fläche erwartet".into())),
        }
    }

    /// The geometry as GeoJSON (a `MultiPolygon`).
    pub fn to_geojson(&self) -> String {
        geojson::Geometry::from(&self.geometry).to_string()
    }

    /// Whether the point lies inside or on the boundary.
    pub fn covers(&self, point: Point<f64>) -> bool {
        self.geometry.intersects(&point)
    }

    /// Square metres on the ellipsoid.
    pub fn area_m2(&self) -> f64 {
        self.geometry.geodesic_area_unsigned()
    }

    /// Metres from the point to the area (0 inside or on the boundary).
    pub fn distance_m(&self, point: Point<f64>) -> f64 {
        if self.covers(point) {
            return 0.0;
        }
        match self.geometry.haversine_closest_point(&point) {
            geo::Closest::SinglePoint(p) | geo::Closest::Intersection(p) => Haversine.distance(point, p),
            geo::Closest::Indeterminate => f64::INFINITY,
        }
    }

    /// `(west, south, east, north)`.
    pub fn bounds(&self) -> (f64, f64, f64, f64) {
        match self.geometry.bounding_rect() {
            Some(r) => (r.min().x, r.min().y, r.max().x, r.max().y),
            None => (0.0, 0.0, 0.0, 0.0),
        }
    }

    /// How this area lies to `other`.
    pub fn relation(&self, other: &Shape) -> Relation {
        let m = self.geometry.relate(&other.geometry);
        if !m.is_intersects() || m.is_touches() {
            Relation::Apart
        } else if m.is_coveredby() {
            Relation::Inside
        } else if m.is_covers() {
            Relation::Encloses
        } else {
            Relation::Overlap
        }
    }

    pub fn polygons(&self) -> &[Polygon<f64>] {
        &self.geometry.0
    }
}

/// The message of `geo`'s validation, in German for the most common problems.
fn german_reason(reason: &str) -> String {
    let lower = reason.to_lowercase();
    if lower.contains("self") && lower.contains("intersect") {
        "Die Linie kreuzt sich selbst.".into()
    } else if lower.contains("too few") || lower.contains("fewer than") {
        "Ein Ring hat zu wenige Eckpunkte.".into()
    } else if lower.contains("not closed") {
        "Ein Ring ist nicht geschlossen.".into()
    } else if lower.contains("interior") && lower.contains("outside") {
        "Ein Loch liegt außerhalb der Fläche.".into()
    } else if lower.contains("overlap") || lower.contains("intersect") {
        "Teilflächen überschneiden sich.".into()
    } else {
        format!("Die Geometrie ist nicht gültig ({reason}).")
    }
}

/// The areas of a GeoJSON text: a `FeatureCollection`, a `Feature` or a bare geometry, each
/// a `Polygon` or `MultiPolygon`. With `name_property`, every feature must carry a name in
/// that property (`name` by default for collections); bare geometries are named "Fläche N".
pub fn read_geojson(text: &str, name_property: Option<&str>) -> Result<Vec<NamedShape>, AreaError> {
    let parsed = geojson::GeoJson::from_str(text).map_err(|e| AreaError::NotGeoJson(short(&e.to_string())))?;
    let items: Vec<(Option<String>, Option<geojson::Geometry>)> = match parsed {
        geojson::GeoJson::Geometry(g) => vec![(None, Some(g))],
        geojson::GeoJson::Feature(f) => vec![(feature_name(&f, name_property), f.geometry)],
        geojson::GeoJson::FeatureCollection(c) => c.features.into_iter().map(|f| (feature_name(&f, name_property), f.geometry)).collect(),
    };
    if items.is_empty() {
        return Err(AreaError::Empty);
    }
    if items.len() > MAX_AREAS {
        return Err(AreaError::TooLarge);
    }
    let mut corners = 0usize;
    let mut out = Vec::with_capacity(items.len());
    for (i, (name, geometry)) in items.into_iter().enumerate() {
        let index = i + 1;
        let Some(geometry) = geometry else {
            return Err(AreaError::NotAnArea { index, kind: "ohne Geometrie".into() });
        };
        let kind = geometry.value.type_name().to_owned();
        // Converted here rather than with the `geojson` crate's conversion, which panics on a
        // position with fewer than two numbers (found by fuzzing).
        let multi: MultiPolygon<f64> = match &geometry.value {
            geojson::GeometryValue::Polygon { coordinates } => MultiPolygon(vec![polygon(coordinates, index)?]),
            geojson::GeometryValue::MultiPolygon { coordinates } => MultiPolygon(coordinates.iter().map(|p| polygon(p, index)).collect::<Result<_, _>>()?),
            _ => return Err(AreaError::NotAnArea { index, kind }),
        };
        corners += multi.0.iter().map(|p| p.exterior().0.len() + p.interiors().iter().map(|r| r.0.len()).sum::<usize>()).sum::<usize>();
        if corners > MAX_CORNERS {
            return Err(AreaError::TooLarge);
        }
        let name = match (name, name_property) {
            (Some(n), _) => n,
            (None, Some(_)) => return Err(AreaError::NoName { index }),
            (None, None) => format!("Fläche {index}"),
        };
        let shape = Shape::new(multi, index, &name)?;
        out.push(NamedShape { name, shape });
    }
    Ok(out)
}

/// A polygon from GeoJSON rings (the first outside, the others holes); every position needs a
/// longitude and a latitude (a third number, the height, is ignored).
fn polygon(rings: &[Vec<geojson::Position>], index: usize) -> Result<Polygon<f64>, AreaError> {
    let ring = |positions: &Vec<geojson::Position>| -> Result<geo::LineString<f64>, AreaError> {
        if positions.len() < 4 {
            // RFC 7946: a linear ring has four or more positions, the first equal to the last.
            return Err(AreaError::Invalid { index, name: String::new(), reason: "Ein Ring hat zu wenige Eckpunkte (mindestens vier, der letzte gleich dem ersten).".into() });
        }
        positions
            .iter()
            .map(|p| match p.as_slice() {
                [x, y, ..] => Ok(geo::Coord { x: *x, y: *y }),
                _ => Err(AreaError::NotGeoJson(format!("Fläche {index}: Ein Punkt braucht Länge und Breite."))),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(geo::LineString)
    };
    let Some((outer, holes)) = rings.split_first() else {
        return Err(AreaError::NotGeoJson(format!("Fläche {index}: Das Polygon hat keinen Umriss.")));
    };
    Ok(Polygon::new(ring(outer)?, holes.iter().map(ring).collect::<Result<_, _>>()?))
}

fn feature_name(feature: &geojson::Feature, property: Option<&str>) -> Option<String> {
    let value = feature.property(property.unwrap_or("name"))?;
    let name = match value {
        serde_json::Value::String(s) => s.trim().to_owned(),
        serde_json::Value::Number(n) => n.to_string(),
        _ => return None,
    };
    (!name.is_empty()).then(|| name.chars().take(200).collect())
}

/// A parser's message, cut to a readable length (it may quote the input).
fn short(message: &str) -> String {
    message.chars().take(160).collect()
}

/// Metres between two points on the earth (haversine, mean radius).
pub fn distance_m(a: Point<f64>, b: Point<f64>) -> f64 {
    Haversine.distance(a, b)
}

/// The box `(west, south, east, north)` that holds every point within `radius_m` of `point`
/// (a little more: it is a box), for a quick first test in a database.
pub fn box_around(point: Point<f64>, radius_m: f64) -> (f64, f64, f64, f64) {
    let (lat, lon) = (point.y(), point.x());
    let dlat = radius_m / 111_000.0;
    let dlon = radius_m / (111_000.0 * lat.to_radians().cos().max(0.01));
    (lon - dlon, lat - dlat, lon + dlon, lat + dlat)
}

/// A point from latitude and longitude, when both are finite and in range.
pub fn point(lat: f64, lon: f64) -> Option<Point<f64>> {
    (lat.is_finite() && lon.is_finite() && (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon)).then(|| Point::new(lon, lat))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(west: f64, south: f64, size: f64) -> String {
        let (e, n) = (west + size, south + size);
        format!(r#"{{"type":"Polygon","coordinates":[[[{west},{south}],[{e},{south}],[{e},{n}],[{west},{n}],[{west},{south}]]]}}"#)
    }

    #[test]
    fn a_point_inside_or_on_the_boundary_is_covered() {
        let s = Shape::from_geojson(&square(12.0, 51.0, 0.1)).unwrap();
        assert!(s.covers(point(51.05, 12.05).unwrap()));
        assert!(s.covers(point(51.0, 12.05).unwrap()), "on the southern edge");
        assert!(!s.covers(point(51.2, 12.05).unwrap()));
        let d = s.distance_m(point(51.2, 12.05).unwrap());
        assert!((d - 11_119.0).abs() < 100.0, "{d}");
    }

    #[test]
    fn a_bow_tie_is_refused_in_german() {
        let text = r#"{"type":"Polygon","coordinates":[[[0,0],[1,1],[1,0],[0,1],[0,0]]]}"#;
        let err = read_geojson(text, None).unwrap_err();
        assert!(matches!(err, AreaError::Invalid { .. }), "{err:?}");
        assert!(err.to_string().contains("kreuzt sich selbst"), "{err}");
    }

    #[test]
    fn malformed_and_wrong_geometries_are_refused() {
        assert!(matches!(read_geojson("{\"type\":", None), Err(AreaError::NotGeoJson(_))));
        assert!(matches!(read_geojson(r#"{"type":"Point","coordinates":[1,2]}"#, None), Err(AreaError::NotAnArea { .. })));
        assert!(matches!(read_geojson(r#"{"type":"FeatureCollection","features":[]}"#, None), Err(AreaError::Empty)));
        // A position with one number (this panicked in the geojson crate's conversion).
        assert!(matches!(read_geojson(r#"{"type":"Polygon","coordinates":[[[0,0],[1],[1,1],[0,0]]]}"#, None), Err(AreaError::NotGeoJson(_))));
        assert!(matches!(read_geojson(r#"{"type":"Polygon","coordinates":[]}"#, None), Err(AreaError::NotGeoJson(_))));
        assert!(matches!(read_geojson(r#"{"type":"Polygon","coordinates":[[]]}"#, None), Err(AreaError::Invalid { .. })), "an empty ring");
        let far = r#"{"type":"Polygon","coordinates":[[[0,0],[200,0],[200,1],[0,1],[0,0]]]}"#;
        assert!(matches!(read_geojson(far, None), Err(AreaError::OutOfRange { .. })));
    }

    #[test]
    fn features_need_names_when_asked() {
        let fc = format!(r#"{{"type":"FeatureCollection","features":[{{"type":"Feature","properties":{{"name":"Mitte"}},"geometry":{}}},{{"type":"Feature","properties":{{}},"geometry":{}}}]}}"#, square(0.0, 0.0, 1.0), square(2.0, 0.0, 1.0));
        assert_eq!(read_geojson(&fc, Some("name")).unwrap_err(), AreaError::NoName { index: 2 });
        let named = read_geojson(&fc, None).unwrap();
        assert_eq!(named[0].name, "Mitte");
        assert_eq!(named[1].name, "Fläche 2");
    }

    #[test]
    fn relations_tell_nesting_from_overlap() {
        let big = Shape::from_geojson(&square(0.0, 0.0, 1.0)).unwrap();
        let small = Shape::from_geojson(&square(0.2, 0.2, 0.3)).unwrap();
        let beside = Shape::from_geojson(&square(1.0, 0.0, 1.0)).unwrap();
        let across = Shape::from_geojson(&square(0.5, 0.5, 1.0)).unwrap();
        assert_eq!(small.relation(&big), Relation::Inside);
        assert_eq!(big.relation(&small), Relation::Encloses);
        assert_eq!(big.relation(&beside), Relation::Apart, "sharing an edge is not an overlap");
        assert_eq!(big.relation(&across), Relation::Overlap);
        assert_eq!(big.relation(&big.clone()), Relation::Inside);
        assert!(small.area_m2() < big.area_m2());
    }

    #[test]
    fn a_clockwise_ring_measures_the_same_as_a_counterclockwise_one() {
        let ccw = Shape::from_geojson(&square(12.0, 51.0, 0.1)).unwrap();
        let cw = Shape::from_geojson(r#"{"type":"Polygon","coordinates":[[[12.0,51.0],[12.0,51.1],[12.1,51.1],[12.1,51.0],[12.0,51.0]]]}"#).unwrap();
        assert!((ccw.area_m2() - cw.area_m2()).abs() < 1.0, "{} vs {}", ccw.area_m2(), cw.area_m2());
        assert!(ccw.area_m2() < 1e9);
    }

    #[test]
    fn stored_text_reads_back() {
        let s = Shape::from_geojson(&square(12.3, 51.3, 0.05)).unwrap();
        assert_eq!(Shape::from_geojson(&s.to_geojson()).unwrap(), s);
    }
}
