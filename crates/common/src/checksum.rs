//! An asset's checksum: what the catalog offers with the version to run, and what the deployer checks
//! the download against (a run fails before its runner starts when they differ). One type, so that
//! the catalog's `toRun` is the deployer's `resource` exactly.

use serde::{Deserialize, Serialize};

/// The asset's checksum; a run fails before its runner starts when the download differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Checksum {
    pub algorithm: ChecksumAlgorithm,
    /// Hexadecimal.
    pub value: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ChecksumAlgorithm {
    Sha512,
    Sha256,
    Sha1,
    Md5,
}

impl ChecksumAlgorithm {
    /// The busybox/coreutils command that computes it.
    pub fn command(self) -> &'static str {
        match self {
            ChecksumAlgorithm::Sha512 => "sha512sum",
            ChecksumAlgorithm::Sha256 => "sha256sum",
            ChecksumAlgorithm::Sha1 => "sha1sum",
            ChecksumAlgorithm::Md5 => "md5sum",
        }
    }

    /// How many hexadecimal digits its value has.
    pub fn hex_len(self) -> usize {
        match self {
            ChecksumAlgorithm::Sha512 => 128,
            ChecksumAlgorithm::Sha256 => 64,
            ChecksumAlgorithm::Sha1 => 40,
            ChecksumAlgorithm::Md5 => 32,
        }
    }
}
