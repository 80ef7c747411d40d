//! The jobs of a repository, made once from its components, and the catalog's own matching of a
//! search (for the local folder, raw repositories and searches that Nexus refuses).

use std::collections::HashMap;

use wildmatch::WildMatch;

use crate::model::{self, ArtifactSummary, Component};

/// What a search asks; all empty lists every job.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Filter {
    /// Words that must all match a job's group, name or one of its versions.
    pub q: String,
    /// A group pattern: `*` any text, `?` one character.
    pub group: String,
    /// A name pattern, as `group`.
    pub name: String,
}

impl Filter {
    pub fn is_empty(&self) -> bool {
        self.q.is_empty() && self.group.is_empty() && self.name.is_empty()
    }

    /// A pattern or word that starts with a wildcard, which Nexus' search refuses (3.74+).
    pub fn starts_with_wildcard(&self) -> bool {
        let leading = |text: &str| text.starts_with(['*', '?']);
        leading(&self.group) || leading(&self.name) || self.q.split_whitespace().any(leading)
    }

    /// The catalog's own matching, for the sources Nexus' search cannot filter.
    fn matches(&self, job: &ArtifactSummary, versions: &[String]) -> bool {
        let pattern = |text: &str| WildMatch::new_case_insensitive(text);
        let whole = |text: &str, value: &str| text.is_empty() || pattern(text).matches(value);
        let word = |word: &str| {
            let contains = pattern(&format!("*{word}*"));
            contains.matches(&job.group) || contains.matches(&job.name) || versions.iter().any(|v| contains.matches(v))
        };
        whole(&self.group, &job.group) && whole(&self.name, &job.name) && self.q.split_whitespace().all(word)
    }
}

/// A repository's components and the jobs they make, computed once per fetch.
#[derive(Debug)]
pub struct Listing {
    components: Vec<Component>,
    jobs: Vec<ArtifactSummary>,
    /// The versions of each job, in the order of `jobs`: what `q` matches beside group and name.
    versions: Vec<Vec<String>>,
}

impl Listing {
    pub fn new(components: Vec<Component>) -> Listing {
        let jobs = model::summaries(&components);
        let mut versions: HashMap<(&str, &str), Vec<String>> = HashMap::new();
        for c in &components {
            versions.entry((&c.group, &c.name)).or_default().push(c.version.clone());
        }
        let versions = jobs.iter().map(|job| versions.remove(&(&*job.group, &*job.name)).unwrap_or_default()).collect();
        Listing { components, jobs, versions }
    }

    /// The jobs that `filter` selects, matched here.
    pub fn filtered(&self, filter: &Filter) -> Vec<ArtifactSummary> {
        if filter.is_empty() {
            return self.jobs.clone();
        }
        self.jobs
            .iter()
            .zip(&self.versions)
            .filter(|(job, versions)| filter.matches(job, versions))
            .map(|(job, _)| job.clone())
            .collect()
    }

    pub fn job(&self, group: &str, name: &str) -> Vec<Component> {
        self.components.iter().filter(|c| c.group == group && c.name == name).cloned().collect()
    }
}
