use std::fmt;

/// Where in the file: 1-based line; column counted in characters, at the end of the construct
/// that showed the problem (the end tag of an element whose content is wrong, the start tag of
/// an element that should not be there).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Location {
    pub line: u32,
    pub column: u32,
}

/// A problem with an XDatenfelder file, in German, located.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, thiserror::Error)]
pub struct ParseError {
    pub message: String,
    /// The element, as written in the file (`xdf:name`), when one is concerned.
    pub element: Option<String>,
    pub location: Location,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Zeile {}, Spalte {}", self.location.line, self.location.column)?;
        if let Some(e) = &self.element {
            write!(f, ", <{e}>")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl ParseError {
    pub fn new(message: impl Into<String>, element: Option<&str>, location: Location) -> Self {
        Self { message: message.into(), element: element.map(str::to_owned), location }
    }
}
