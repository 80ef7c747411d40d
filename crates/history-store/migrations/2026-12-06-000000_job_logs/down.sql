DROP TABLE job_log_chunks;
DROP TABLE job_logs;
