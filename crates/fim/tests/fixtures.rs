//! The real files in `../shared/fixtures/fim/`: the parser cases parse or fail exactly as the
//! fixtures README says (element, line, column), and the real schemas parse with their counts.

use amtsweg_fim::codelist::{CodeLists, parse_genericode};
use amtsweg_fim::model::{DataType, Element, FieldKind};
use amtsweg_fim::{XdfVersion, parse};
use std::path::PathBuf;

fn fixtures() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/fim");
    assert!(dir.is_dir(), "the shared fixtures are missing: expected {} (clone ../shared beside the project)", dir.display());
    dir
}

fn read(path: &str) -> String {
    std::fs::read_to_string(fixtures().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn v2_cases_that_parse() {
    for case in ["minimal", "simple", "select", "label", "rule", "data-field-rule", "data-group-rule"] {
        let m = parse(&read(&format!("parser-cases/v2/{case}.xml"))).unwrap_or_else(|e| panic!("{case}: {e}"));
        assert_eq!(m.version, XdfVersion::V2, "{case}");
    }
    let select = parse(&read("parser-cases/v2/select.xml")).unwrap();
    let f = select.schema.field_uses()[0];
    assert_eq!(f.kind, FieldKind::Select);
    assert_eq!(f.code_list.as_ref().unwrap().canonical_version_uri, "urn:de:example_1");
    let label = parse(&read("parser-cases/v2/label.xml")).unwrap();
    assert!(label.schema.field_uses().iter().any(|f| f.kind == FieldKind::Label));
    let rule = |m: &amtsweg_fim::Message| m.schema.all_rules().iter().map(|r| (r.id.clone(), r.version.clone())).collect::<Vec<_>>();
    let expected = vec![("R60000037".to_string(), "1.2".to_string())];
    let schema_rule = parse(&read("parser-cases/v2/rule.xml")).unwrap();
    assert_eq!(rule(&schema_rule), expected);
    assert_eq!(schema_rule.schema.rules.len(), 1, "attached to the schema");
    let field_rule = parse(&read("parser-cases/v2/data-field-rule.xml")).unwrap();
    assert_eq!(rule(&field_rule), expected);
    assert_eq!(field_rule.schema.field_uses().iter().map(|f| f.rules.len()).sum::<usize>(), 1, "attached to a field");
    let group_rule = parse(&read("parser-cases/v2/data-group-rule.xml")).unwrap();
    assert_eq!(rule(&group_rule), expected);
    assert_eq!(group_rule.schema.group_uses().iter().map(|g| g.rules.len()).sum::<usize>(), 1, "attached to a group");
}

fn fails(path: &str) -> amtsweg_fim::ParseError {
    match parse(&read(path)) {
        Ok(_) => panic!("{path} must be rejected"),
        Err(e) => e,
    }
}

#[test]
fn cases_that_fail_where_the_readme_says() {
    for (path, element, line, column) in [
        ("parser-cases/v2/duplicate-required-value.xml", "xdf:name", 13, 33),
        ("parser-cases/v2/duplicate-optional-value.xml", "xdf:beschreibung", 15, 45),
        ("parser-cases/v3/empty-id-node.xml", "xdf:id", 10, 29),
        ("parser-cases/v3/missing-id-node.xml", "xdf:identifikation", 11, 29),
        ("parser-cases/v3/duplicate-id-node.xml", "xdf:id", 11, 33),
        ("parser-cases/v3/unexpected-node.xml", "xdf:unknown", 11, 25),
        ("parser-cases/v3/invalid-freigabestatus.xml", "xdf:freigabestatus", 18, 27),
    ] {
        let e = fails(path);
        assert_eq!((e.element.as_deref(), e.location.line, e.location.column), (Some(element), line, column), "{path}: {e}");
        assert!(!e.message.is_empty());
    }
    let e = fails("parser-cases/v3/invalid-freigabestatus.xml");
    assert!(e.message.contains("10"), "{e}");
    for path in ["parser-cases/v2/unknown-namespace.xml", "parser-cases/v3/unknown-namespace.xml"] {
        let e = fails(path);
        assert!(e.message.contains("urn:xoev-de:fim:standard:xdatenfelder_unknown"), "{path}: {e}");
        assert!(e.message.contains("Namensraum"), "{path}: {e}");
    }
}

#[test]
fn v3_cases_that_parse() {
    let simple = parse(&read("parser-cases/v3/simple.xml")).unwrap();
    assert_eq!(simple.version, XdfVersion::V3);
    assert!(simple.is_group_message);
    let Element::Group(root) = &simple.schema.items[0].element else { panic!("root is a group") };
    assert_eq!((root.id.as_str(), root.version.as_str()), ("G60000000088", "1.2.0"));

    let input = parse(&read("parser-cases/v3/input.xml")).unwrap();
    let f = input.schema.field_uses().into_iter().find(|f| f.id == "F60000000243").unwrap();
    assert_eq!(f.constraints.min_length, Some(0));
    assert_eq!(f.constraints.max_length, Some(1));
    assert_eq!(f.constraints.min_value.as_deref(), Some("0"));
    assert_eq!(f.constraints.max_value.as_deref(), Some("1"));
    assert_eq!(f.constraints.pattern.as_deref(), Some("abc"));
    assert_eq!(f.constraints.max_size, Some(10));
    assert_eq!(f.constraints.media_types, ["application/json"]);
    assert_eq!(f.content, "Some Content");
}

#[test]
fn the_xdf3_sample_parses_and_xdf1_is_refused_by_name() {
    let m = parse(&read("xdf3/xdf3-sample.xml")).unwrap();
    assert_eq!(m.version, XdfVersion::V3);
    assert!(!m.schema.field_uses().is_empty());
    let e = fails("xdf1/S00000036-WaBeKa-xdf1.xml");
    assert!(e.message.contains("XDatenfelder 1"), "{e}");
    assert_eq!(e.location.line, 2);
}

#[test]
fn the_real_xdf2_schemas_parse_with_their_counts() {
    let asbest = parse(&read("xdf2/S00000186v1.0_xdf2/S00000186v1.0_xdf2.xml")).unwrap();
    assert_eq!(asbest.schema.id, "S00000186");
    assert_eq!(asbest.schema.field_uses().len(), 156);
    assert_eq!(asbest.schema.group_uses().len(), 42);
    assert_eq!(asbest.schema.all_rules().len(), 38);
    assert!(asbest.schema.all_rules().iter().all(|r| r.script.trim().is_empty() || r.script.contains("function script()")));
    assert!(asbest.schema.field_uses().iter().any(|f| f.constraints.pattern.as_deref().is_some_and(|p| p.contains(r"\p{L}"))));
    let muschg = parse(&read("xdf2/S00000094V1.0_xdf2/S00000094V1.0_xdf2.xml")).unwrap();
    assert_eq!(muschg.schema.field_uses().len(), 44);
    let blue = parse(&read("xdf2/S00000121-BlaueKarte.xml")).unwrap();
    assert_eq!(blue.schema.status, "inVorbereitung");
    assert!(blue.schema.field_uses().iter().any(|f| f.data_type == DataType::Date));
}

#[test]
fn code_lists_resolve_by_canonical_version_uri() {
    for (schema, dir) in [("S00000186v1.0_xdf2/S00000186v1.0_xdf2.xml", "S00000186v1.0_xdf2"), ("S00000094V1.0_xdf2/S00000094V1.0_xdf2.xml", "S00000094V1.0_xdf2")] {
        let m = parse(&read(&format!("xdf2/{schema}"))).unwrap();
        let mut lists = CodeLists::default();
        for entry in std::fs::read_dir(fixtures().join("xdf2").join(dir)).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            if text.contains("genericode") && !text.contains("xdatenfelder") {
                lists.add(parse_genericode(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display())));
            }
        }
        let selects: Vec<_> = m.schema.field_uses().into_iter().filter(|f| f.kind == FieldKind::Select).collect();
        assert!(!selects.is_empty());
        for f in selects {
            let reference = f.code_list.as_ref().unwrap_or_else(|| panic!("{} has no code list", f.id));
            let list = lists.resolve(reference).unwrap_or_else(|| panic!("{}: {} not found", f.id, reference.canonical_version_uri));
            assert!(!list.entries.is_empty());
        }
    }
}
