DROP TABLE job_attribute_versions;
