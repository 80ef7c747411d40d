CREATE INDEX job_parameters_type ON job_parameters (type, job_id);
