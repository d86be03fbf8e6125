//! The life of an application: draft → submitted → in review → decided, or withdrawn before a
//! decision. The store enforces these transitions atomically; this module says which are allowed.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationStatus {
    Draft,
    Submitted,
    InReview,
    Decided,
    Withdrawn,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Ein Antrag im Status „{}“ kann nicht {}.", from.label(), to.verb())]
pub struct TransitionError {
    pub from: ApplicationStatus,
    pub to: ApplicationStatus,
}

impl ApplicationStatus {
    pub const ALL: [ApplicationStatus; 5] =
        [Self::Draft, Self::Submitted, Self::InReview, Self::Decided, Self::Withdrawn];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Submitted => "submitted",
            Self::InReview => "in_review",
            Self::Decided => "decided",
            Self::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// The German name shown to citizens and staff.
    pub fn label(self) -> &'static str {
        match self {
            Self::Draft => "Entwurf",
            Self::Submitted => "Eingereicht",
            Self::InReview => "In Bearbeitung",
            Self::Decided => "Entschieden",
            Self::Withdrawn => "Zurückgenommen",
        }
    }

    fn verb(self) -> &'static str {
        match self {
            Self::Draft => "wieder zum Entwurf werden",
            Self::Submitted => "eingereicht werden",
            Self::InReview => "in Bearbeitung genommen werden",
            Self::Decided => "entschieden werden",
            Self::Withdrawn => "zurückgenommen werden",
        }
    }

    /// Which statuses may lead to `to`.
    pub fn sources_of(to: ApplicationStatus) -> &'static [ApplicationStatus] {
        match to {
            Self::Draft => &[],
            Self::Submitted => &[Self::Draft],
            Self::InReview => &[Self::Submitted],
            Self::Decided => &[Self::Submitted, Self::InReview],
            Self::Withdrawn => &[Self::Draft, Self::Submitted, Self::InReview],
        }
    }

    pub fn transition(self, to: ApplicationStatus) -> Result<ApplicationStatus, TransitionError> {
        if Self::sources_of(to).contains(&self) { Ok(to) } else { Err(TransitionError { from: self, to }) }
    }

    /// Whether the citizen may still change the form data.
    pub fn is_editable(self) -> bool {
        self == Self::Draft
    }
}

impl fmt::Display for ApplicationStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Approved,
    Rejected,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approved => "approved",
            Self::Rejected => "rejected",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "approved" => Some(Self::Approved),
            "rejected" => Some(Self::Rejected),
            _ => None,
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Self::Approved => "Bewilligt",
            Self::Rejected => "Abgelehnt",
        }
    }
}

/// Aktenzeichen of a case: the authority's short code, the year and a running number per
/// authority and year, e.g. `L-2026-000042`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseNumber(String);

impl CaseNumber {
    pub fn new(authority_code: &str, year: i32, sequence: i64) -> Self {
        Self(format!("{authority_code}-{year}-{sequence:06}"))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::ApplicationStatus::*;
    use super::*;

    /// Submitted and decided are each reached once in an application's life (the ledger's
    /// `LedgerRef::recorded_once` relies on it): only a draft is submitted, nothing becomes a
    /// draft again, and nothing leaves a decision.
    #[test]
    fn submitted_and_decided_happen_once() {
        assert_eq!(ApplicationStatus::sources_of(Submitted), &[Draft]);
        for to in ApplicationStatus::ALL {
            assert!(!ApplicationStatus::sources_of(to).contains(&Decided), "{to:?}");
        }
        assert!(ApplicationStatus::sources_of(Draft).is_empty());
    }

    #[test]
    fn allowed_and_refused_transitions() {
        assert_eq!(Draft.transition(Submitted), Ok(Submitted));
        assert_eq!(Submitted.transition(InReview), Ok(InReview));
        assert_eq!(InReview.transition(Decided), Ok(Decided));
        assert_eq!(Submitted.transition(Decided), Ok(Decided));
        assert!(Draft.transition(Decided).is_err());
        assert!(Decided.transition(Withdrawn).is_err());
        assert!(Withdrawn.transition(Submitted).is_err());
        assert!(Submitted.transition(Submitted).is_err());
        let e = Decided.transition(Withdrawn).unwrap_err();
        assert_eq!(e.to_string(), "Ein Antrag im Status „Entschieden“ kann nicht zurückgenommen werden.");
    }

    #[test]
    fn status_names_round_trip() {
        for s in ApplicationStatus::ALL {
            assert_eq!(ApplicationStatus::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn case_numbers() {
        assert_eq!(CaseNumber::new("L", 2026, 42).as_str(), "L-2026-000042");
    }
}
