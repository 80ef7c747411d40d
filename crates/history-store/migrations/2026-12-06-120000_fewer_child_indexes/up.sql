-- Fewer index entries per row where no search needs them (each inserted row pays one entry per index).
-- A parameter's type (a handful of names: INTEGER, STRING...) is asked with `==`, `=in=` or an
-- ordering operator, and those are answered by the GIN index that holds it beside the other columns
-- of the same parameter (job_parameters_together); its own b-tree only added a range scan for a `*`
-- pattern, which so few names make unselective (a scan is chosen anyway).
-- Measured with `cargo bench -p job-history --bench search` before and after (docs/benchmarks.md);
-- dropping job_algorithms_algorithm_version as well made "algorithm and version" slower: it stays.
DROP INDEX job_parameters_type;
