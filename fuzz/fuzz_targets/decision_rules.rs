//! Decision rules from outside (an admin's JSON through the API) and evidence documents from
//! registers: a rule set is read and checked, then run against the evidence. The first line is
//! the rule set, the rest the register's document.
#![no_main]
use amtsweg_domain::decision::RuleInput;
use amtsweg_domain::records::EvidenceRecord;
use amtsweg_domain::{ApplicationId, DecisionRules, RegionKey};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (rules, document) = text.split_once('\n').unwrap_or((text, "{}"));
    let Ok(rules) = DecisionRules::parse(rules) else { return };
    let fields = vec!["kennzeichen".to_owned(), "halter".to_owned()];
    let evidence_types = vec!["urn:amtsweg:evidence:vehicle-holder".to_owned()];
    let _ = rules.check(&fields, &evidence_types);
    let record = EvidenceRecord {
        id: "e".into(),
        application_id: ApplicationId::parse("a").unwrap(),
        evidence_type: "urn:amtsweg:evidence:vehicle-holder".into(),
        source: "register".into(),
        status: "attached".into(),
        register: Some("fahrzeugregister".into()),
        media_type: "application/json".into(),
        document: document.to_owned(),
        transfer_id: None,
        created_at: time::OffsetDateTime::UNIX_EPOCH,
    };
    let form = serde_json::json!({"kennzeichen": "L-AB 1234", "halter": "selbst"});
    let region = RegionKey::parse("147130000000").unwrap();
    let trace = rules.run(&RuleInput {
        data: form.as_object().unwrap(),
        evidence: std::slice::from_ref(&record),
        authority_region: &region,
        today: time::Date::from_calendar_date(2026, time::Month::November, 22).unwrap(),
    });
    assert_eq!(trace.outcomes.len(), rules.rules.len());
});
