-- Uploads: a vmcore or a kdump directory (tar) sent to POST /api/reports is
-- kept here, in chunks, until a worker (a river job, on any machine sharing
-- the database) has analyzed and ingested it; {{blob}} is the dialect's byte
-- column. (grp, idem_key) makes a retried upload the same upload, as
-- submissions' does; state is receiving, queued, done or failed.
CREATE TABLE uploads (
    id          {{id}},
    grp         TEXT NOT NULL,
    idem_key    TEXT NOT NULL,
    host        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    digest      TEXT NOT NULL,
    size        BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    state       TEXT NOT NULL,
    job_id      BIGINT,
    attempts    INTEGER NOT NULL,
    ack         TEXT,
    error       TEXT,
    finished_at BIGINT,
    UNIQUE (grp, idem_key)
);

CREATE TABLE upload_chunks (
    upload_id BIGINT NOT NULL,
    seq       INTEGER NOT NULL,
    data      {{blob}} NOT NULL,
    PRIMARY KEY (upload_id, seq)
);
