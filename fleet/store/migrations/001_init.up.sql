-- The fleet's first schema. {{id}} is the dialect's auto-numbered key
-- (SQLite: INTEGER PRIMARY KEY, PostgreSQL: BIGINT GENERATED ALWAYS AS
-- IDENTITY PRIMARY KEY); times are Unix seconds, days are 'YYYY-MM-DD' (UTC).

-- One row per acknowledged submission. (grp, idem_key) makes a client's retry
-- a replay of the stored acknowledgement instead of a second event; digest,
-- the SHA-256 of the document as sent, tells a retry from a key reused for
-- another document.
CREATE TABLE submissions (
    id          {{id}},
    grp         TEXT NOT NULL,
    idem_key    TEXT NOT NULL,
    host        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    digest      TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    n_reports   INTEGER NOT NULL,
    ack         TEXT NOT NULL,
    UNIQUE (grp, idem_key)
);

-- One bucket per report signature; counters are kept forever.
CREATE TABLE buckets (
    signature       TEXT PRIMARY KEY,
    sig_version     INTEGER NOT NULL,
    title           TEXT NOT NULL,
    type            TEXT NOT NULL,
    guilty_function TEXT,
    alt_titles      TEXT NOT NULL,
    count           BIGINT NOT NULL,
    first_seen      BIGINT NOT NULL,
    last_seen       BIGINT NOT NULL,
    kb_id           TEXT,
    kb_title        TEXT,
    kb_confidence   TEXT,
    workaround      TEXT
);

-- One event per report of a submission.
CREATE TABLE events (
    id            {{id}},
    submission_id BIGINT NOT NULL REFERENCES submissions (id),
    signature     TEXT NOT NULL REFERENCES buckets (signature),
    sig_version   INTEGER NOT NULL,
    host          TEXT NOT NULL,
    kernel        TEXT,
    tainted       TEXT,
    seen_at       BIGINT NOT NULL,
    occurrences   INTEGER NOT NULL
);
CREATE INDEX events_signature ON events (signature);

CREATE TABLE bucket_days (
    signature TEXT NOT NULL,
    day       TEXT NOT NULL,
    count     BIGINT NOT NULL,
    PRIMARY KEY (signature, day)
);

CREATE TABLE bucket_hosts (
    signature  TEXT NOT NULL,
    host       TEXT NOT NULL,
    count      BIGINT NOT NULL,
    first_seen BIGINT NOT NULL,
    last_seen  BIGINT NOT NULL,
    PRIMARY KEY (signature, host)
);

-- kernel '' stands for a report that names no kernel.
CREATE TABLE bucket_kernels (
    signature  TEXT NOT NULL,
    kernel     TEXT NOT NULL,
    count      BIGINT NOT NULL,
    first_seen BIGINT NOT NULL,
    last_seen  BIGINT NOT NULL,
    PRIMARY KEY (signature, kernel)
);

-- tainted '?' stands for unknown, '' for "Not tainted".
CREATE TABLE bucket_taints (
    signature TEXT NOT NULL,
    tainted   TEXT NOT NULL,
    count     BIGINT NOT NULL,
    PRIMARY KEY (signature, tainted)
);

CREATE TABLE bucket_modules (
    signature TEXT NOT NULL,
    module    TEXT NOT NULL,
    count     BIGINT NOT NULL,
    PRIMARY KEY (signature, module)
);

-- Raw samples, capped per bucket: the report and what was concluded of it.
CREATE TABLE samples (
    id            {{id}},
    signature     TEXT NOT NULL,
    submission_id BIGINT NOT NULL,
    host          TEXT NOT NULL,
    seen_at       BIGINT NOT NULL,
    diagnosis     TEXT NOT NULL
);
CREATE INDEX samples_signature ON samples (signature);
