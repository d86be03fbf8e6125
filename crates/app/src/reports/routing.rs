//! Which department gets a report: the rule, in one place.
//!
//! 1. A category of an authority is handled, in each of its areas, by the department assigned
//!    to it there. A point belongs to an area when it lies inside it **or on its boundary**.
//! 2. Of the areas that hold the point, the **smallest** (by area on the ellipsoid) decides: a
//!    district inside the city boundary wins over the city, a city inside its Landkreis's
//!    outline wins over the Landkreis.
//! 3. A point exactly on the boundary of two areas of the same size goes to the area whose id
//!    sorts first. (Two neighbouring districts are never of exactly the same size, so in practice
//!    the smaller of the two takes the boundary.)
//! 4. Across authorities (a citizen who gives the place before the category), rule 2 chooses
//!    the authority: the smallest area of any authority that has a category assigned there.
//! 5. A point in no area is refused, naming the authority whose area holds it, or else the one
//!    whose area is nearest (within 50 km), when there is one.
//! 6. An area can also be a whole region by its Amtlicher Regionalschlüssel (ARS), without a
//!    drawing. A point lies in such a region when its own key does: the key of the nearest
//!    house of the address lists (within 100 m, see `reports::place`). Drawn areas come
//!    first (rule 2 among them); only where no drawn area of a category holds the point do the
//!    regions decide, the finest key first (a Gemeinde before its Kreis before the Land). So an
//!    authority that names its regions by key and draws only what is finer gets both right.
//!
//! Entry keeps the rule unambiguous: two assignments of one category whose areas overlap,
//! without one lying inside the other, are refused (`setup.rs`); for regions, two with the
//! same key.

use amtsweg_domain::AuthorityId;
use amtsweg_domain::RegionKey;
use amtsweg_domain::reports::{Area, Assignment};
use amtsweg_places::{GeoPoint as Point, Shape};

/// Areas farther than this are not named as "the nearest responsible authority".
const NEAREST_WITHIN_M: f64 = 50_000.0;

/// An area with its checked shape.
pub struct Placed {
    pub area: Area,
    pub shape: Shape,
}

/// The areas and assignments of every authority, as routing needs them.
pub struct Map {
    /// Drawn areas.
    pub areas: Vec<Placed>,
    /// Regions by key, the finest first.
    pub regions: Vec<(Area, RegionKey)>,
    pub assignments: Vec<Assignment>,
}

/// A place to route: its point, and the regional key there when it is known (rule 6).
#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    pub point: Point,
    pub region: Option<RegionKey>,
}

impl From<Point> for Place {
    fn from(point: Point) -> Self {
        Self { point, region: None }
    }
}

/// Where a report goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub authority_id: AuthorityId,
    pub area_id: String,
    pub department_id: String,
}

impl Map {
    /// Builds the map; an area whose stored shape does not read is left out (and logged).
    pub fn new(areas: Vec<Area>, assignments: Vec<Assignment>) -> Self {
        let (by_key, drawn): (Vec<Area>, Vec<Area>) = areas.into_iter().partition(|a| a.ars.is_some());
        let mut regions: Vec<(Area, RegionKey)> = by_key
            .into_iter()
            .filter_map(|area| {
                let key = RegionKey::parse(area.ars.as_deref().unwrap_or_default()).ok()?;
                Some((area, key))
            })
            .collect();
        regions.sort_by(|a, b| b.1.significant_len().cmp(&a.1.significant_len()).then_with(|| a.0.id.cmp(&b.0.id)));
        let areas = drawn
            .into_iter()
            .filter_map(|area| match Shape::from_geojson(&area.geometry) {
                Ok(shape) => Some(Placed { area, shape }),
                Err(_) => {
                    tracing::warn!(area = %area.id, "stored area does not read; left out of routing");
                    None
                }
            })
            .collect();
        Self { areas, regions, assignments }
    }

    /// The areas holding the place: drawn ones, smallest first (rules 1–3), then regions whose
    /// key holds the place's, the finest first (rule 6).
    fn holding(&self, place: &Place) -> Vec<&Area> {
        let point = place.point;
        let mut drawn: Vec<&Area> = self
            .areas
            .iter()
            .filter(|p| {
                let (w, s, e, n) = p.area.bounds;
                point.x() >= w && point.x() <= e && point.y() >= s && point.y() <= n && p.shape.covers(point)
            })
            .map(|p| &p.area)
            .collect();
        drawn.sort_by(|a, b| a.area_m2.total_cmp(&b.area_m2).then_with(|| a.id.cmp(&b.id)));
        if let Some(key) = &place.region {
            drawn.extend(self.regions.iter().filter(|(_, region)| region.contains(key)).map(|(area, _)| area));
        }
        drawn
    }

