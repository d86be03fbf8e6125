//! The demo world of DESIGN.md: Leipzig, Halle (Saale) and Erfurt with their real regional keys,
//! the service "Bewohnerparkausweis" (modelled by hand until FIM import exists), synthetic
//! citizens in each city (and one in Dresden, where no authority on amtsweg is responsible),
//! one caseworker per authority, and an API token per persona.

pub mod maengel;

use amtsweg_app::accounts::{hash_secret, new_secret};
use amtsweg_app::operator::{AuthorityInput, FimUpload, OperatorDesk, StaffInput};
use amtsweg_domain::form::{Constraints, DataType, field, section};
use amtsweg_domain::{
    AssuranceLevel,
    Authority, AuthorityId, Contact, EvidenceRequirement, FormModel, IdNr, Person, RegionKey, Role, Service, ServiceId, User,
    UserId,
};
use amtsweg_store::{DynStore, StoreError};
use serde::Serialize;
use time::{Duration, OffsetDateTime, macros::date};

pub const PARKING_PERMIT: &str = "bewohnerparkausweis";

#[derive(Debug, Clone, Serialize)]
pub struct CitizenToken {
    pub name: String,
    pub city: String,
    pub token: String,
    pub user_id: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CaseworkerToken {
    pub name: String,
    pub authority: String,
    pub token: String,
    pub user_id: String,
    pub authority_id: String,
}

/// Further staff of an authority: team lead, data protection officer, service admin.
#[derive(Debug, Clone, Serialize)]
pub struct StaffToken {
    pub name: String,
    pub role: String,
    pub token: String,
    pub user_id: String,
    pub authority_id: String,
}

/// Client credentials of a specialist procedure.
#[derive(Debug, Clone, Serialize)]
pub struct ClientCredentials {
    pub name: String,
    pub authority_id: String,
    pub client_id: String,
    pub client_secret: String,
}

/// The platform operator of the demo.
#[derive(Debug, Clone, Serialize)]
pub struct OperatorToken {
    pub name: String,
    pub token: String,
    pub user_id: String,
}

/// What `demo-tokens.json` holds.
#[derive(Debug, Clone, Serialize)]
pub struct DemoTokens {
    /// The platform operator: sets up authorities, responsibilities, services and staff.
    pub operator: OperatorToken,
    pub citizens: Vec<CitizenToken>,
    pub caseworkers: Vec<CaseworkerToken>,
    pub staff: Vec<StaffToken>,
    pub clients: Vec<ClientCredentials>,
    /// Password logins of the staff (only `amtsweg demo` makes them: see [`seed_staff_logins`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub staff_logins: Vec<StaffLogin>,
    /// The Mängelmelder's Open311 server (only when [`maengel::seed`] ran).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open311: Option<maengel::Open311Demo>,
}

/// A staff member's password login in the demo: what they would type, and the secret their
/// authenticator app would hold.
#[derive(Debug, Clone, Serialize)]
pub struct StaffLogin {
    pub name: String,
    pub role: String,
    pub login: String,
    pub password: String,
    pub totp_secret: String,
    pub totp_uri: String,
}

/// Gives every demo staff member a password login with a second factor (fresh random password
/// and secret each start), so that the demo shows the real staff login beside the persona
/// picker. Not part of [`seed`]: hashing with Argon2 takes a moment, and the tests do not need it.
pub async fn seed_staff_logins(store: &DynStore, tokens: &mut DemoTokens) -> Result<(), StoreError> {
    let people: Vec<(String, String, String)> = tokens
        .caseworkers
        .iter()
        .map(|c| (c.user_id.clone(), c.name.clone(), "caseworker".to_owned()))
        .chain(tokens.staff.iter().map(|s| (s.user_id.clone(), s.name.clone(), s.role.clone())))
        .collect();
    for (user_id, name, role) in people {
        let password = new_secret()[..16].to_owned();
        let totp_secret = amtsweg_app::accounts::new_totp_secret();
        store
            .put_staff_credential(&amtsweg_domain::records::StaffCredential {
                user_id: UserId::parse(&user_id).expect("demo ids are valid"),
                login: user_id.clone(),
                password_hash: amtsweg_app::accounts::hash_password(&password),
                totp_secret: totp_secret.clone(),
                failed_attempts: 0,
                locked_until: None,
                last_totp_step: None,
            })
            .await?;
        let totp_uri = amtsweg_app::accounts::totp_uri(&totp_secret, &user_id);
        tokens.staff_logins.push(StaffLogin { name, role, login: user_id, password, totp_secret, totp_uri });
    }
    Ok(())
}

fn region(key: &str) -> RegionKey {
    RegionKey::parse(key).expect("demo region keys are valid")
}

pub fn authorities() -> Vec<Authority> {
    [
        ("leipzig", "Stadt Leipzig", "L", "147130000000", "Martin-Luther-Ring 4–6, 04109 Leipzig"),
        ("halle", "Stadt Halle (Saale)", "HAL", "150020000000", "Marktplatz 1, 06108 Halle (Saale)"),
        ("erfurt", "Stadt Erfurt", "EF", "160510000000", "Fischmarkt 1, 99084 Erfurt"),
    ]
    .into_iter()
    .map(|(id, name, code, ars, address)| Authority {
        id: AuthorityId::parse(id).expect("valid id"),
        name: name.into(),
        short_code: code.into(),
        region: region(ars),
        address: address.into(),
        contact: Default::default(),
        letterhead: String::new(),
        active: true,
        assignee_decides: false,
    })
    .collect()
}

pub fn parking_permit() -> Service {
    let plate = field("kennzeichen", "Amtliches Kennzeichen", DataType::Text)
        .required()
        .hint("So wie es im Fahrzeugschein steht, zum Beispiel L-AB 1234.")
        .constraints(Constraints {
            max_length: Some(12),
            pattern: Some(r"\p{Lu}{1,3}-\p{Lu}{1,2} ?[1-9][0-9]{0,3}[EH]?".into()),
            pattern_message: Some(
                "Bitte geben Sie das Kennzeichen in der Form L-AB 1234 ein: Ortskennung, Bindestrich, ein oder zwei Buchstaben, Leerzeichen, Zahl.".into(),
            ),
            ..Default::default()
        });
    let holder = field("halter", "Wer ist Halterin oder Halter des Fahrzeugs?", DataType::Select).required().options(&[
        ("selbst", "Ich selbst"),
        ("firmenwagen", "Mein Arbeitgeber (Firmenwagen, den ich privat nutzen darf)"),
        ("leasing", "Eine Leasing- oder Mietfirma"),
    ]);
    let start = field("beginn", "Ab wann benötigen Sie den Ausweis?", DataType::Date)
        .required()
        .constraints(Constraints { min_date_offset_days: Some(0), ..Default::default() });
    let duration = field("gueltigkeit", "Gültigkeitsdauer", DataType::Select)
        .required()
        .options(&[("12", "1 Jahr"), ("24", "2 Jahre")]);
    let phone = field("telefon", "Telefonnummer für Rückfragen", DataType::Text)
        .hint("Nur falls die Behörde Sie anrufen soll.")
        .autocomplete("tel")
        .constraints(Constraints {
            max_length: Some(30),
            pattern: Some(r"\+?[0-9 ()/-]{5,30}".into()),
            pattern_message: Some("Bitte geben Sie die Telefonnummer nur mit Ziffern, Leerzeichen und + ( ) / - ein.".into()),
            ..Default::default()
        });
    let confirm = field("richtigkeit", "Ich versichere, dass meine Angaben richtig und vollständig sind.", DataType::Bool).required().confirmation();
    Service {
        id: ServiceId::parse(PARKING_PERMIT).expect("valid id"),
        name: "Bewohnerparkausweis".into(),
        leika_key: None,
        summary: "Parkausweis für Bewohnerinnen und Bewohner eines Bewohnerparkgebiets beantragen.".into(),
        description: "Wenn Sie in einem Bewohnerparkgebiet wohnen, können Sie mit dem Bewohnerparkausweis dort ohne Parkschein parken.\n\n\
            Voraussetzung ist, dass Sie im Bewohnerparkgebiet mit Hauptwohnsitz gemeldet sind und das Fahrzeug auf Sie zugelassen ist oder Ihnen dauerhaft zur Nutzung überlassen wurde.\n\n\
            Die Gebühr richtet sich nach der Gebührenordnung Ihrer Stadt. Den Bescheid erhalten Sie in Ihrem Postfach."
            .into(),
        legal_basis: "§ 45 Absatz 1b Satz 1 Nummer 2a Straßenverkehrs-Ordnung (StVO)".into(),
        evidence: vec![
            EvidenceRequirement {
                evidence_type: "urn:amtsweg:evidence:main-residence".into(),
                register: "melderegister".into(),
                purpose: "Nachweis, dass Sie mit Hauptwohnsitz im Bewohnerparkgebiet gemeldet sind".into(),
                legal_basis: "§ 34 Absatz 1 Bundesmeldegesetz (BMG) in Verbindung mit § 45 Absatz 1b StVO".into(),
            },
            EvidenceRequirement {
                evidence_type: "urn:amtsweg:evidence:vehicle-holder".into(),
                register: "fahrzeugregister".into(),
                purpose: "Nachweis, dass das Fahrzeug auf Sie zugelassen ist".into(),
                legal_basis: "§ 35 Absatz 1 Nummer 1 Straßenverkehrsgesetz (StVG)".into(),
            },
        ],
        form: FormModel {
            groups: vec![
                section("fahrzeug", "Fahrzeug", vec![plate, holder]),
                section("ausweis", "Parkausweis", vec![start, duration, phone]),
                section("bestaetigung", "Bestätigung", vec![confirm]),
            ],
            rules: Vec::new(),
        },
        decision: serde_json::from_str(PARKING_RULES).expect("the demo's rules are valid"),
        // An account with ELSTER certificate or the ID card (level "substantiell") is enough.
        required_level: Some(AssuranceLevel::Substantiell),
        category: "Verkehr und Mobilität".into(),
    }
}

/// The Bewohnerparkausweis is granted at once when the resident register confirms the main
/// residence in the city and the vehicle register names the citizen as holder of the plate;
/// otherwise (a company car, another plate, an uploaded proof) a caseworker decides.
pub const PARKING_RULES: &str = r#"{
  "automation": true,
  "automation_basis": "der Satzung der Stadt über Bewohnerparkausweise",
  "processing_days": 21,
  "rules": [
    {"id": "hauptwohnsitz", "label": "Hauptwohnsitz im Bewohnerparkgebiet",
     "legal_basis": "§ 45 Absatz 1b Satz 1 Nummer 2a StVO",
     "check": {"all": [
       {"evidence": {"type": "urn:amtsweg:evidence:main-residence", "pointer": "/main_residence", "test": {"equals": true}}},
       {"evidence": {"type": "urn:amtsweg:evidence:main-residence", "pointer": "/ars", "test": "within_authority_region"}}]},
     "passed": "Das Melderegister bestätigt Ihren Hauptwohnsitz im Gebiet der Stadt.",
     "failed": "Das Melderegister bestätigt keinen Hauptwohnsitz im Gebiet der Stadt."},
    {"id": "halter", "label": "Halterin oder Halter des Fahrzeugs",
     "legal_basis": "§ 45 Absatz 1b Satz 1 Nummer 2a StVO",
     "check": {"all": [
       {"form": {"equals": {"field": "halter", "value": "selbst"}}},
       {"evidence": {"type": "urn:amtsweg:evidence:vehicle-holder", "pointer": "/vehicles/*/plate", "test": {"matches_field": "kennzeichen"}}}]},
     "passed": "Das Fahrzeugregister führt Sie als Halterin oder Halter des angegebenen Fahrzeugs.",
     "failed": "Das Fahrzeugregister führt Sie nicht als Halterin oder Halter des angegebenen Kennzeichens, oder das Fahrzeug ist Ihnen nur zur Nutzung überlassen."},
    {"id": "richtigkeit", "label": "Versicherung der Richtigkeit",
     "check": {"form": {"is_true": "richtigkeit"}},
     "passed": "Sie haben die Richtigkeit Ihrer Angaben versichert.",
     "failed": "Die Richtigkeit der Angaben ist nicht versichert."}
  ]
}"#;

