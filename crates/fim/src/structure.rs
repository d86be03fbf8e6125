//! The structure of XDatenfelder 2.0 and 3.0.0 messages: which elements may stand where, how
//! often, which are required, which code values exist; and the model built from them.
//!
//! Duplicates: in XDF 2 a single element given twice is an error even when both are empty. XDF 3
//! exports use empty elements as placeholders, so there an empty occurrence may be followed by
//! a filled one; two filled ones are an error.

use crate::error::ParseError;
use crate::model::*;
use crate::reader::{Node, Tree};
use serde_json::Value as Json;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Occ {
    /// exactly once
    One,
    /// at most once
    Opt,
    /// any number
    Many,
}
use Occ::*;

type Spec = &'static [(&'static str, Occ)];

const V2_OBJECT: Spec = &[
    ("identifikation", One),
    ("name", One),
    ("bezeichnungEingabe", Opt),
    ("bezeichnungAusgabe", Opt),
    ("beschreibung", Opt),
    ("definition", Opt),
    ("bezug", Opt),
    ("status", Opt),
    ("gueltigAb", Opt),
    ("gueltigBis", Opt),
    ("fachlicherErsteller", Opt),
    ("versionshinweis", Opt),
    ("freigabedatum", Opt),
    ("veroeffentlichungsdatum", Opt),
];
const V2_ELEMENT: Spec = &[("schemaelementart", Opt), ("hilfetextEingabe", Opt), ("hilfetextAusgabe", Opt)];
const V2_FIELD: Spec = &[
    ("feldart", One),
    ("datentyp", One),
    ("praezisierung", Opt),
    ("inhalt", Opt),
    ("codelisteReferenz", Opt),
    ("regel", Many),
];
const V2_GROUP: Spec = &[("regel", Many), ("struktur", Many), ("art", Opt)];
const V2_SCHEMA: Spec = &[
    ("hilfetext", Opt),
    ("ableitungsmodifikationenStruktur", Opt),
    ("ableitungsmodifikationenRepraesentation", Opt),
    ("regel", Many),
    ("struktur", Many),
];
const V2_RULE: Spec = &[("script", Opt)];

const V3_BASE: Spec = &[
    ("identifikation", One),
    ("name", One),
    ("beschreibung", Opt),
    ("definition", Opt),
    ("bezug", Many),
    ("freigabestatus", One),
    ("statusGesetztAm", Opt),
    ("statusGesetztDurch", Opt),
    ("gueltigAb", Opt),
    ("gueltigBis", Opt),
    ("versionshinweis", Opt),
    ("veroeffentlichungsdatum", Opt),
    ("letzteAenderung", Opt),
    ("relation", Many),
    ("stichwort", Many),
];
const V3_ELEMENT: Spec = &[
    ("bezeichnungEingabe", Opt),
    ("bezeichnungAusgabe", Opt),
    ("schemaelementart", Opt),
    ("hilfetextEingabe", Opt),
    ("hilfetextAusgabe", Opt),
];
const V3_FIELD: Spec = &[
    ("feldart", One),
    ("datentyp", One),
    ("praezisierung", Opt),
    ("inhalt", Opt),
    ("vorbefuellung", Opt),
    ("werte", Opt),
    ("codelisteReferenz", Opt),
    ("codeKey", Opt),
    ("nameKey", Opt),
    ("helpKey", Opt),
    ("maxSize", Opt),
    ("mediaType", Many),
    ("regel", Many),
];
const V3_GROUP: Spec = &[("art", Opt), ("regel", Many), ("struktur", Many)];
const V3_SCHEMA: Spec = &[
    ("bezeichnung", Opt),
    ("hilfetext", Opt),
    ("ableitungsmodifikationenStruktur", Opt),
    ("ableitungsmodifikationenRepraesentation", Opt),
    ("dokumentsteckbrief", Opt),
    ("regel", Many),
    ("struktur", Many),
];
const V3_RULE: Spec = &[
    ("identifikation", One),
    ("name", One),
    ("beschreibung", Opt),
    ("freitextRegel", Opt),
    ("bezug", Many),
    ("stichwort", Many),
    ("fachlicherErsteller", Opt),
    ("letzteAenderung", Opt),
    ("typ", Opt),
    ("param", Many),
    ("ziel", Many),
    ("skript", Opt),
    ("fehler", Many),
];

