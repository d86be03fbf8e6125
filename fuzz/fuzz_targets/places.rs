//! The Mängelmelder's imports from outside, on arbitrary input: GeoJSON areas and the address
//! list. No panic; an accepted area is valid, measurable and reads back from its stored form
//! to the same shape; an accepted address lies in WGS 84 and its search key is normalised.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(areas) = amtsweg_places::read_geojson(text, None) {
        assert!(!areas.is_empty() && areas.len() <= amtsweg_places::MAX_AREAS);
        for a in &areas {
            let m2 = a.shape.area_m2();
            assert!(m2.is_finite() && m2 >= 0.0, "{m2}");
            let stored = a.shape.to_geojson();
            let again = amtsweg_places::Shape::from_geojson(&stored).expect("a stored area reads back");
            assert_eq!(again.relation(&a.shape), amtsweg_places::Relation::Inside);
            let (w, s, e, n) = a.shape.bounds();
            assert!(w <= e && s <= n);
            if let Some(p) = amtsweg_places::point((s + n) / 2.0, (w + e) / 2.0) {
                let d = a.shape.distance_m(p);
                assert!(d == 0.0 || d.is_finite());
            }
        }
    }
    if let Ok(list) = amtsweg_places::AddressList::parse(text) {
        for a in &list.addresses {
            assert!(amtsweg_places::point(a.lat, a.lon).is_some());
            let key = a.key();
            assert_eq!(amtsweg_places::normalize(&key), key);
        }
    }
    let key = amtsweg_places::normalize(text);
    assert_eq!(amtsweg_places::normalize(&key), key, "normalising is idempotent");
});
