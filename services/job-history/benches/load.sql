-- A year of realistic runs for the search benchmark: 1,000,000 jobs by 300 owners, 4 statuses each,
-- 2 algorithms each with 3 parameters (2,000,000 algorithms, 6,000,000 parameters).
SELECT setseed(0.42);

INSERT INTO jobs (job_id, group_id, project_id, job_owner, automatically_machine_selection, submission_machines,
    number_of_processes, number_of_processes_by_machine, submission_time, description, priority,
    multiple_execution, job_type, number_of_attempts, execution_machine, end_time, exit_code, guilty_node_id,
    exit_status, cpu_time, wallclock_time, ram_memory, flow_id, flow_version, flow_name, last_modified_time,
    is_deleted)
SELECT 'job-' || lpad(i::text, 7, '0'),
       'group-' || (i % 50000),
       'project-' || (i % 120),
       'owner' || floor(random() * 300)::int,
       random() < 0.5,
       CASE WHEN random() < 0.3 THEN ARRAY['node-' || floor(random() * 40)::int, 'node-' || floor(random() * 40)::int] END,
       1 + floor(random() * 8)::int,
       1 + floor(random() * 4)::int,
       t,
       (ARRAY['nightly ETL', 'hourly sync', 'monthly report', 'backfill', 'Teste Yade com batch'])[1 + floor(random() * 5)::int]
           || ' MS' || floor(random() * 9)::int,
       floor(random() * 5)::int,
       random() < 0.2,
       (ARRAY['Job', 'CronJob', 'ALGORITHM'])[1 + floor(random() * 3)::int],
       floor(random() * 3)::int,
       'node-' || floor(random() * 40)::int,
       t + d * interval '1 second',
       CASE WHEN r < 0.85 THEN 0 ELSE 1 + floor(random() * 120)::int END,
       NULL,
       CASE WHEN r < 0.85 THEN 'SUCCESS' WHEN r < 0.93 THEN 'EXECUTION_ERROR' WHEN r < 0.96 THEN 'KILLED'
            WHEN r < 0.98 THEN 'FAILED_SETUP_EXECUTION_ENVIRONMENT' ELSE 'LOST' END,
       random() * 1000,
       d,
       random() * 4096,
       NULL, NULL, NULL,
       t + d * interval '1 second',
       random() < 0.02
FROM (SELECT i, timestamptz '2025-01-01 00:00:00+00' + random() * interval '365 days' AS t,
             floor(random() * 3600)::int AS d, random() AS r
      FROM generate_series(1, 1000000) AS i) AS runs;

INSERT INTO job_status_history (job_id, status, occurred_at)
SELECT job_id, s.status, submission_time + s.after
FROM jobs, (VALUES ('SCHEDULED', interval '0'), ('INIT', interval '1 second'), ('EXECUTING', interval '5 seconds')) AS s (status, after)
UNION ALL
SELECT job_id, 'FINISHED', end_time FROM jobs;

INSERT INTO job_algorithms (job_id, position, algorithm_id, algorithm_version, algorithm_name)
SELECT job_id, k, 'alg-' || ((hashtext(job_id) & 65535) + k * 7) % 30, '1.' || ((hashtext(job_id) >> 8) & 65535) % 10,
       'alg-' || ((hashtext(job_id) & 65535) + k * 7) % 30
FROM jobs, generate_series(0, 1) AS k;

INSERT INTO job_parameters (algorithm, job_id, position, parameter_id, label, type, value)
SELECT a.id, a.job_id, k, 'p' || (a.id + k * 7) % 20,
       (ARRAY['Sleeps', 'Cores', 'Memory', 'Input', 'Output', 'Threads', 'Retries', 'Batch', 'Window', 'Region',
              'Mode', 'Level', 'Format', 'Source', 'Target', 'Shard', 'Split', 'Queue', 'Limit', 'Seed'])[1 + (a.id * 3 + k) % 20],
       'INTEGER', ARRAY[(abs(hashtext(a.id::text || '/' || k)) % 1000)::text]
FROM job_algorithms a, generate_series(0, 2) AS k;