const HEADER: Spec = &[("nachrichtID", Opt), ("erstellungszeitpunkt", Opt), ("referenzID", Opt)];
const IDENTIFICATION: Spec = &[("id", One), ("version", Opt)];
const STRUCTURE: Spec = &[("anzahl", One), ("bezug", Many), ("enthaelt", One)];
const CONTAINS: Spec = &[("datenfeld", Opt), ("datenfeldgruppe", Opt)];
const CODE: Spec = &[("code", One)];
const V2_CODELIST_REF: Spec = &[("identifikation", Opt), ("genericodeIdentification", Opt)];
const GENERICODE_ID: Spec = &[("canonicalIdentification", Opt), ("version", Opt), ("canonicalVersionUri", Opt)];
const V3_CODELIST_REF: Spec = &[("canonicalIdentification", Opt), ("version", Opt), ("canonicalVersionUri", Opt)];
const V3_VALUES: Spec = &[("wert", Many)];
const V3_VALUE: Spec = &[("code", One), ("name", Opt), ("hilfe", Opt)];
const V3_RELATION: Spec = &[("praedikat", One), ("objekt", One)];
const ID_VERSION: Spec = &[("id", One), ("version", Opt)];
/// Elements whose content is text only.
const NO_CHILDREN: Spec = &[];

struct Ctx {
    version: XdfVersion,
}

fn err(message: impl Into<String>, node: &Node, at_end: bool) -> ParseError {
    let at = if at_end { node.closed } else { node.opened };
    ParseError::new(message, Some(&node.display()), at)
}

impl Ctx {
    /// Checks the children of `node` against the specs; returns them by name (later empty
    /// placeholders dropped as described in the module comment).
    fn check<'n>(&self, node: &'n Node, specs: &[Spec]) -> Result<Children<'n>, ParseError> {
        let find = |name: &str| specs.iter().flat_map(|s| s.iter()).find(|(n, _)| *n == name).map(|(_, o)| *o);
        let mut seen: Vec<&'n Node> = Vec::new();
        for child in &node.children {
            if child.unqualified && child.name != "code" {
                return Err(err(
                    format!("Das Element <{}> hat keinen Namensraum; erwartet wird ein Element im XDatenfelder-Namensraum.", child.name),
                    child,
                    false,
                ));
            }
            let Some(occ) = find(&child.name) else {
                return Err(err(format!("Unerwartetes Element <{}> in <{}>.", child.display(), node.display()), child, false));
            };
            if occ != Many {
                if let Some(pos) = seen.iter().position(|s| s.name == child.name) {
                    let earlier_empty = seen[pos].is_empty();
                    if self.version == XdfVersion::V2 || !earlier_empty {
                        return Err(err(
                            format!("Das Element <{}> darf in <{}> nur einmal vorkommen.", child.display(), node.display()),
                            child,
                            true,
                        ));
                    }
                    seen.remove(pos);
                }
            }
            seen.push(child);
        }
        for spec in specs {
            for (name, occ) in spec.iter() {
                if *occ == One && !seen.iter().any(|s| s.name == *name) {
                    return Err(err(format!("In <{}> fehlt das Pflichtelement <xdf:{name}>.", node.display()), node, true));
                }
            }
        }
        Ok(Children(seen))
    }

    fn code_of(&self, node: &Node) -> Result<String, ParseError> {
        let c = self.check(node, &[CODE])?;
        Ok(c.text("code"))
    }

    /// A code value that must be one of a known list: an unknown one is reported at the end of
    /// its `<code>`, naming the element that carries it.
    fn checked_code(&self, node: &Node, valid: impl Fn(&str) -> bool, message: impl Fn(&str) -> String) -> Result<String, ParseError> {
        let c = self.check(node, &[CODE])?;
        let code_node = c.get("code").expect("checked");
        let code = code_node.text.trim().to_owned();
        if valid(&code) {
            Ok(code)
        } else {
            Err(ParseError::new(message(&code), Some(&node.display()), code_node.closed))
        }
    }
}

