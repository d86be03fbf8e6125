//! FIM schemas as imported into the catalog.



/// An imported FIM schema, exactly as imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FimSchemaRecord {
    pub id: String,
    pub version: String,
    /// SHA-256 of the file's content, hex.
    pub sha256: String,
    pub xdf_version: String,
    pub name: String,
    pub content: String,
    /// The rule file used, as JSON.
    pub rules: Option<String>,
    pub service_id: Option<String>,
}