pub const ENERGY_PRICE_PAYMENT: &str = "energiepreispauschale";

/// "Energiepreispauschale für Studierende": the mass-application scenario; the enrolment on the
/// key date comes from the enrolment register.
pub fn energy_price_payment() -> Service {
    let university = field("hochschule", "An welcher Hochschule waren Sie am 1. Dezember 2022 eingeschrieben?", DataType::Text)
        .required()
        .constraints(Constraints { max_length: Some(200), ..Default::default() });
    let iban = field("iban", "IBAN des Kontos für die Auszahlung", DataType::Text)
        .required()
        .hint("Die IBAN eines Kontos, das auf Ihren Namen läuft, zum Beispiel DE02 1203 0000 0000 2020 51.")
        .constraints(Constraints {
            pattern: Some(r"[A-Z]{2}[0-9]{2}( ?[A-Z0-9]){11,30}".into()),
            pattern_message: Some("Bitte geben Sie eine IBAN ein, zum Beispiel DE02 1203 0000 0000 2020 51.".into()),
            max_length: Some(42),
            ..Default::default()
        });
    let confirm = field("richtigkeit", "Ich versichere, dass meine Angaben richtig und vollständig sind.", DataType::Bool).required().confirmation();
    Service {
        id: ServiceId::parse(ENERGY_PRICE_PAYMENT).expect("valid id"),
        name: "Energiepreispauschale für Studierende".into(),
        leika_key: None,
        summary: "Einmalzahlung von 200 Euro für Studierende und Fachschüler, die am 1. Dezember 2022 eingeschrieben waren.".into(),
        description: "Studierende, die am 1. Dezember 2022 an einer Hochschule in Deutschland eingeschrieben waren, erhalten eine einmalige Energiepreispauschale von 200 Euro.\n\nDie Einschreibung kann mit Ihrer Zustimmung direkt beim Immatrikulationsregister abgefragt werden; dann entscheidet die Behörde sofort.".into(),
        legal_basis: "Gesetz zur Zahlung einer einmaligen Energiepreispauschale für Studierende, Fachschülerinnen und Fachschüler sowie Berufsfachschülerinnen und Berufsfachschüler in Bildungsgängen mit dem Ziel eines mindestens zweijährigen berufsqualifizierenden Abschlusses (EPPSG)".into(),
        form: FormModel { groups: vec![section("studium", "Studium", vec![university]), section("auszahlung", "Auszahlung", vec![iban, confirm])], rules: Vec::new() },
        evidence: vec![EvidenceRequirement {
            evidence_type: "urn:amtsweg:evidence:enrolment".into(),
            register: "immatrikulationsregister".into(),
            purpose: "Nachweis, dass Sie am 1. Dezember 2022 eingeschrieben waren".into(),
            legal_basis: "§ 2 EPPSG".into(),
        }],
        decision: serde_json::from_str(ENERGY_RULES).expect("the demo's rules are valid"),
        // A payment of money to an account: the online ID card (level "hoch").
        required_level: Some(AssuranceLevel::Hoch),
        category: "Bildung und Förderung".into(),
    }
}