struct Children<'n>(Vec<&'n Node>);

impl<'n> Children<'n> {
    fn get(&self, name: &str) -> Option<&'n Node> {
        self.0.iter().find(|n| n.name == name).copied()
    }
    fn all(&self, name: &'n str) -> impl Iterator<Item = &'n Node> + '_ {
        self.0.iter().filter(move |n| n.name == name).copied()
    }
    fn text(&self, name: &str) -> String {
        self.get(name).map(|n| n.text.trim().to_owned()).unwrap_or_default()
    }
}

pub fn interpret(tree: Tree) -> Result<Message, ParseError> {
    let ctx = Ctx { version: tree.version };
    let root = &tree.root;
    let (is_group_message, body) = match root.name.as_str() {
        "xdatenfelder.stammdatenschema.0102" => (false, "stammdatenschema"),
        "xdatenfelder.datenfeldgruppe.0103" => (true, "datenfeldgruppe"),
        _ => {
            return Err(err(
                format!(
                    "Unbekannte Nachricht <{}>. Unterstützt werden xdatenfelder.stammdatenschema.0102 und xdatenfelder.datenfeldgruppe.0103.",
                    root.display()
                ),
                root,
                false,
            ));
        }
    };
    let spec: Spec = if is_group_message { &[("header", One), ("datenfeldgruppe", One)] } else { &[("header", One), ("stammdatenschema", One)] };
    let children = ctx.check(root, &[spec])?;
    let header = children.get("header").expect("checked");
    let header = ctx.check(header, &[HEADER])?;
    for n in &header.0 {
        ctx.check(n, &[NO_CHILDREN])?;
    }
    let body = children.get(body).expect("checked");
    let schema = if is_group_message {
        let g = ctx.group(body)?;
        Schema {
            id: g.id.clone(),
            version: g.version.clone(),
            name: g.name.clone(),
            label: g.label.clone(),
            description: String::new(),
            help: g.help.clone(),
            legal_basis: g.legal_basis.clone(),
            status: String::new(),
            items: vec![Child { cardinality: Cardinality { min: 1, max: Some(1) }, legal_basis: Vec::new(), element: Element::Group(g) }],
            rules: Vec::new(),
        }
    } else {
        ctx.schema(body)?
    };
    Ok(Message { version: ctx.version, message_id: header.text("nachrichtID"), schema, is_group_message })
}

struct Common {
    id: String,
    version: String,
    name: String,
    label: String,
    description: String,
    help: String,
    legal_basis: Vec<String>,
    status: String,
}

impl Ctx {
    fn v2(&self) -> bool {
        self.version == XdfVersion::V2
    }

    fn identification(&self, node: &Node) -> Result<(String, String), ParseError> {
        let c = self.check(node, &[IDENTIFICATION])?;
        for n in &c.0 {
            self.check(n, &[NO_CHILDREN])?;
        }
        let id_node = c.get("id").expect("checked");
        let id = id_node.text.trim().to_owned();
        if id.is_empty() {
            return Err(err("Die Kennung <xdf:id> darf nicht leer sein.", id_node, true));
        }
        Ok((id, c.text("version")))
    }

