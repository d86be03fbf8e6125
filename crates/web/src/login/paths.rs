//! Addresses of the login that other parts of the web layer link to.

use amtsweg_domain::AssuranceLevel;

/// Where a citizen logs in again at a higher level, coming back to `return_to`.
pub fn step_up_path(level: AssuranceLevel, return_to: &str) -> String {
    let query = serde_urlencoded::to_string([("niveau", level.as_str()), ("ziel", return_to)]).unwrap_or_default();
    format!("/anmelden/konto?{query}")
}
