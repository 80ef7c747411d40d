//! Where a job's group, name and version come from when the repository does not say (raw
//! repositories and the local folder), and which of a version's files is the job to run.
//!
//! The convention is Maven's repository layout: `<group path>/<name>/<version>/<file>`, the group's
//! folders joined with dots. `com/acme/etl/sales-etl/1.4.2/sales-etl-1.4.2.zip` is group
//! `com.acme.etl`, name `sales-etl`, version `1.4.2`. A file less than two folders deep is not a
//! job's and is left out; a job directly under the repository (`<name>/<version>/<file>`) has the
//! empty group.

/// Group, name and version of the file at `path` (with or without a leading `/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coordinates {
    pub group: String,
    pub name: String,
    pub version: String,
}

pub fn coordinates(path: &str) -> Option<Coordinates> {
    let mut parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let _file = parts.pop().filter(|file| !file.is_empty())?;
    let version = parts.pop().filter(|part| !part.is_empty())?;
    let name = parts.pop().filter(|part| !part.is_empty())?;
    if parts.iter().any(|part| part.is_empty()) {
        return None;
    }
    Some(Coordinates { group: parts.join("."), name: name.to_owned(), version: version.to_owned() })
}

/// What a file of a version is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum AssetKind {
    /// The job itself: an archive, a jar, a script.
    Package,
    /// Source or documentation archives published beside the job.
    Sources,
    /// Build metadata: `.pom`, `maven-metadata.xml`, a module file.
    Metadata,
    /// `.sha1`, `.md5`, `.sha256`, `.sha512` files.
    Checksum,
    /// `.asc` signatures.
    Signature,
}

const CHECKSUMS: [&str; 4] = [".sha1", ".md5", ".sha256", ".sha512"];
/// The packages the runner knows how to unpack or run, in the order a choice prefers them.
const PACKAGES: [&str; 6] = [".zip", ".tar.gz", ".tgz", ".tar", ".jar", ".sh"];

pub fn kind(path: &str) -> AssetKind {
    let file = path.rsplit('/').next().unwrap_or(path).to_lowercase();
    if CHECKSUMS.iter().any(|ext| file.ends_with(ext)) {
        AssetKind::Checksum
    } else if file.ends_with(".asc") {
        AssetKind::Signature
    } else if file.ends_with(".pom") || file.ends_with(".module") || file.starts_with("maven-metadata") {
        AssetKind::Metadata
    } else if ["-sources.", "-javadoc.", "-tests."].iter().any(|part| file.contains(part)) {
        AssetKind::Sources
    } else {
        AssetKind::Package
    }
}

/// Which of `paths` to run: a package, the kinds the runner unpacks first, then the shortest name
/// (`job-1.0.zip` before `job-1.0-linux.zip`, a classifier making it longer). `None` when the
/// version has no package.
pub fn to_run<'a>(paths: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    paths.into_iter().filter(|path| kind(path) == AssetKind::Package).min_by_key(|path| {
        let file = path.rsplit('/').next().unwrap_or(path).to_lowercase();
        let preference = PACKAGES.iter().position(|ext| file.ends_with(ext)).unwrap_or(PACKAGES.len());
        (preference, file.len(), file)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinates_follow_the_maven_layout() {
        let expect = |group: &str, name: &str, version: &str| {
            Some(Coordinates { group: group.into(), name: name.into(), version: version.into() })
        };
        assert_eq!(coordinates("com/acme/etl/sales/1.4.2/sales-1.4.2.zip"), expect("com.acme.etl", "sales", "1.4.2"));
        assert_eq!(coordinates("/com/acme/etl/sales/1.4.2/sales-1.4.2.zip"), expect("com.acme.etl", "sales", "1.4.2"));
        assert_eq!(coordinates("sales/1.0/run.sh"), expect("", "sales", "1.0"));
        assert_eq!(coordinates("team a/daily load/2.0/daily load.zip"), expect("team a", "daily load", "2.0"));
        for not_a_job in ["run.sh", "1.0/run.sh", "sales/1.0/", "a//sales/1.0/x.zip", ""] {
            assert_eq!(coordinates(not_a_job), None, "{not_a_job}");
        }
    }

    #[test]
    fn the_package_is_chosen_over_what_comes_with_it() {
        let files = [
            "g/job/1.0/job-1.0.pom",
            "g/job/1.0/job-1.0.pom.sha1",
            "g/job/1.0/job-1.0.zip.md5",
            "g/job/1.0/job-1.0-sources.jar",
            "g/job/1.0/job-1.0.jar",
            "g/job/1.0/job-1.0.zip",
            "g/job/1.0/job-1.0-linux.zip",
            "g/job/1.0/job-1.0.zip.asc",
        ];
        assert_eq!(to_run(files), Some("g/job/1.0/job-1.0.zip"));
        assert_eq!(to_run(["g/job/1.0/job-1.0.pom", "g/job/1.0/job-1.0.pom.sha1"]), None);
        assert_eq!(kind("g/job/1.0/maven-metadata.xml"), AssetKind::Metadata);
        assert_eq!(kind("g/job/1.0/job-1.0.JAR.SHA256"), AssetKind::Checksum);
        assert_eq!(to_run(["x/job/2/notes.txt", "x/job/2/run.sh"]), Some("x/job/2/run.sh"));
    }
}
