-- For each job, which event set each of its attributes: the attribute's name, mapped to that event's
-- `[occurredAt, eventId]`. The consumer compares an incoming event with these, attribute by attribute,
-- so that the events of a job folded in any order, with duplicates, give the same row (the contract's
-- rules 3 and 6). Kept beside `jobs`, not in it, so that searches read narrow rows.
CREATE TABLE job_attribute_versions (
    job_id   text COLLATE "C" PRIMARY KEY REFERENCES jobs (job_id) ON DELETE CASCADE,
    versions jsonb NOT NULL
);
