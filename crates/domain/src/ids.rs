//! Opaque identifiers of stored things. They are random (UUID v4) so that they reveal neither
//! counts nor order, and they are typed so that a case id cannot be passed where an application
//! id is expected.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! opaque_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(transparent)]
        #[schema(value_type = String)]
        pub struct $name(String);

        impl $name {
            /// Wraps an id read from storage or a URL. Ids are opaque: any non-empty string up
            /// to 64 characters of `[A-Za-z0-9_-]` is accepted, and unknown ids simply find nothing.
            pub fn parse(value: &str) -> Option<Self> {
                let ok = !value.is_empty()
                    && value.len() <= 64
                    && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
                ok.then(|| Self(value.to_owned()))
            }

            /// Trusts the value: only for values that come from our own storage.
            pub fn from_stored(value: String) -> Self {
                Self(value)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

opaque_id!(
    /// A Behörde.
    AuthorityId
);
opaque_id!(
    /// A Leistung. Service ids are readable slugs such as `bewohnerparkausweis`.
    ServiceId
);
opaque_id!(
    /// A person who logs in: citizen or staff.
    UserId
);
opaque_id!(
    /// An Antrag.
    ApplicationId
);
opaque_id!(
    /// A Vorgang at an authority.
    CaseId
);
opaque_id!(
    /// A message in a citizen's Postfach.
    MessageId
);
