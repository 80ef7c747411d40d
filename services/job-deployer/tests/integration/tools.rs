//! The outside programs some tests run, installed by `tests/run.sh` and named by the environment.

use std::path::PathBuf;

/// The program named by `variable`; a clear failure when the test stack did not provide it.
pub fn program(variable: &str) -> PathBuf {
    let path = std::env::var_os(variable)
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("{variable} is not set: run the tests with tests/run.sh, which installs it"));
    assert!(path.exists(), "{variable} names {}, which does not exist", path.display());
    path
}
