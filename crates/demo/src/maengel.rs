//! The demo's Mängelmelder for Leipzig and Halle: departments, categories with questions of
//! every Open311 datatype, the city boundary and its Stadtbezirke as coarse polygons (drawn
//! for the demo: sectors around the centre, sharing their edges exactly, so that neighbours
//! touch and never overlap), an address list of real streets with interpolated house
//! coordinates, an Open311 API key, and synthetic reports spread over the last four months.

use amtsweg_app::reports::setup::ReportAdmin;
use amtsweg_app::reports::{Map, Reports};
use amtsweg_domain::reports::{Attribute, Category, Datatype, Location, NewReport, Publication, ReportStatus, Reporter};
use amtsweg_domain::{AuthorityId, Role, UserId};
use amtsweg_store::{Actor, DynStore, ReportChange};
use serde::Serialize;
use std::collections::BTreeMap;
use time::{Duration, OffsetDateTime};

/// What `demo-tokens.json` says about the Open311 server.
#[derive(Debug, Clone, Serialize)]
pub struct Open311Demo {
    /// Posts reports for `jurisdiction_id` (Leipzig).
    pub api_key: String,
    pub jurisdiction_id: String,
    /// A key for Halle.
    pub api_key_halle: String,
    /// The server's path.
    pub path: String,
}

struct City {
    id: &'static str,
    centre: (f64, f64),
    /// Radius of the boundary in km at bearings 0°, 20°, …, 340°.
    outer_km: [f64; 18],
    /// Radius of the central district in km.
    inner_km: f64,
    /// Districts: name, id, from bearing, to bearing (clockwise, degrees).
    districts: &'static [(&'static str, &'static str, f64, f64)],
    /// Streets: name, postcode, first and last house's (lat, lon), houses.
    streets: &'static [(&'static str, &'static str, (f64, f64), (f64, f64), u32)],
    place: &'static str,
    ars: &'static str,
    /// Departments: id, name; the first handles roads in the northern half, the second in the
    /// southern, the third everything green, the fourth cleaning.
    departments: [(&'static str, &'static str); 4],
}

const LEIPZIG: City = City {
    id: "leipzig",
    centre: (51.3397, 12.3731),
    outer_km: [10.5, 11.0, 12.0, 13.0, 12.5, 11.0, 10.0, 9.5, 9.0, 9.5, 10.0, 11.0, 13.0, 12.5, 12.0, 11.5, 11.0, 10.5],
    inner_km: 1.6,
    districts: &[
        ("Nord", "nord", -30.0, 30.0),
        ("Nordost", "nordost", 30.0, 75.0),
        ("Ost", "ost", 75.0, 120.0),
        ("Südost", "suedost", 120.0, 165.0),
        ("Süd", "sued", 165.0, 200.0),
        ("Südwest", "suedwest", 200.0, 235.0),
        ("West", "west", 235.0, 265.0),
        ("Alt-West", "alt-west", 265.0, 295.0),
        ("Nordwest", "nordwest", 295.0, 330.0),
    ],
    streets: &[
        ("Markt", "04109", (51.3406, 12.3747), (51.3402, 12.3752), 12),
        ("Grimmaische Straße", "04109", (51.3397, 12.3760), (51.3393, 12.3800), 30),
        ("Karl-Liebknecht-Straße", "04275", (51.3300, 12.3740), (51.3170, 12.3720), 150),
        ("Eisenbahnstraße", "04315", (51.3455, 12.3950), (51.3475, 12.4200), 160),
        ("Georg-Schwarz-Straße", "04177", (51.3460, 12.3300), (51.3500, 12.3100), 120),
        ("Karl-Heine-Straße", "04229", (51.3340, 12.3400), (51.3310, 12.3150), 110),
        ("Lützner Straße", "04177", (51.3310, 12.3300), (51.3260, 12.2900), 180),
        ("Prager Straße", "04317", (51.3320, 12.3900), (51.3150, 12.4200), 200),
        ("Georg-Schumann-Straße", "04159", (51.3500, 12.3700), (51.3800, 12.3500), 300),
        ("Dresdner Straße", "04317", (51.3380, 12.3900), (51.3370, 12.4100), 80),
        ("Bornaische Straße", "04277", (51.3150, 12.3850), (51.2900, 12.3900), 140),
        ("Delitzscher Straße", "04129", (51.3550, 12.3800), (51.3850, 12.3850), 160),
        ("Stuttgarter Allee", "04209", (51.3180, 12.2900), (51.3150, 12.2700), 40),
    ],
    place: "Leipzig",
    ars: "147130000000",
    departments: [
        ("leipzig-vta-nord", "Verkehrs- und Tiefbauamt, Straßenunterhaltung Nord"),
        ("leipzig-vta-sued", "Verkehrs- und Tiefbauamt, Straßenunterhaltung Süd"),
        ("leipzig-asg", "Amt für Stadtgrün und Gewässer"),
        ("leipzig-reinigung", "Stadtreinigung Leipzig"),
    ],
};

