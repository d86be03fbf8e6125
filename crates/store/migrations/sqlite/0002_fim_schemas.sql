-- amtsweg, SQLite, migration 2: imported FIM schemas, pinned by the SHA-256 of their content.
CREATE TABLE fim_schemas (
    id          TEXT NOT NULL,
    version     TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    xdf_version TEXT NOT NULL,
    name        TEXT NOT NULL,
    content     TEXT NOT NULL,
    rules       TEXT,
    service_id  TEXT REFERENCES services(id),
    imported_at TEXT NOT NULL,
    PRIMARY KEY (id, version)
);