/// The Energiepreispauschale is granted at once when the enrolment register confirms the
/// enrolment on the key date.
pub const ENERGY_RULES: &str = r#"{
  "automation": true,
  "automation_basis": "dem EPPSG",
  "processing_days": 14,
  "rules": [
    {"id": "einschreibung", "label": "Einschreibung am 1. Dezember 2022", "legal_basis": "§ 1 EPPSG",
     "check": {"evidence": {"type": "urn:amtsweg:evidence:enrolment", "pointer": "/enrolled", "test": {"equals": true}}},
     "passed": "Das Immatrikulationsregister bestätigt Ihre Einschreibung am 1. Dezember 2022.",
     "failed": "Das Immatrikulationsregister bestätigt keine Einschreibung am 1. Dezember 2022."},
    {"id": "richtigkeit", "label": "Versicherung der Richtigkeit",
     "check": {"form": {"is_true": "richtigkeit"}},
     "passed": "Sie haben die Richtigkeit Ihrer Angaben versichert.",
     "failed": "Die Richtigkeit der Angaben ist nicht versichert."}
  ]
}"#;

/// A synthetic but valid IdNr: ten digits with exactly one repeated digit, then the check digit.
pub fn synthetic_idnr(n: u32) -> IdNr {
    // A permutation of 0..=9 chosen by n (xorshift-driven Fisher–Yates), the second digit
    // repeated in place of the last, a non-zero first digit.
    let mut state = u64::from(n).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut body: Vec<u8> = (0..10u8).collect();
    for i in (1..10).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        body.swap(i, (state % (i as u64 + 1)) as usize);
    }
    if body[0] == 0 {
        body.swap(0, 2);
    }
    body[9] = body[1];
    let check = IdNr::check_digit(&body);
    let text: String = body.iter().chain(std::iter::once(&check)).map(|d| char::from(b'0' + d)).collect();
    IdNr::parse(&text).expect("synthetic IdNr is valid")
}