    /// What identification, names, texts, legal basis and status every element has.
    fn common(&self, c: &Children) -> Result<Common, ParseError> {
        let (id, version) = self.identification(c.get("identifikation").expect("checked"))?;
        // Text-only children must have no element children.
        for name in [
            "name", "beschreibung", "definition", "bezeichnungEingabe", "bezeichnungAusgabe", "bezeichnung",
            "hilfetextEingabe", "hilfetextAusgabe", "hilfetext", "versionshinweis", "fachlicherErsteller",
            "gueltigAb", "gueltigBis", "freigabedatum", "veroeffentlichungsdatum", "letzteAenderung",
            "statusGesetztAm", "statusGesetztDurch", "inhalt", "anzahl", "codeKey", "nameKey", "helpKey",
            "maxSize", "mediaType", "script", "skript", "freitextRegel", "stichwort",
        ] {
            for n in c.all(name) {
                self.check(n, &[NO_CHILDREN])?;
            }
        }
        let legal_basis: Vec<String> =
            c.all("bezug").map(|n| n.text.trim().to_owned()).filter(|t| !t.is_empty()).collect();
        for n in c.all("bezug") {
            self.check(n, &[NO_CHILDREN])?;
        }
        let status = if self.v2() {
            match c.get("status") {
                Some(n) => self.checked_code(
                    n,
                    |c| ["aktiv", "inaktiv", "inVorbereitung"].contains(&c),
                    |c| format!("Den Status „{c}“ gibt es nicht (aktiv, inaktiv, inVorbereitung)."),
                )?,
                None => String::new(),
            }
        } else {
            self.checked_code(
                c.get("freigabestatus").expect("checked"),
                |c| matches!(c.parse::<u8>(), Ok(1..=9)),
                |c| format!("Den Freigabestatus „{c}“ gibt es nicht (1 bis 9)."),
            )?
        };
        if let Some(n) = c.get("schemaelementart") {
            self.checked_code(n, |c| ["ABS", "HAR", "RNG"].contains(&c), |c| format!("Die Schemaelementart „{c}“ gibt es nicht (ABS, HAR, RNG)."))?;
        }
        for name in ["ableitungsmodifikationenStruktur", "ableitungsmodifikationenRepraesentation", "vorbefuellung", "typ", "art"] {
            if let Some(n) = c.get(name) {
                self.code_of(n)?;
            }
        }
        for n in c.all("relation") {
            let r = self.check(n, &[V3_RELATION])?;
            self.code_of(r.get("praedikat").expect("checked"))?;
            self.check(r.get("objekt").expect("checked"), &[ID_VERSION])?;
        }
        if let Some(n) = c.get("dokumentsteckbrief") {
            self.check(n, &[ID_VERSION])?;
        }
        let name = c.text("name");
        let label = [c.text("bezeichnungEingabe"), c.text("bezeichnung")]
            .into_iter()
            .find(|s| !s.is_empty())
            .unwrap_or_else(|| name.clone());
        let help = [c.text("hilfetextEingabe"), c.text("hilfetext")].into_iter().find(|s| !s.is_empty()).unwrap_or_default();
        Ok(Common { id, version, name, label, description: c.text("beschreibung"), help, legal_basis, status })
    }

    fn schema(&self, node: &Node) -> Result<Schema, ParseError> {
        let c = if self.v2() { self.check(node, &[V2_OBJECT, V2_SCHEMA])? } else { self.check(node, &[V3_BASE, V3_SCHEMA])? };
        let common = self.common(&c)?;
        let rules = c.all("regel").map(|r| self.rule(r)).collect::<Result<Vec<_>, _>>()?;
        let items = c.all("struktur").map(|s| self.structure(s)).collect::<Result<Vec<_>, _>>()?;
        Ok(Schema {
            id: common.id,
            version: common.version,
            name: common.name,
            label: common.label,
            description: common.description,
            help: common.help,
            legal_basis: common.legal_basis,
            status: common.status,
            items,
            rules,
        })
    }

    fn structure(&self, node: &Node) -> Result<Child, ParseError> {
        let c = self.check(node, &[STRUCTURE])?;
        let count = c.get("anzahl").expect("checked");
        self.check(count, &[NO_CHILDREN])?;
        let cardinality = Cardinality::parse(&count.text).ok_or_else(|| {
            err(format!("Die Anzahl „{}“ ist keine gültige Kardinalität (z. B. 0:1, 1:1, 0:*, 1:5).", count.text.trim()), count, true)
        })?;
        let legal_basis = c.all("bezug").map(|n| n.text.trim().to_owned()).filter(|t| !t.is_empty()).collect();
        let contains = c.get("enthaelt").expect("checked");
        let inner = self.check(contains, &[CONTAINS])?;
        let element = match (inner.get("datenfeld"), inner.get("datenfeldgruppe")) {
            (Some(f), None) => Element::Field(self.field(f)?),
            (None, Some(g)) => Element::Group(self.group(g)?),
            _ => return Err(err("<xdf:enthaelt> muss genau ein Datenfeld oder eine Datenfeldgruppe enthalten.", contains, true)),
        };
        Ok(Child { cardinality, legal_basis, element })
    }