const HALLE: City = City {
    id: "halle",
    centre: (51.4825, 11.9697),
    outer_km: [7.5, 8.0, 8.5, 9.0, 8.0, 7.0, 6.5, 6.5, 7.0, 7.5, 7.0, 6.5, 7.5, 8.5, 8.0, 7.0, 7.0, 7.0],
    inner_km: 1.4,
    districts: &[("Nord", "nord", -45.0, 45.0), ("Ost", "ost", 45.0, 135.0), ("Süd", "sued", 135.0, 225.0), ("West", "west", 225.0, 315.0)],
    streets: &[
        ("Marktplatz", "06108", (51.4828, 11.9690), (51.4822, 11.9702), 24),
        ("Leipziger Straße", "06108", (51.4850, 11.9760), (51.4870, 11.9840), 100),
        ("Große Ulrichstraße", "06108", (51.4860, 11.9660), (51.4895, 11.9640), 60),
        ("Merseburger Straße", "06110", (51.4700, 11.9800), (51.4550, 11.9850), 180),
        ("Magdeburger Straße", "06112", (51.4900, 11.9800), (51.4950, 11.9850), 70),
        ("Reilstraße", "06114", (51.4950, 11.9600), (51.5050, 11.9550), 140),
        ("Neustädter Passage", "06122", (51.4830, 11.9100), (51.4790, 11.9200), 20),
        ("Delitzscher Straße", "06112", (51.4870, 11.9900), (51.4950, 12.0200), 150),
        ("Paracelsusstraße", "06114", (51.4950, 11.9650), (51.5000, 11.9750), 50),
    ],
    place: "Halle (Saale)",
    ars: "150020000000",
    departments: [
        ("halle-strasse-nord", "Fachbereich Mobilität, Straßenunterhaltung Nord"),
        ("halle-strasse-sued", "Fachbereich Mobilität, Straßenunterhaltung Süd"),
        ("halle-gruen", "Fachbereich Umwelt, Grünflächen"),
        ("halle-reinigung", "Stadtwirtschaft Halle"),
    ],
};

/// A point `km` from `centre` at `bearing` degrees.
fn offset(centre: (f64, f64), bearing: f64, km: f64) -> (f64, f64) {
    let b = bearing.to_radians();
    let lat = centre.0 + km * b.cos() / 111.32;
    let lon = centre.1 + km * b.sin() / (111.32 * centre.0.to_radians().cos());
    (lat, lon)
}

impl City {
    /// The boundary's radius at a bearing (linear between the samples).
    fn outer(&self, bearing: f64) -> f64 {
        let b = bearing.rem_euclid(360.0) / 20.0;
        let i = b.floor() as usize % 18;
        let t = b - b.floor();
        self.outer_km[i] * (1.0 - t) + self.outer_km[(i + 1) % 18] * t
    }

