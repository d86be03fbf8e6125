//! The Mängelmelder set up at the console (`amtsweg maengel …`) on the demo world's database:
//! a department, a category from JSON, districts from GeoJSON, assignments, an address list and
//! an Open311 key. Bad input (malformed GeoJSON, a polygon that crosses itself, an overlapping
//! assignment, a broken address list, a category with an empty choice list) exits 1 with a
//! German message and stores nothing.

use std::path::{Path, PathBuf};
use std::process::Command;

struct Console {
    db: String,
    dir: PathBuf,
}

impl Console {
    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_amtsweg"))
            .args(args)
            .env("AMTSWEG_DATABASE_URL", &self.db)
            .env("AMTSWEG_DATA_DIR", &self.dir)
            .env("AMTSWEG_LOG", "warn")
            .output()
            .unwrap();
        (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
    }

    fn json(&self, args: &[&str]) -> serde_json::Value {
        let (code, out, err) = self.run(args);
        assert_eq!(code, 0, "{args:?}: {out}{err}");
        serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{args:?} printed no JSON ({e}): {out}"))
    }

    fn refused(&self, args: &[&str], expected: &str) {
        let (code, out, err) = self.run(args);
        assert_eq!(code, 1, "{args:?} must be refused: {out}{err}");
        assert!(err.contains(expected), "{args:?}: expected „{expected}“ in {err}");
    }
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn square(name: &str, west: f64, south: f64, size: f64) -> String {
    let (e, n) = (west + size, south + size);
    format!(r#"{{"type":"Feature","properties":{{"name":"{name}"}},"geometry":{{"type":"Polygon","coordinates":[[[{west},{south}],[{e},{south}],[{e},{n}],[{west},{n}],[{west},{south}]]]}}}}"#)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_authority_sets_up_its_maengelmelder_and_bad_input_changes_nothing() {
    let dir = std::env::temp_dir().join(format!("amtsweg-maengel-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = format!("sqlite:{}", dir.join("amtsweg.db").display());
    let store = amtsweg_store::connect(&db).await.unwrap();
    store.migrate().await.unwrap();
    amtsweg_demo::seed(&store).await.unwrap();
    let c = Console { db, dir: dir.clone() };
    let a = ["--authority", "erfurt"];

    c.json(&[&["maengel", "department", "--id", "erfurt-tiefbau", "--name", "Tiefbau- und Verkehrsamt"], &a[..]].concat());
    let category = write(
        &dir,
        "schlagloch.json",
        r#"{"code":"schlagloch","name":"Schlagloch","group":"Straße","attributes":[{"code":"groesse","description":"Wie groß?","datatype":"singlevaluelist","required":true,"order":1,"values":[{"key":"klein","name":"klein"}]}],"publication":"immediate","deadline_days":10}"#,
    );
    let made = c.json(&[&["maengel", "category"], &a[..], &[category.as_str()]].concat());
    assert_eq!(made["questions"], 1);

    // Bad GeoJSON of every kind: refused in German, nothing stored.
    let audit_before = store.audit_count().await.unwrap();
    let malformed = write(&dir, "kaputt.geojson", r#"{"type":"FeatureCollection","features":[{"type":"Feature""#);
    c.refused(&[&["maengel", "areas", "--prefix", "ef"], &a[..], &[malformed.as_str()]].concat(), "kein gültiges GeoJSON");
    let bow_tie = write(
        &dir,
        "schleife.geojson",
        r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"Schleife"},"geometry":{"type":"Polygon","coordinates":[[[11.0,50.9],[11.1,51.0],[11.1,50.9],[11.0,51.0],[11.0,50.9]]]}}]}"#,
    );
    c.refused(&[&["maengel", "areas", "--prefix", "ef"], &a[..], &[bow_tie.as_str()]].concat(), "kreuzt sich selbst");
    let point = write(&dir, "punkt.geojson", r#"{"type":"Feature","properties":{"name":"P"},"geometry":{"type":"Point","coordinates":[11.0,50.9]}}"#);
    c.refused(&[&["maengel", "areas", "--prefix", "ef"], &a[..], &[point.as_str()]].concat(), "keine Fläche");
    let unnamed = write(&dir, "ohne-name.geojson", &format!(r#"{{"type":"FeatureCollection","features":[{}]}}"#, square("x", 11.0, 50.9, 0.1).replace(r#""name":"x""#, r#""bezirk":"x""#)));
    c.refused(&[&["maengel", "areas", "--prefix", "ef"], &a[..], &[unnamed.as_str()]].concat(), "Der Name fehlt");
    let bad_category = write(&dir, "leer.json", r#"{"code":"laterne","name":"Laterne","attributes":[{"code":"a","description":"Welche?","datatype":"singlevaluelist","order":1,"values":[]}]}"#);
    c.refused(&[&["maengel", "category"], &a[..], &[bad_category.as_str()]].concat(), "Auswahlliste");
    let bad_addresses = write(&dir, "adressen-kaputt.csv", "strasse;hausnummer;lat;lon\nAnger;1;50,97;11,03\nAnger;2;Nord;11,03\n");
    c.refused(&[&["maengel", "addresses"], &a[..], &[bad_addresses.as_str()]].concat(), "Zeile 3");
    assert_eq!(store.audit_count().await.unwrap(), audit_before, "nothing of a refused import is recorded");
    let shown = c.json(&[&["maengel", "show"], &a[..]].concat());
    assert_eq!(shown["areas"], serde_json::json!([]), "nothing of a refused import is stored");

    // Districts side by side, and a city boundary around them.
    let districts = write(
        &dir,
        "bezirke.geojson",
        &format!(r#"{{"type":"FeatureCollection","features":[{},{}]}}"#, square("West", 11.0, 50.9, 0.1), square("Ost", 11.1, 50.9, 0.1)),
    );
    let areas = c.json(&[&["maengel", "areas", "--prefix", "ef-bezirk"], &a[..], &[districts.as_str()]].concat());
    assert_eq!(areas.as_array().unwrap().len(), 2);
    let city = write(&dir, "stadt.geojson", &format!(r#"{{"type":"FeatureCollection","features":[{}]}}"#, square("Stadt", 10.95, 50.85, 0.3)));
    c.json(&[&["maengel", "areas", "--prefix", "ef-stadt"], &a[..], &[city.as_str()]].concat());
    let across = write(&dir, "quer.geojson", &format!(r#"{{"type":"FeatureCollection","features":[{}]}}"#, square("Quer", 11.05, 50.95, 0.1)));
    c.json(&[&["maengel", "areas", "--prefix", "ef-quer"], &a[..], &[across.as_str()]].concat());

    for area in ["ef-bezirk-1", "ef-bezirk-2", "ef-stadt-1"] {
        c.json(&[&["maengel", "assign", "--category", "schlagloch", "--area", area, "--department", "erfurt-tiefbau"], &a[..]].concat());
    }
    // Overlapping without one lying inside the other: the rule could not choose.
    c.refused(&[&["maengel", "assign", "--category", "schlagloch", "--area", "ef-quer-1", "--department", "erfurt-tiefbau"], &a[..]].concat(), "überschneidet sich");
    c.refused(&[&["maengel", "assign", "--category", "schlagloch", "--area", "ef-bezirk-1", "--department", "erfurt-tiefbau"], &a[..]].concat(), "schon ein Team");
    c.refused(&[&["maengel", "assign", "--category", "gibt-es-nicht", "--area", "ef-bezirk-1", "--department", "erfurt-tiefbau"], &a[..]].concat(), "gibt es nicht");

    let addresses = write(
        &dir,
        "adressen.csv",
        "Strasse;Hausnummer;PLZ;Ort;ARS;lat;lon\nAnger;1;99084;Erfurt;160510000000;50,9778;11,0330\nAnger;2;99084;Erfurt;160510000000;50,9779;11,0335\nDorfstraße;1;99100;Dorf;166000000000;51,3000;10,7000\n",
    );
    assert_eq!(c.json(&[&["maengel", "addresses"], &a[..], &[addresses.as_str()]].concat())["addresses"], 3);

    // A whole region by its key, without a drawing: decides where no drawn area does.
    c.json(&[&["maengel", "department", "--id", "erfurt-land", "--name", "Straßenmeisterei"], &a[..]].concat());
    c.refused(&[&["maengel", "region", "--id", "ef-land", "--name", "Thüringen", "--ars", "1606"], &a[..]].concat(), "Regionalschlüssel");
    c.refused(&[&["maengel", "region", "--id", "ef-land", "--name", "Thüringen", "--ars", "990000000000"], &a[..]].concat(), "Regionalschlüssel");
    let region = c.json(&[&["maengel", "region", "--id", "ef-land", "--name", "Thüringen", "--ars", "16"], &a[..]].concat());
    assert_eq!(region["ars"], "160000000000");
    c.json(&[&["maengel", "region", "--id", "ef-land-2", "--name", "Thüringen noch einmal", "--ars", "160000000000"], &a[..]].concat());
    c.json(&[&["maengel", "assign", "--category", "schlagloch", "--area", "ef-land", "--department", "erfurt-land"], &a[..]].concat());
    c.refused(&[&["maengel", "assign", "--category", "schlagloch", "--area", "ef-land-2", "--department", "erfurt-land"], &a[..]].concat(), "überschneidet sich");
    let reports = amtsweg_app::reports::Reports::new(store.clone(), "");
    let erfurt = amtsweg_domain::AuthorityId::parse("erfurt").unwrap();
    let draft = |place: amtsweg_app::reports::PlaceInput| amtsweg_app::reports::Draft {
        authority: Some(erfurt.clone()),
        category: "schlagloch".into(),
        place,
        description: "Loch".into(),
        answers: [("groesse".to_owned(), vec!["klein".to_owned()])].into(),
        source: "portal".into(),
        ..Default::default()
    };
    let by_address = reports.submit(draft(amtsweg_app::reports::PlaceInput { address: Some("Dorfstraße 1".into()), ..Default::default() }), None).await.unwrap();
    assert_eq!((by_address.area_id.as_str(), by_address.department_id.as_str()), ("ef-land", "erfurt-land"));
    let near = reports.submit(draft(amtsweg_app::reports::PlaceInput { lat: Some(51.3002), lon: Some(10.7003), ..Default::default() }), None).await.unwrap();
    assert_eq!(near.area_id, "ef-land", "30 m from the house: its key counts");
    let far = reports.submit(draft(amtsweg_app::reports::PlaceInput { lat: Some(51.31), lon: Some(10.7), ..Default::default() }), None).await;
    assert!(matches!(far, Err(amtsweg_app::reports::ReportError::Invalid("lat", _))), "1 km away: no key, no area");
    let in_town = reports.submit(draft(amtsweg_app::reports::PlaceInput { address: Some("Anger 1".into()), ..Default::default() }), None).await.unwrap();
    assert_eq!(in_town.area_id, "ef-bezirk-1", "a drawn area comes before the region");
    let key = c.json(&[&["maengel", "key", "--name", "Bauhof-Software"], &a[..]].concat());
    assert!(key["api_key"].as_str().unwrap().starts_with("o311_"));

    let shown = c.json(&[&["maengel", "show"], &a[..]].concat());
    assert_eq!(shown["assignments"].as_array().unwrap().len(), 4);
    assert_eq!(shown["keys"][0]["name"], "Bauhof-Software");
    assert!(shown.to_string().find(key["api_key"].as_str().unwrap()).is_none(), "the key is shown once, never again");
    c.refused(&["maengel", "show", "--authority", "atlantis"], "gibt es nicht");
    let key_id = shown["keys"][0]["id"].as_str().unwrap().to_owned();
    c.json(&[&["maengel", "key-revoke"], &a[..], &[key_id.as_str()]].concat());
    let hash = amtsweg_app::accounts::hash_secret(key["api_key"].as_str().unwrap());
    assert!(store.open311_key(&hash).await.unwrap().is_none(), "a revoked key opens nothing");
    c.refused(&[&["maengel", "key-revoke"], &a[..], &[key_id.as_str()]].concat(), "gibt es nicht");
    let _ = std::fs::remove_dir_all(&dir);
}