    /// The department of `authority` for `category` at the place.
    pub fn route(&self, authority: &AuthorityId, category: &str, place: impl Into<Place>) -> Option<Route> {
        self.holding(&place.into()).into_iter().find_map(|area| {
            self.assignments
                .iter()
                .find(|a| &a.authority_id == authority && a.category == category && a.area_id == area.id && area.authority_id == *authority)
                .map(|a| Route { authority_id: authority.clone(), area_id: area.id.clone(), department_id: a.department_id.clone() })
        })
    }

    /// The department and area of `authority`'s largest area for `category`: where a report
    /// handed over from another authority goes when its place lies in none of them.
    pub fn largest_for(&self, authority: &AuthorityId, category: &str) -> Option<(String, String)> {
        let assigned = |area: &Area| self.assignments.iter().find(|a| &a.authority_id == authority && a.category == category && a.area_id == area.id);
        // A region by key counts as larger than any drawing: the coarsest key of them.
        if let Some((area, a)) = self.regions.iter().rev().find_map(|(area, _)| Some((area, assigned(area)?))) {
            return Some((a.department_id.clone(), area.id.clone()));
        }
        self.areas
            .iter()
            .filter_map(|p| Some((&p.area, assigned(&p.area)?)))
            .max_by(|x, y| x.0.area_m2.total_cmp(&y.0.area_m2).then_with(|| y.0.id.cmp(&x.0.id)))
            .map(|(area, a)| (a.department_id.clone(), area.id.clone()))
    }

    /// The authority responsible at the point for anything (rule 4).
    pub fn authority_at(&self, place: impl Into<Place>) -> Option<AuthorityId> {
        self.holding(&place.into()).into_iter().find(|area| self.assignments.iter().any(|a| a.area_id == area.id)).map(|area| area.authority_id.clone())
    }

