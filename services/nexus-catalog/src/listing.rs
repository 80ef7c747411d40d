//! The jobs of a repository, made once from its components, and the catalog's own matching of a
//! search (for the local folder, raw repositories and searches that Nexus refuses).

use wildmatch::WildMatch;

use crate::model::{self, ArtifactSummary, Component};

/// What a search asks; all empty lists every job.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Filter {
    /// Words that must all match a version's group, name or version.
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

    /// The catalog's own matching, for the sources Nexus' search cannot filter. Version by version,
    /// as Nexus' search: a word found in a version only selects that version.
    fn matches(&self, component: &Component) -> bool {
        let pattern = |text: &str| WildMatch::new_case_insensitive(text);
        let whole = |text: &str, value: &str| text.is_empty() || pattern(text).matches(value);
        let word = |word: &str| {
            let contains = pattern(&format!("*{word}*"));
            [&component.group, &component.name, &component.version].into_iter().any(|value| contains.matches(value))
        };
        whole(&self.group, &component.group)
            && whole(&self.name, &component.name)
            && self.q.split_whitespace().all(word)
    }
}

/// A repository's components and the jobs they make, computed once per fetch.
#[derive(Debug)]
pub struct Listing {
    components: Vec<Component>,
    jobs: Vec<ArtifactSummary>,
}

impl Listing {
    pub fn new(components: Vec<Component>) -> Listing {
        let jobs = model::summaries(&components);
        Listing { components, jobs }
    }

    /// The jobs that `filter` selects, matched here: their latest version and count are those of
    /// their matching versions.
    pub fn filtered(&self, filter: &Filter) -> Vec<ArtifactSummary> {
        if filter.is_empty() {
            return self.jobs.clone();
        }
        model::summaries(self.components.iter().filter(|component| filter.matches(component)))
    }

    pub fn job(&self, group: &str, name: &str) -> Vec<Component> {
        self.components.iter().filter(|c| c.group == group && c.name == name).cloned().collect()
    }
}
