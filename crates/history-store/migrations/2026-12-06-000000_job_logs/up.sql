-- Runs' container logs (docs/contracts/job-logs.md): one row per reading of the log of one container
-- of one attempt, and its chunks, each compressed with zstd by the consumer. No foreign key to
-- `jobs`: a log may arrive before its run's events, and outlives nothing it should not (the
-- retention removes it).

CREATE TABLE job_logs (
    job_id        text COLLATE "C" NOT NULL,
    container     text COLLATE "C" NOT NULL CHECK (container IN ('fetch', 'runner')),
    attempt       integer NOT NULL CHECK (attempt >= 1),
    -- The reading (the contract's `collection`); '' for a notice that the log could not be read.
    collection    text COLLATE "C" NOT NULL,
    ended_at      timestamptz NOT NULL,
    chunks        integer NOT NULL CHECK (chunks >= 0),
    kept_lines    bigint NOT NULL,
    kept_bytes    bigint NOT NULL,
    dropped_lines bigint NOT NULL,
    dropped_bytes bigint NOT NULL,
    -- Why the producer could not read the log (a notice), else null.
    unavailable   text,
    archived_at   timestamptz NOT NULL DEFAULT now(),
    -- Set by the retention, which removes the chunks and keeps this row as a tombstone, so that a
    -- chunk delivered again never brings the log back.
    removed_at    timestamptz,
    removal       text COLLATE "C" CHECK (removal IN ('age', 'size', 'superseded')),
    PRIMARY KEY (job_id, container, attempt, collection)
);
-- The retention's order: oldest end first, among the logs still kept.
CREATE INDEX job_logs_ended_at ON job_logs (ended_at) WHERE removed_at IS NULL;

CREATE TABLE job_log_chunks (
    job_id      text COLLATE "C" NOT NULL,
    container   text COLLATE "C" NOT NULL,
    attempt     integer NOT NULL,
    collection  text COLLATE "C" NOT NULL,
    chunk       integer NOT NULL CHECK (chunk >= 0),
    -- Numbers (in the whole log) of the lines of the chunk's first and last byte; whether those
    -- bytes start and end a line: a line is served when its start and end are both here.
    first_line  bigint NOT NULL,
    last_line   bigint NOT NULL,
    starts_line boolean NOT NULL,
    ends_line   boolean NOT NULL,
    -- The text's size, and the compressed size stored.
    bytes       integer NOT NULL,
    stored      integer NOT NULL,
    -- A zstd frame. Already compressed: Postgres must not try again (STORAGE EXTERNAL).
    content     bytea NOT NULL,
    PRIMARY KEY (job_id, container, attempt, collection, chunk),
    FOREIGN KEY (job_id, container, attempt, collection) REFERENCES job_logs ON DELETE CASCADE
);
ALTER TABLE job_log_chunks ALTER COLUMN content SET STORAGE EXTERNAL;