    /// The authority to name when `authority` is not responsible at the point (rule 5).
    pub fn nearest_other(&self, authority: &AuthorityId, place: impl Into<Place>) -> Option<AuthorityId> {
        let place = place.into();
        let point = place.point;
        if let Some(found) = self.holding(&place).into_iter().find(|area| &area.authority_id != authority && self.assignments.iter().any(|a| a.area_id == area.id)) {
            return Some(found.authority_id.clone());
        }
        self.areas
            .iter()
            .filter(|p| &p.area.authority_id != authority)
            .map(|p| (p.shape.distance_m(point), p))
            .filter(|(d, _)| *d <= NEAREST_WITHIN_M)
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, p)| p.area.authority_id.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn area(id: &str, authority: &str, w: f64, s: f64, size: f64) -> Area {
        let (e, n) = (w + size, s + size);
        let text = format!(r#"{{"type":"Polygon","coordinates":[[[{w},{s}],[{e},{s}],[{e},{n}],[{w},{n}],[{w},{s}]]]}}"#);
        let shape = Shape::from_geojson(&text).unwrap();
        Area { id: id.into(), authority_id: AuthorityId::from_stored(authority.into()), name: id.into(), geometry: shape.to_geojson(), area_m2: shape.area_m2(), bounds: shape.bounds(), ars: None }
    }

    fn assign(authority: &str, area: &str, department: &str) -> Assignment {
        Assignment { authority_id: AuthorityId::from_stored(authority.into()), category: "schlagloch".into(), area_id: area.into(), department_id: department.into() }
    }

    fn map() -> Map {
        // A Landkreis around a city; the city with two districts side by side (west: 0.1 wide,
        // east: 0.12 wide, so the western one is smaller).
        let mut east = area("stadt-ost", "stadt", 12.1, 51.0, 0.1);
        let (w, s) = (12.1, 51.0);
        let text = format!(r#"{{"type":"Polygon","coordinates":[[[{w},{s}],[{e},{s}],[{e},{n}],[{w},{n}],[{w},{s}]]]}}"#, e = 12.22, n = 51.1);
        let shape = Shape::from_geojson(&text).unwrap();
        east.geometry = shape.to_geojson();
        east.area_m2 = shape.area_m2();
        east.bounds = shape.bounds();
        Map::new(
            vec![area("kreis", "kreis", 11.5, 50.5, 1.5), area("stadt", "stadt", 12.0, 51.0, 0.22), area("stadt-west", "stadt", 12.0, 51.0, 0.1), east],
            vec![assign("kreis", "kreis", "kreis-bauhof"), assign("stadt", "stadt", "tiefbau"), assign("stadt", "stadt-west", "tiefbau-west"), assign("stadt", "stadt-ost", "tiefbau-ost")],
        )
    }

    fn p(lat: f64, lon: f64) -> Point {
        amtsweg_places::point(lat, lon).unwrap()
    }

    #[test]
    fn a_point_in_a_district_reaches_that_districts_team() {
        let m = map();
        let stadt = AuthorityId::from_stored("stadt".into());
        assert_eq!(m.route(&stadt, "schlagloch", p(51.05, 12.05)).unwrap().department_id, "tiefbau-west");
        assert_eq!(m.route(&stadt, "schlagloch", p(51.05, 12.15)).unwrap().department_id, "tiefbau-ost");
        // In the city, outside both districts: the city's own assignment.
        assert_eq!(m.route(&stadt, "schlagloch", p(51.15, 12.05)).unwrap().department_id, "tiefbau");
    }

    #[test]
    fn the_boundary_between_districts_goes_to_the_smaller() {
        let m = map();
        let stadt = AuthorityId::from_stored("stadt".into());
        assert_eq!(m.route(&stadt, "schlagloch", p(51.05, 12.1)).unwrap().department_id, "tiefbau-west");
    }

    #[test]
    fn where_city_and_landkreis_meet_the_city_decides() {
        let m = map();
        assert_eq!(m.authority_at(p(51.05, 12.05)).unwrap().as_str(), "stadt");
        assert_eq!(m.authority_at(p(51.0, 12.05)).unwrap().as_str(), "stadt", "on the city's boundary");
        assert_eq!(m.authority_at(p(50.8, 12.05)).unwrap().as_str(), "kreis");
        let kreis = AuthorityId::from_stored("kreis".into());
        assert_eq!(m.route(&kreis, "schlagloch", p(50.8, 12.05)).unwrap().department_id, "kreis-bauhof");
    }

    fn region(id: &str, authority: &str, ars: &str) -> Area {
        Area { id: id.into(), authority_id: AuthorityId::from_stored(authority.into()), name: id.into(), geometry: String::new(), area_m2: 0.0, bounds: (0.0, 0.0, 0.0, 0.0), ars: Some(ars.into()) }
    }

    #[test]
    fn regions_by_key_decide_where_no_drawing_does_the_finest_first() {
        // A Landkreis by key (14730), one Gemeinde of it by key, and the city drawn as above.
        let mut m = map();
        m = Map::new(
            m.areas.drain(..).map(|p| p.area).chain([region("kreis-ars", "kreis", "147300000000"), region("gemeinde-ars", "kreis", "147305000150")]).collect(),
            m.assignments.into_iter().chain([assign("kreis", "kreis-ars", "kreis-strassen"), assign("kreis", "gemeinde-ars", "gemeinde-bauhof")]).collect(),
        );
        let kreis = AuthorityId::from_stored("kreis".into());
        let key = |k: &str| Some(RegionKey::parse(k).unwrap());
        let far = p(50.0, 10.0);
        // Outside every drawing: the point's key decides, the Gemeinde before its Kreis.
        assert_eq!(m.route(&kreis, "schlagloch", Place { point: far, region: key("147305000150") }).unwrap().department_id, "gemeinde-bauhof");
        assert_eq!(m.route(&kreis, "schlagloch", Place { point: far, region: key("147305000999") }).unwrap().department_id, "kreis-strassen");
        assert_eq!(m.route(&kreis, "schlagloch", Place { point: far, region: key("146120000000") }), None, "another Kreis");
        assert_eq!(m.route(&kreis, "schlagloch", far), None, "no key known");
        assert_eq!(m.authority_at(Place { point: far, region: key("147305000150") }).unwrap().as_str(), "kreis");
        // A drawing holding the point comes first: inside the Kreis's drawn outline, its drawn area.
        assert_eq!(m.route(&kreis, "schlagloch", Place { point: p(50.8, 12.05), region: key("147305000150") }).unwrap().department_id, "kreis-bauhof");
        // The city is drawn: there the city decides, whatever the key says.
        assert_eq!(m.authority_at(Place { point: p(51.05, 12.05), region: key("147305000150") }).unwrap().as_str(), "stadt");
        // Handed over from elsewhere, the coarsest region counts as the largest area.
        let only_regions = Map::new(vec![region("kreis-ars", "kreis", "147300000000"), region("gemeinde-ars", "kreis", "147305000150")], vec![assign("kreis", "kreis-ars", "kreis-strassen"), assign("kreis", "gemeinde-ars", "gemeinde-bauhof")]);
        assert_eq!(only_regions.largest_for(&kreis, "schlagloch").unwrap().0, "kreis-strassen");
    }

    #[test]
    fn outside_every_area_names_the_nearest() {
        let m = map();
        assert_eq!(m.authority_at(p(53.0, 12.0)), None);
        let stadt = AuthorityId::from_stored("stadt".into());
        assert_eq!(m.route(&stadt, "schlagloch", p(50.8, 12.05)), None);
        assert_eq!(m.nearest_other(&stadt, p(50.8, 12.05)).unwrap().as_str(), "kreis");
        assert_eq!(m.nearest_other(&stadt, p(55.0, 12.05)), None, "too far to name anyone");
    }
}