struct DemoCitizen {
    given: &'static str,
    family: &'static str,
    born: time::Date,
    street: &'static str,
    postal: &'static str,
    city: &'static str,
    ars: &'static str,
}

fn citizens() -> Vec<DemoCitizen> {
    vec![
        DemoCitizen { given: "Anna", family: "Schmidt", born: date!(1988 - 04 - 12), street: "Karl-Liebknecht-Straße 12", postal: "04107", city: "Leipzig", ars: "147130000000" },
        DemoCitizen { given: "Jonas", family: "Weber", born: date!(1995 - 09 - 03), street: "Eisenbahnstraße 41", postal: "04315", city: "Leipzig", ars: "147130000000" },
        DemoCitizen { given: "Marie", family: "Fischer", born: date!(1979 - 01 - 27), street: "Große Ulrichstraße 8", postal: "06108", city: "Halle (Saale)", ars: "150020000000" },
        DemoCitizen { given: "Lena", family: "Hoffmann", born: date!(2001 - 06 - 30), street: "Anger 22", postal: "99084", city: "Erfurt", ars: "160510000000" },
        DemoCitizen { given: "Tom", family: "Richter", born: date!(1990 - 11 - 05), street: "Königsbrücker Straße 30", postal: "01099", city: "Dresden", ars: "146120000000" },
    ]
}

