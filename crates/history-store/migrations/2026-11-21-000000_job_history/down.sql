DROP TABLE job_parameters;
DROP TABLE job_algorithms;
DROP TABLE job_status_history;
DROP TABLE jobs;
DROP EXTENSION IF EXISTS btree_gin;