    /// Every bearing a ring uses: the samples and the districts' edges, in order from 0.
    fn bearings(&self) -> Vec<f64> {
        let mut all: Vec<f64> = (0..18).map(|i| f64::from(i) * 20.0).collect();
        for (_, _, from, to) in self.districts {
            all.push(from.rem_euclid(360.0));
            all.push(to.rem_euclid(360.0));
        }
        all.sort_by(f64::total_cmp);
        all.dedup_by(|a, b| (*a - *b).abs() < 1e-9);
        all
    }

    fn ring(points: Vec<(f64, f64)>) -> String {
        let mut coords: Vec<String> = points.iter().map(|(lat, lon)| format!("[{lon:.6},{lat:.6}]")).collect();
        coords.push(coords[0].clone());
        format!("[{}]", coords.join(","))
    }

    fn feature(name: &str, ring: String) -> String {
        format!(r#"{{"type":"Feature","properties":{{"name":"{name}"}},"geometry":{{"type":"Polygon","coordinates":[{ring}]}}}}"#)
    }

    /// The city boundary as GeoJSON.
    fn boundary(&self) -> String {
        let ring = Self::ring(self.bearings().into_iter().map(|b| offset(self.centre, b, self.outer(b))).collect());
        format!(r#"{{"type":"FeatureCollection","features":[{}]}}"#, Self::feature("Stadtgebiet", ring))
    }

    /// The districts as GeoJSON: Mitte, then the sectors.
    fn districts(&self) -> String {
        let all = self.bearings();
        let mut features = vec![Self::feature("Mitte", Self::ring(all.iter().map(|b| offset(self.centre, *b, self.inner_km)).collect()))];
        for (name, _, from, to) in self.districts {
            let (from, to) = (*from, *to);
            // The bearings inside [from, to], in order (a sector may cross north: from < 0).
            let mut span: Vec<f64> = all.iter().flat_map(|b| [*b, b - 360.0]).filter(|b| *b >= from - 1e-9 && *b <= to + 1e-9).collect();
            span.sort_by(f64::total_cmp);
            let mut points: Vec<(f64, f64)> = span.iter().map(|b| offset(self.centre, *b, self.inner_km)).collect();
            points.extend(span.iter().rev().map(|b| offset(self.centre, *b, self.outer(*b))));
            features.push(Self::feature(name, Self::ring(points)));
        }
        format!(r#"{{"type":"FeatureCollection","features":[{}]}}"#, features.join(","))
    }

    /// The address list as CSV.
    fn addresses(&self) -> String {
        let mut csv = String::from("strasse;hausnummer;plz;ort;lat;lon;ars\n");
        for (street, postcode, first, last, houses) in self.streets {
            for n in 1..=*houses {
                let t = if *houses > 1 { f64::from(n - 1) / f64::from(houses - 1) } else { 0.0 };
                let lat = first.0 + (last.0 - first.0) * t;
                let lon = first.1 + (last.1 - first.1) * t;
                csv.push_str(&format!("{street};{n};{postcode};{};{lat:.6};{lon:.6};{}\n", self.place, self.ars));
            }
        }
        csv
    }
}

fn list(values: &[(&str, &str)]) -> Vec<(String, String)> {
    values.iter().map(|(k, n)| ((*k).to_owned(), (*n).to_owned())).collect()
}

fn categories(authority: &AuthorityId) -> Vec<Category> {
    let c = |code: &str, name: &str, group: &str, keywords: &[&str], description: &str, attributes: Vec<Attribute>, publication: Publication, deadline_days: u32| Category {
        authority_id: authority.clone(),
        code: code.into(),
        name: name.into(),
        group: group.into(),
        keywords: keywords.iter().map(|k| (*k).to_owned()).collect(),
        description: description.into(),
        attributes,
        publication,
        deadline_days,
    };
    let a = |code: &str, description: &str, datatype: Datatype, required: bool, order: u32, hint: &str, values: Vec<(String, String)>| Attribute {
        code: code.into(),
        description: description.into(),
        datatype,
        required,
        datatype_description: hint.into(),
        order,
        values,
    };
    vec![
        c(
            "schlagloch",
            "Schlagloch oder Straßenschaden",
            "Straße und Verkehr",
            &["Schlagloch", "Fahrbahn", "Radweg", "Gehweg", "Asphalt"],
            "Löcher, Risse und Absenkungen auf Fahrbahn, Rad- oder Gehweg.",
            vec![
                a("groesse", "Wie groß ist der Schaden?", Datatype::Singlevaluelist, true, 1, "", list(&[("klein", "kleiner als ein Teller"), ("mittel", "etwa so groß wie ein Autoreifen"), ("gross", "größer als ein Autoreifen")])),
                a("wo", "Wo genau?", Datatype::Singlevaluelist, false, 2, "", list(&[("fahrbahn", "Fahrbahn"), ("radweg", "Radweg"), ("gehweg", "Gehweg")])),
            ],
            Publication::Immediate,
            14,
        ),
        c(
            "beleuchtung",
            "Straßenbeleuchtung defekt",
            "Straße und Verkehr",
            &["Laterne", "Licht", "Beleuchtung"],
            "Eine Straßenlaterne ist aus, flackert oder leuchtet am Tag.",
            vec![
                a("mast", "Nummer am Mast (wenn lesbar)", Datatype::String, false, 1, "steht meist auf einem Schild am Mast", vec![]),
                a("fehler", "Was ist zu sehen?", Datatype::Multivaluelist, true, 2, "", list(&[("aus", "leuchtet nicht"), ("flackert", "flackert"), ("tag", "leuchtet am Tag")])),
            ],
            Publication::Immediate,
            10,
        ),
        c(
            "muell",
            "Illegale Müllablagerung",
            "Sauberkeit",
            &["Müll", "Sperrmüll", "Ablagerung"],
            "Abgestellter Sperrmüll, Säcke, Bauschutt oder Reifen im öffentlichen Raum.",
            vec![a("menge", "Geschätzte Menge in Kubikmetern", Datatype::Number, false, 1, "Zahl, zum Beispiel 0,5", vec![])],
            Publication::Moderated,
            7,
        ),
        c("graffiti", "Graffiti", "Sauberkeit", &["Schmiererei", "Graffiti"], "Graffiti an öffentlichen Gebäuden, Brücken oder Schildern.", vec![], Publication::Moderated, 30),
        c(
            "spielplatz",
            "Spielplatz beschädigt",
            "Grün und Spielplätze",
            &["Spielplatz", "Spielgerät", "Schaukel"],
            "Beschädigte oder gefährliche Spielgeräte.",
            vec![
                a("geraet", "Welches Spielgerät?", Datatype::Text, false, 1, "", vec![]),
                a("seit", "Seit wann ist der Schaden zu sehen?", Datatype::Datetime, false, 2, "Datum, zum Beispiel 2026-12-01", vec![]),
            ],
            Publication::Moderated,
            5,
        ),
        c("baum", "Baum oder Grünfläche", "Grün und Spielplätze", &["Baum", "Ast", "Wiese", "Hecke"], "Abgebrochene Äste, umgestürzte Bäume, verwilderte Grünflächen.", vec![], Publication::Immediate, 21),
    ]
}

/// A small deterministic generator (the demo is the same on every start).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 11) as f64) / ((1u64 << 53) as f64)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[((self.next() * items.len() as f64) as usize).min(items.len() - 1)]
    }
}

const DESCRIPTIONS: &[(&str, &str)] = &[
    ("schlagloch", "Tiefes Schlagloch am Fahrbahnrand, Radfahrer müssen ausweichen."),
    ("schlagloch", "Mehrere Risse und eine Absenkung vor der Einfahrt."),
    ("beleuchtung", "Die Laterne vor dem Haus ist seit Tagen dunkel."),
    ("beleuchtung", "Zwei Leuchten flackern abends stark."),
    ("muell", "Sperrmüll (Sofa, Matratze) am Straßenrand abgestellt."),
    ("muell", "Mehrere Müllsäcke neben dem Glascontainer."),
    ("graffiti", "Großflächiges Graffiti an der Unterführung."),
    ("spielplatz", "Die Kette der Schaukel ist gerissen."),
    ("baum", "Großer Ast hängt abgebrochen über dem Gehweg."),
    ("baum", "Die Wiese am Spielplatz wurde lange nicht gemäht."),
];

/// Sets up the Mängelmelder of Leipzig and Halle with `reports` synthetic reports spread
/// over both; returns what `demo-tokens.json` says about it.
pub async fn seed(store: &DynStore, reports: usize) -> Result<Open311Demo, String> {
    // The operator sets the demo up (Halle has no service admin of its own in the demo).
    let actor = Actor { id: UserId::parse("betrieb").ok_or("demo id")?, role: Role::Operator };
    let mut keys = Vec::new();
    for city in [&LEIPZIG, &HALLE] {
        let authority = AuthorityId::parse(city.id).ok_or("demo authority id")?;
        let admin = ReportAdmin::for_authority(store.clone(), authority.clone(), actor.clone());
        let e = |e: amtsweg_app::reports::ReportError| format!("{}: {e}", city.id);
        for (id, name) in city.departments {
            admin.put_department(id, name).await.map_err(e)?;
        }
        for category in categories(&authority) {
            admin.put_category(category).await.map_err(e)?;
        }
        let whole = admin.import_areas(&city.boundary(), None, &format!("{}-stadtgebiet", city.id)).await.map_err(e)?;
        let districts = admin.import_areas(&city.districts(), Some("name"), &format!("{}-bezirk", city.id)).await.map_err(e)?;
        let [north, south, green, cleaning] = city.departments.map(|(id, _)| id);
        for category in ["beleuchtung", "baum", "spielplatz", "muell", "graffiti"] {
            let department = match category {
                "baum" | "spielplatz" => green,
                "muell" | "graffiti" => cleaning,
                _ => north,
            };
            admin.assign(category, &whole[0].id, department).await.map_err(e)?;
        }
        // Roads are handled by district: the northern half by one team, the southern by another.
        admin.assign("schlagloch", &whole[0].id, north).await.map_err(e)?;
        for (area, (_, _, from, to)) in districts.iter().skip(1).zip(city.districts) {
            let middle = (from + to) / 2.0;
            let team = if middle.rem_euclid(360.0) > 90.0 && middle.rem_euclid(360.0) < 270.0 { south } else { north };
            admin.assign("schlagloch", &area.id, team).await.map_err(e)?;
        }
        admin.assign("schlagloch", &districts[0].id, north).await.map_err(e)?;
        admin.import_addresses(&city.addresses()).await.map_err(e)?;
        keys.push(admin.issue_key("Anbindung FixMyStreet (Demo)").await.map_err(e)?.1);
    }
    synthetic_reports(store, reports).await?;
    Ok(Open311Demo { api_key: keys[0].clone(), jurisdiction_id: "leipzig".into(), api_key_halle: keys[1].clone(), path: "/open311/v2/".into() })
}

/// Reports spread over the last four months, most of them worked on.
async fn synthetic_reports(store: &DynStore, count: usize) -> Result<(), String> {
    let reports = Reports::new(store.clone(), "");
    let map: Map = reports.map().await.map_err(|e| e.to_string())?;
    let mut rng = Lcg(20_261_207);
    let now = OffsetDateTime::now_utc();
    let e = |e: amtsweg_store::StoreError| e.to_string();
    for n in 0..count {
        let city = if n % 3 == 2 { &HALLE } else { &LEIPZIG };
        let authority = AuthorityId::parse(city.id).ok_or("demo authority id")?;
        let (category, text) = *rng.pick(DESCRIPTIONS);
        // A point near a random street of the city, so that reports cluster as real ones do.
        let (_, postcode, first, last, _) = *rng.pick(city.streets);
        let t = rng.next();
        let lat = first.0 + (last.0 - first.0) * t + (rng.next() - 0.5) * 0.002;
        let lon = first.1 + (last.1 - first.1) * t + (rng.next() - 0.5) * 0.003;
        let point = amtsweg_places::point(lat, lon).ok_or("demo point")?;
        let Some(route) = map.route(&authority, category, point) else { continue };
        let age = Duration::minutes((rng.next() * 120.0 * 24.0 * 60.0) as i64);
        let created = now - age;
        let answers: BTreeMap<String, Vec<String>> = match category {
            "schlagloch" => BTreeMap::from([("groesse".to_owned(), vec![rng.pick(&["klein", "mittel", "gross"]).to_string()])]),
            "beleuchtung" => BTreeMap::from([("fehler".to_owned(), vec![rng.pick(&["aus", "flackert", "tag"]).to_string()])]),
            _ => BTreeMap::new(),
        };
        let report = NewReport {
            authority_id: authority.clone(),
            category: category.into(),
            department_id: route.department_id,
            area_id: route.area_id,
            location: Location { lat, lon, address: None, address_id: None, postcode: Some(postcode.into()) },
            description: text.into(),
            answers,
            published: true,
            deadline_at: created + Duration::days(14),
            token: format!("{:032x}", (rng.next() * 1e18) as u128 ^ (n as u128) << 64),
            source: "portal".into(),
            // Synthetic reporters: none of them real, and most anonymous.
            reporter: if n % 4 == 0 { Reporter { email: Some(format!("melder{n}@example.org")), ..Default::default() } } else { Reporter::default() },
            photos: vec![],
            photo_files: vec![],
        };
        let stored = store.create_report(&report, None, created).await.map_err(e)?;
        let roll = rng.next();
        let steps: &[(ReportStatus, &str)] = if age > Duration::days(30) && roll < 0.7 {
            &[(ReportStatus::InProgress, "Der Auftrag ist erteilt."), (ReportStatus::Fixed, "Der Schaden ist behoben. Vielen Dank für Ihre Meldung.")]
        } else if roll < 0.3 {
            &[(ReportStatus::InProgress, "Wir kümmern uns darum.")]
        } else if roll < 0.4 {
            &[(ReportStatus::Scheduled, "Die Reparatur ist für die nächsten Wochen eingeplant.")]
        } else {
            &[]
        };
        for (i, (status, note)) in steps.iter().enumerate() {
            let at = (created + Duration::hours(20 * (i as i64 + 1))).min(now);
            let change = ReportChange {
                authority: &authority,
                report: stored.id,
                status: *status,
                note,
                internal: false,
                public_text: None,
                duplicate_of: None,
                forwarded_to: None,
                external: None,
                at,
            };
            store.change_report(&change, None).await.map_err(e)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn districts_tile_the_city_without_overlap() {
        for city in [&LEIPZIG, &HALLE] {
            let whole = amtsweg_places::read_geojson(&city.boundary(), None).unwrap();
            let districts = amtsweg_places::read_geojson(&city.districts(), Some("name")).unwrap();
            assert_eq!(districts.len(), city.districts.len() + 1);
            let total: f64 = districts.iter().map(|d| d.shape.area_m2()).sum();
            let city_area = whole[0].shape.area_m2();
            assert!((total - city_area).abs() / city_area < 1e-6, "{}: {total} vs {city_area}", city.id);
            for (i, a) in districts.iter().enumerate() {
                assert_eq!(a.shape.relation(&whole[0].shape), amtsweg_places::Relation::Inside, "{} {}", city.id, a.name);
                for b in &districts[i + 1..] {
                    assert_eq!(a.shape.relation(&b.shape), amtsweg_places::Relation::Apart, "{} {} / {}", city.id, a.name, b.name);
                }
            }
        }
    }

    #[test]
    fn the_address_lists_read() {
        for city in [&LEIPZIG, &HALLE] {
            let list = amtsweg_places::AddressList::parse(&city.addresses()).unwrap();
            assert!(list.addresses.len() > 300, "{}", list.addresses.len());
        }
    }
}