    fn group(&self, node: &Node) -> Result<Group, ParseError> {
        let c = if self.v2() {
            self.check(node, &[V2_OBJECT, V2_ELEMENT, V2_GROUP])?
        } else {
            self.check(node, &[V3_BASE, V3_ELEMENT, V3_GROUP])?
        };
        let common = self.common(&c)?;
        let rules = c.all("regel").map(|r| self.rule(r)).collect::<Result<Vec<_>, _>>()?;
        let items = c.all("struktur").map(|s| self.structure(s)).collect::<Result<Vec<_>, _>>()?;
        Ok(Group {
            id: common.id,
            version: common.version,
            name: common.name,
            label: common.label,
            help: common.help,
            legal_basis: common.legal_basis,
            items,
            rules,
        })
    }

    fn field(&self, node: &Node) -> Result<Field, ParseError> {
        let c = if self.v2() {
            self.check(node, &[V2_OBJECT, V2_ELEMENT, V2_FIELD])?
        } else {
            self.check(node, &[V3_BASE, V3_ELEMENT, V3_FIELD])?
        };
        let common = self.common(&c)?;
        let kind_code = self.checked_code(
            c.get("feldart").expect("checked"),
            |c| FieldKind::parse(c).is_some(),
            |c| format!("Die Feldart „{c}“ gibt es nicht (input, select, label, hidden, locked)."),
        )?;
        let kind = FieldKind::parse(&kind_code).expect("checked");
        let type_code = self.checked_code(
            c.get("datentyp").expect("checked"),
            |c| DataType::parse(c, self.version).is_some(),
            |c| format!("Den Datentyp „{c}“ gibt es in {} nicht.", self.version.label()),
        )?;
        let data_type = DataType::parse(&type_code, self.version).expect("checked");
        let mut constraints = match c.get("praezisierung") {
            None => Constraints::default(),
            Some(p) if self.v2() => {
                self.check(p, &[NO_CHILDREN])?;
                v2_constraints(p)?
            }
            Some(p) => {
                self.check(p, &[NO_CHILDREN])?;
                v3_constraints(p)?
            }
        };
        if let Some(n) = c.get("maxSize") {
            let size = n.text.trim();
            if !size.is_empty() {
                constraints.max_size = Some(size.parse().map_err(|_| err(format!("„{size}“ ist keine Dateigröße in Bytes."), n, true))?);
            }
        }
        constraints.media_types.extend(c.all("mediaType").map(|n| n.text.trim().to_owned()).filter(|t| !t.is_empty()));
        let code_list = match c.get("codelisteReferenz") {
            None => None,
            Some(r) if self.v2() => {
                let rc = self.check(r, &[V2_CODELIST_REF])?;
                let id = match rc.get("identifikation") {
                    Some(i) => self.identification(i)?.0,
                    None => String::new(),
                };
                let g = match rc.get("genericodeIdentification") {
                    Some(g) => self.check(g, &[GENERICODE_ID])?,
                    None => Children(Vec::new()),
                };
                Some(CodeListRef {
                    id,
                    canonical_identification: g.text("canonicalIdentification"),
                    version: g.text("version"),
                    canonical_version_uri: g.text("canonicalVersionUri"),
                })
            }
            Some(r) => {
                let rc = self.check(r, &[V3_CODELIST_REF])?;
                let reference = CodeListRef {
                    id: String::new(),
                    canonical_identification: rc.text("canonicalIdentification"),
                    version: rc.text("version"),
                    canonical_version_uri: rc.text("canonicalVersionUri"),
                };
                (!reference.canonical_identification.is_empty() || !reference.canonical_version_uri.is_empty()).then_some(reference)
            }
        };
        let mut values = Vec::new();
        if let Some(w) = c.get("werte") {
            let wc = self.check(w, &[V3_VALUES])?;
            for v in wc.all("wert") {
                let vc = self.check(v, &[V3_VALUE])?;
                values.push(Value { code: vc.text("code"), name: vc.text("name"), help: vc.text("hilfe") });
            }
        }
        if kind == FieldKind::Select && code_list.is_none() && values.is_empty() && self.v2() {
            return Err(err("Ein Auswahlfeld (feldart select) braucht eine Codeliste (<xdf:codelisteReferenz>).", node, true));
        }
        let rules = c.all("regel").map(|r| self.rule(r)).collect::<Result<Vec<_>, _>>()?;
        Ok(Field {
            id: common.id,
            version: common.version,
            name: common.name,
            label: common.label,
            help: common.help,
            legal_basis: common.legal_basis,
            kind,
            data_type,
            constraints,
            content: c.text("inhalt"),
            code_list,
            values,
            rules,
        })
    }

