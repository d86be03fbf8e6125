//! FIM XDatenfelder: the federal standard in which German service forms are described.
//!
//! - [`parse`] reads an XDatenfelder 2.0 or 3.0.0 message (`xdatenfelder.stammdatenschema.0102`
//!   or `xdatenfelder.datenfeldgruppe.0103`) into a [`model::Message`]. It is strict: the
//!   namespace must be one of the two, every element must be known where it stands, single
//!   elements may not repeat, required ones must be there, and code values must exist. Every
//!   error names the element, the line and the column where it was found. XDF 1 is refused
//!   with a message naming the version.
//! - [`codelist`] reads genericode code lists and resolves them by `canonicalVersionUri`.
//! - [`form`] turns a schema with its code lists and rules into the form model of amtsweg.
//!
//! No I/O here: callers pass text and get values back.

pub mod codelist;
pub mod form;
mod error;
pub mod model;
mod reader;
mod structure;

pub use error::{Location, ParseError};
pub use model::{Message, XdfVersion};

/// Parses one XDatenfelder message.
pub fn parse(xml: &str) -> Result<Message, ParseError> {
    let tree = reader::read(xml)?;
    structure::interpret(tree)
}

/// SHA-256 of a file's content, hex: pins an imported schema to exactly these bytes.
pub fn content_hash(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}