/// The demo's authorities, with their contact and letterhead, as the operator enters them.
fn authority_inputs() -> Vec<AuthorityInput> {
    let contact = |phone: &str, email: &str| Contact { phone: phone.into(), email: email.into(), opening_hours: "Mo–Fr 9–12 Uhr, Di und Do 13–18 Uhr".into() };
    authorities()
        .into_iter()
        .map(|a| {
            let (phone, email, letterhead) = match a.id.as_str() {
                "leipzig" => ("0341 123-0", "buergerservice@leipzig.de", "Stadt Leipzig · Ordnungsamt"),
                "halle" => ("0345 221-0", "buergerservice@halle.de", "Stadt Halle (Saale) · Fachbereich Sicherheit"),
                _ => ("0361 655-0", "buergerservice@erfurt.de", "Landeshauptstadt Erfurt · Bürgeramt"),
            };
            AuthorityInput {
                name: a.name,
                ars: a.region.to_string(),
                short_code: Some(a.short_code),
                id: Some(a.id.to_string()),
                address: a.address,
                contact: contact(phone, email),
                letterhead: letterhead.into(),
            }
        })
        .collect()
}

fn operator_error(e: amtsweg_app::AppError) -> StoreError {
    match e {
        amtsweg_app::AppError::Store(e) => e,
        other => StoreError::Corrupt(format!("demo setup refused: {}", other.message())),
    }
}

