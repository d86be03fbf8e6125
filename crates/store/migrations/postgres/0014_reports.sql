-- amtsweg, postgres, migration 14: the Mängelmelder (issue 20). Departments (teams of an
-- authority), report categories with their questions, areas (GeoJSON, checked on import),
-- which department handles a category in an area, the address list, reports with their
-- personal part in columns of their own (deleted after the retention period), status updates,
-- and the API keys of Open311 clients (only their SHA-256 is kept).

CREATE TABLE departments (
    id           TEXT PRIMARY KEY,
    authority_id TEXT NOT NULL REFERENCES authorities(id),
    name         TEXT NOT NULL
);
CREATE INDEX departments_by_authority ON departments (authority_id);

CREATE TABLE department_members (
    department_id TEXT NOT NULL REFERENCES departments(id),
    user_id       TEXT NOT NULL REFERENCES users(id),
    PRIMARY KEY (department_id, user_id)
);

CREATE TABLE report_categories (
    authority_id  TEXT NOT NULL REFERENCES authorities(id),
    code          TEXT NOT NULL,
    name          TEXT NOT NULL,
    group_name    TEXT NOT NULL,
    keywords      TEXT NOT NULL,
    description   TEXT NOT NULL,
    attributes    TEXT NOT NULL,
    publication   TEXT NOT NULL,
    deadline_days BIGINT NOT NULL,
    PRIMARY KEY (authority_id, code)
);

CREATE TABLE report_areas (
    id           TEXT PRIMARY KEY,
    authority_id TEXT NOT NULL REFERENCES authorities(id),
    name         TEXT NOT NULL,
    geometry     TEXT NOT NULL,
    area_m2      DOUBLE PRECISION NOT NULL,
    west         DOUBLE PRECISION NOT NULL,
    south        DOUBLE PRECISION NOT NULL,
    east         DOUBLE PRECISION NOT NULL,
    north        DOUBLE PRECISION NOT NULL
);
CREATE INDEX report_areas_by_authority ON report_areas (authority_id);

CREATE TABLE report_assignments (
    authority_id  TEXT NOT NULL REFERENCES authorities(id),
    category      TEXT NOT NULL,
    area_id       TEXT NOT NULL REFERENCES report_areas(id),
    department_id TEXT NOT NULL REFERENCES departments(id),
    PRIMARY KEY (authority_id, category, area_id)
);

CREATE TABLE addresses (
    authority_id TEXT NOT NULL REFERENCES authorities(id),
    search_key   TEXT NOT NULL,
    street       TEXT NOT NULL,
    house_number TEXT NOT NULL,
    postcode     TEXT NOT NULL,
    place        TEXT NOT NULL,
    ars          TEXT,
    lat          DOUBLE PRECISION NOT NULL,
    lon          DOUBLE PRECISION NOT NULL
);
CREATE INDEX addresses_by_key ON addresses (authority_id, search_key);

CREATE TABLE reports (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    authority_id        TEXT NOT NULL REFERENCES authorities(id),
    category            TEXT NOT NULL,
    department_id       TEXT NOT NULL REFERENCES departments(id),
    area_id             TEXT NOT NULL,
    lat                 DOUBLE PRECISION NOT NULL,
    lon                 DOUBLE PRECISION NOT NULL,
    address             TEXT,
    address_id          TEXT,
    postcode            TEXT,
    description         TEXT NOT NULL,
    public_description  TEXT NOT NULL,
    answers             TEXT NOT NULL,
    status              TEXT NOT NULL,
    published           BOOLEAN NOT NULL,
    created_at          TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL,
    deadline_at         TIMESTAMPTZ NOT NULL,
    closed_at           TIMESTAMPTZ,
    supporters          BIGINT NOT NULL DEFAULT 0,
    duplicate_of        BIGINT,
    forwarded_to        TEXT,
    token               TEXT NOT NULL UNIQUE,
    photos              TEXT NOT NULL,
    source              TEXT NOT NULL,
    reporter_user_id    TEXT,
    reporter_email      TEXT,
    reporter_first_name TEXT,
    reporter_last_name  TEXT,
    reporter_phone      TEXT,
    reporter_device_id  TEXT,
    reporter_account_id TEXT,
    personal_deleted_at TIMESTAMPTZ
);
CREATE INDEX reports_by_time ON reports (created_at);
CREATE INDEX reports_by_authority ON reports (authority_id, status);
CREATE INDEX reports_by_place ON reports (category, lat, lon);
CREATE INDEX reports_by_closing ON reports (closed_at);

CREATE TABLE report_updates (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    report_id   BIGINT NOT NULL REFERENCES reports(id),
    at          TIMESTAMPTZ NOT NULL,
    status      TEXT NOT NULL,
    note        TEXT NOT NULL,
    internal    BOOLEAN NOT NULL,
    actor_id    TEXT,
    client_id   TEXT,
    external_id TEXT
);
CREATE INDEX report_updates_by_report ON report_updates (report_id);
CREATE INDEX report_updates_by_time ON report_updates (at);
CREATE UNIQUE INDEX report_updates_by_external ON report_updates (client_id, external_id);

CREATE TABLE open311_keys (
    id           TEXT PRIMARY KEY,
    authority_id TEXT NOT NULL REFERENCES authorities(id),
    name         TEXT NOT NULL,
    key_hash     TEXT NOT NULL UNIQUE,
    created_at   TIMESTAMPTZ NOT NULL,
    revoked_at   TIMESTAMPTZ
);

-- Photos of reports: checked and encoded again (no metadata), encrypted like uploads.
CREATE TABLE report_photos (
    id         TEXT PRIMARY KEY,
    report_id  BIGINT NOT NULL REFERENCES reports(id),
    position   BIGINT NOT NULL,
    media_type TEXT NOT NULL,
    content    TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX report_photos_by_report ON report_photos (report_id);
