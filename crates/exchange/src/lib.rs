//! The once-only evidence exchange of amtsweg. This first part reads OOTS Evidence Exchange
//! Data Model 1.0 messages (ebXML RegRep 4: `query:QueryRequest`, `query:QueryResponse`, with an
//! `rs:Exception` for errors such as "preview required", `EDM:ERR:0002`) into a summary, with
//! located errors for malformed input. No I/O.

pub mod client;
pub mod edm;
pub mod node;
pub mod register;
pub mod seal;
pub mod write;
mod xml;

pub use edm::{Summary, inspect};
pub use xml::{Location, XmlError};