    fn rule(&self, node: &Node) -> Result<Rule, ParseError> {
        if self.v2() {
            let c = self.check(node, &[V2_OBJECT, V2_RULE])?;
            let common = self.common(&c)?;
            Ok(Rule {
                id: common.id,
                version: common.version,
                name: common.name,
                description: common.description,
                definition: c.text("definition"),
                script: c.text("script"),
            })
        } else {
            let c = self.check(node, &[V3_RULE])?;
            let (id, version) = self.identification(c.get("identifikation").expect("checked"))?;
            if let Some(t) = c.get("typ") {
                self.code_of(t)?;
            }
            Ok(Rule {
                id,
                version,
                name: c.text("name"),
                description: c.text("beschreibung"),
                definition: c.text("freitextRegel"),
                script: c.text("skript"),
            })
        }
    }
}

fn number_or_string(v: &Json) -> Option<String> {
    match v {
        Json::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Json::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn v2_constraints(node: &Node) -> Result<Constraints, ParseError> {
    let text = node.text.trim();
    if text.is_empty() {
        return Ok(Constraints::default());
    }
    let json: Json = serde_json::from_str(text)
        .map_err(|_| err("Die Präzisierung ist kein gültiges JSON-Objekt (z. B. {\"minLength\":\"1\",\"maxLength\":\"50\"}).", node, true))?;
    let Json::Object(map) = json else {
        return Err(err("Die Präzisierung muss ein JSON-Objekt sein.", node, true));
    };
    let length = |key: &str| -> Result<Option<usize>, ParseError> {
        match map.get(key).and_then(number_or_string) {
            None => Ok(None),
            Some(s) => s.parse().map(Some).map_err(|_| err(format!("{key} „{s}“ ist keine ganze Zahl."), node, true)),
        }
    };
    Ok(Constraints {
        min_length: length("minLength")?,
        max_length: length("maxLength")?,
        min_value: map.get("minValue").and_then(number_or_string),
        max_value: map.get("maxValue").and_then(number_or_string),
        pattern: map.get("pattern").and_then(|p| p.as_str()).filter(|p| !p.is_empty()).map(str::to_owned),
        max_size: None,
        media_types: Vec::new(),
    })
}

fn v3_constraints(node: &Node) -> Result<Constraints, ParseError> {
    let length = |key: &str| -> Result<Option<usize>, ParseError> {
        match node.attribute(key).map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(s) => s.parse().map(Some).map_err(|_| err(format!("{key} „{s}“ ist keine ganze Zahl."), node, false)),
        }
    };
    let text = |key: &str| node.attribute(key).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    Ok(Constraints {
        min_length: length("minLength")?,
        max_length: length("maxLength")?,
        min_value: text("minValue"),
        max_value: text("maxValue"),
        pattern: text("pattern"),
        max_size: None,
        media_types: Vec::new(),
    })
}