/// Seeds the demo world into an empty, migrated store and returns a token per persona.
///
/// The world is set up as an operator would: authorities, responsibilities and staff through
/// the operator's use cases (at the console). Citizens come from the login in real life; here
/// they are written directly, as are the two hand-modelled services.
pub async fn seed(store: &DynStore) -> Result<DemoTokens, StoreError> {
    let desk = OperatorDesk::console(amtsweg_app::Platform::ephemeral(store.clone()));
    let authorities = authorities();
    for input in authority_inputs() {
        desk.create_authority(input).await.map_err(operator_error)?;
    }
    for service in [parking_permit(), energy_price_payment()] {
        store.put_service(&service).await?;
        for a in &authorities {
            desk.add_responsibility(a.id.as_str(), service.id.as_str(), a.region.prefix()).await.map_err(operator_error)?;
        }
    }
    let expires = OffsetDateTime::now_utc() + Duration::days(30);
    let operator = User { id: UserId::parse("betrieb").expect("valid id"), role: Role::Operator, display_name: "Robert Neumann".into(), authority_id: None, person: None };
    store.create_user(&operator).await?;
    let token = new_secret();
    store.put_api_token(&hash_secret(&token), &operator.id, expires).await?;
    let operator = OperatorToken { name: operator.display_name, token, user_id: operator.id.to_string() };
    let mut tokens = DemoTokens { operator, citizens: Vec::new(), caseworkers: Vec::new(), staff: Vec::new(), clients: Vec::new(), staff_logins: Vec::new(), open311: None };
    for (n, person) in demo_people().into_iter().enumerate() {
        let city = person.city.clone();
        let user = User {
            id: UserId::parse(&format!("buerger-{}", n + 1)).expect("valid id"),
            role: Role::Citizen,
            display_name: person.full_name(),
            authority_id: None,
            person: Some(person),
        };
        store.create_user(&user).await?;
        let token = new_secret();
        store.put_api_token(&hash_secret(&token), &user.id, expires).await?;
        tokens.citizens.push(CitizenToken { name: user.display_name, city, token, user_id: user.id.to_string() });
    }
    let staff = [
        ("Katrin Müller", Role::Caseworker, "sachbearbeitung", "leipzig"),
        ("Thomas Schulz", Role::Caseworker, "sachbearbeitung", "halle"),
        ("Sabine Klein", Role::Caseworker, "sachbearbeitung", "erfurt"),
        ("Petra Lange", Role::TeamLead, "teamleitung", "leipzig"),
        ("Uwe Brandt", Role::TeamLead, "teamleitung", "halle"),
        ("Jana Vogel", Role::Caseworker, "sachbearbeitung-2", "leipzig"),
        ("Dr. Ines Wolf", Role::DataProtection, "datenschutz", "leipzig"),
        ("Frank Heller", Role::Admin, "fachadministration", "leipzig"),
    ];
    for (name, role, prefix, authority_id) in staff {
        let authority = authorities.iter().find(|a| a.id.as_str() == authority_id).expect("demo authority");
        let id = UserId::parse(&format!("{prefix}-{authority_id}")).expect("valid id");
        let input = StaffInput { authority_id: authority_id.into(), name: name.into(), login: id.to_string(), role: role.as_str().into(), id: Some(id.clone()) };
        desk.invite(input).await.map_err(operator_error)?;
        let (token, _) = desk.issue_token(&id).await.map_err(operator_error)?;
        if role == Role::Caseworker && prefix == "sachbearbeitung" {
            tokens.caseworkers.push(CaseworkerToken {
                name: name.into(),
                authority: authority.name.clone(),
                token,
                user_id: id.to_string(),
                authority_id: authority_id.into(),
            });
        } else {
            tokens.staff.push(StaffToken { name: name.into(), role: role.as_str().into(), token, user_id: id.to_string(), authority_id: authority_id.into() });
        }
    }
    for a in &authorities {
        let name = format!("Fachverfahren {}", a.name);
        let (client, secret) = amtsweg_app::procedures::create_client(store, &a.id, &name, None).await?;
        tokens.clients.push(ClientCredentials { name, authority_id: a.id.to_string(), client_id: client.id, client_secret: secret });
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_idnrs_are_valid_and_distinct() {
        let all: Vec<String> = (0..50).map(|n| synthetic_idnr(n).as_str().to_owned()).collect();
        let mut unique = all.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), all.len());
    }

    #[test]
    fn the_demo_rules_fit_their_services() {
        for service in [parking_permit(), energy_price_payment()] {
            service.check_decision_rules().unwrap_or_else(|e| panic!("{}: {e}", service.id));
            assert!(service.decision.automation);
        }
    }

    #[test]
    fn the_demo_form_accepts_a_typical_application() {
        let form = parking_permit().form;
        let data = serde_json::json!({
            "kennzeichen": "L-AB 1234", "halter": "selbst", "beginn": "2099-01-01", "gueltigkeit": "12", "richtigkeit": true
        });
        let data = data.as_object().unwrap().clone();
        assert!(form.validate(&data, time::macros::date!(2026 - 11 - 22)).is_ok());
    }
}

