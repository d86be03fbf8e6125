//! What the store hands back: applications, cases, decisions, messages and audit events, as the
//! portal, the workspace and the API read them.
//!
//! One module per domain noun; everything is re-exported here.

mod application;
mod case;
mod mailbox;
mod procedure;
mod audit;
mod login;
mod catalog;
mod evidence;

pub use application::*;
pub use case::*;
pub use mailbox::*;
pub use procedure::*;
pub use audit::*;
pub use login::*;
pub use catalog::*;
pub use evidence::*;