/// The real FIM schemas the demo offers, with the rules written for them (in `fim-rules/`)
/// and the code lists the admin accepts as free text because they are not published with the
/// schema (the Blaue-Karte export comes without its code lists).
pub const FIM_SERVICES: [(&str, &str, &str, &[&str]); 3] = [
    ("xdf2/S00000186v1.0_xdf2/S00000186v1.0_xdf2.xml", "Anzeige von Tätigkeiten mit Asbest", include_str!("../fim-rules/S00000186.rules.json"), &[]),
    (
        "xdf2/S00000094V1.0_xdf2/S00000094V1.0_xdf2.xml",
        "Mitteilung über die Beschäftigung einer schwangeren oder stillenden Frau (§ 27 MuSchG)",
        include_str!("../fim-rules/S00000094.rules.json"),
        &[],
    ),
    (
        "xdf2/S00000121-BlaueKarte.xml",
        "Blaue Karte EU beantragen",
        include_str!("../fim-rules/S00000121.rules.json"),
        &[
            "urn:de:bund:destatis:bevoelkerungsstatistik:schluessel:staat_2017-01-01",
            "urn:de:bund:destatis:bevoelkerungsstatistik:schluessel:staatsangehoerigkeit_2017-01-01",
            "urn:de:xoev:codeliste:erreichbarkeit_2",
            "urn:xpersonenstand:schluesseltabelle:geschlecht_2",
        ],
    ),
];

/// Imports the demo's FIM services from the fixtures folder, as the operator would upload them,
/// and makes the three demo cities responsible for them. Returns the service ids.
pub async fn seed_fim(store: &DynStore, fixtures: &std::path::Path) -> Result<Vec<String>, String> {
    let desk = OperatorDesk::console(amtsweg_app::Platform::ephemeral(store.clone()));
    let mut ids = Vec::new();
    for (file, name, rules, free_text) in FIM_SERVICES {
        let path = fixtures.join(file);
        let schema = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let folder = path.parent().unwrap_or(fixtures);
        let upload = FimUpload {
            schema,
            code_lists: code_list_texts(folder)?,
            name: Some((*name).to_owned()),
            rules: Some((*rules).to_owned()),
            accept_free_text: free_text.iter().map(|s| (*s).to_owned()).collect(),
            category: Some(fim_category(file).to_owned()),
        };
        let (id, _) = desk.import_fim(upload).await.map_err(|e| format!("{file}: {}", e.message()))?;
        for a in authorities() {
            desk.add_responsibility(a.id.as_str(), id.as_str(), a.region.prefix()).await.map_err(|e| e.message())?;
        }
        ids.push(id.to_string());
    }
    Ok(ids)
}

/// The portal's topic of a demo FIM service.
fn fim_category(file: &str) -> &'static str {
    if file.contains("S00000121") {
        "Aufenthalt und Einwanderung"
    } else {
        "Arbeit und Arbeitsschutz"
    }
}

/// The genericode code lists in a folder (`*.xml` files whose root is a `CodeList`), as texts.
fn code_list_texts(dir: &std::path::Path) -> Result<Vec<String>, String> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .collect();
    paths.sort();
    let mut out = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        if text.chars().take(400).collect::<String>().contains("CodeList") {
            out.push(text);
        }
    }
    Ok(out)
}

/// The demo citizens as people, with the IdNr the demo gives them.
fn demo_people() -> Vec<Person> {
    citizens()
        .into_iter()
        .enumerate()
        .map(|(n, c)| Person {
            given_name: c.given.into(),
            family_name: c.family.into(),
            date_of_birth: c.born,
            street: c.street.into(),
            postal_code: c.postal.into(),
            city: c.city.into(),
            region: region(c.ars),
            idnr: Some(synthetic_idnr(n as u32 + 1)),
        })
        .collect()
}

fn record(p: &Person) -> amtsweg_exchange::register::Record {
    amtsweg_exchange::register::Record {
        idnr: p.idnr.as_ref().map(|i| i.as_str().to_owned()).unwrap_or_default(),
        family_name: p.family_name.clone(),
        given_name: p.given_name.clone(),
        date_of_birth: p.date_of_birth.to_string(),
        ..Default::default()
    }
}

/// The key date of the demo's enrolment register (the Energiepreispauschale's).
pub const KEY_DATE: &str = "2022-12-01";

/// The records of one demo register as JSONL lines: 500 synthetic people and the demo's
/// citizens (so that the demo's logins find their own evidence).
pub fn register_lines(kind: amtsweg_exchange::register::Kind) -> Vec<String> {
    use amtsweg_exchange::register::{Kind, generate};
    let people = demo_people();
    let mut lines = generate(kind, 500, 1);
    for (n, p) in people.iter().enumerate() {
        let mut r = record(p);
        match kind {
            Kind::Resident => {
                r.street = p.street.clone();
                r.postal_code = p.postal_code.clone();
                r.city = p.city.clone();
                r.ars = p.region.to_string();
                r.main_residence = Some(true);
            }
            // Jonas Weber (the second citizen) has no car.
            Kind::Vehicle if n == 1 => continue,
            Kind::Vehicle => r.plate = ["L-AB 1234", "", "HAL-MF 12", "EF-LH 7", "DD-TR 5"][n].into(),
            // Lena Hoffmann was enrolled on the key date; Jonas Weber only from 2023.
            Kind::Enrolment if n == 3 => {
                r.university = "Universität Erfurt".into();
                r.enrolled_from = "2020-10-01".into();
                r.enrolled_until = "2026-09-30".into();
            }
            Kind::Enrolment if n == 1 => {
                r.university = "Universität Leipzig".into();
                r.enrolled_from = "2023-10-01".into();
                r.enrolled_until = "2027-09-30".into();
            }
            Kind::Enrolment => continue,
        }
        lines.push(serde_json::to_string(&r).expect("records serialise"));
    }
    lines
}

/// The register ids the demo's services name.
pub const REGISTERS: [(&str, amtsweg_exchange::register::Kind); 3] = [
    ("melderegister", amtsweg_exchange::register::Kind::Resident),
    ("fahrzeugregister", amtsweg_exchange::register::Kind::Vehicle),
    ("immatrikulationsregister", amtsweg_exchange::register::Kind::Enrolment),
];

/// Starts the demo's three register nodes in this process over real HTTP on loopback (the
/// demo citizens are in them, beside synthetic people) and returns how the platform reaches
/// them. `down` names registers to leave unreachable (for tests of a register that is down).
pub async fn start_registers(down: &[&str]) -> Result<amtsweg_app::evidence::Exchange, String> {
    use amtsweg_exchange::node::{Node, router};
    use amtsweg_exchange::register::{Kind, Register};
    use amtsweg_exchange::seal::{Identity, PinnedKeys};
    let random_seed = || {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).expect("the operating system's random source");
        seed
    };
    let platform = Identity::from_seed("amtsweg", random_seed());
    let mut pinned = PinnedKeys::default();
    let mut registers = std::collections::HashMap::new();
    for (id, kind) in REGISTERS {
        let lines = register_lines(kind);
        let register = Register::load(kind, &lines.join("\n")).map_err(|e| e.to_string())?;
        let identity = Identity::from_seed(id, random_seed());
        pinned.pin(id, &identity.public_key()).map_err(|e| e.to_string())?;
        let mut peers = PinnedKeys::default();
        peers.pin("amtsweg", &platform.public_key()).map_err(|e| e.to_string())?;
        // The enrolment register wants the person to see the evidence first.
        let node = std::sync::Arc::new(Node::new(register, identity, peers, KEY_DATE.into(), kind == Kind::Enrolment));
        if down.contains(&id) {
            // A port where nothing listens.
            registers.insert(id.to_owned(), "http://127.0.0.1:9/edm".to_owned());
            continue;
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
        let url = format!("http://{}/edm", listener.local_addr().map_err(|e| e.to_string())?);
        tokio::spawn(async move { axum::serve(listener, router(node)).await });
        registers.insert(id.to_owned(), url);
    }
    Ok(amtsweg_app::evidence::Exchange {
        identity: platform,
        pinned,
        registers,
        http: reqwest::Client::new(),
        timeout: std::time::Duration::from_secs(5),
    })
}
