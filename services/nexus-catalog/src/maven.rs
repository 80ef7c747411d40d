//! Maven's version order (`org.apache.maven.artifact.versioning.ComparableVersion`), and snapshot
//! builds grouped under their base version.
//!
//! Written here rather than taken from a crate: the one crate that ports it (`mvn_version` 0.1)
//! is a young single-author port, and the order fits in a page that the tests below pin with
//! Maven's own examples. Nexus' `sort=version` has open bugs, so the catalog sorts itself.
//!
//! A version is split into items at `.`, `-` and every change between digits and letters; `-`
//! (and a change between digits and letters) opens a sub-list. Numbers compare as numbers, of any
//! length. Qualifiers order `alpha` < `beta` < `milestone` < `rc` (= `cr`) < `snapshot` < release
//! (`""`, `ga`, `final`, `release`) < `sp` < any other qualifier (alphabetically); `a1`, `b1` and
//! `m1` are `alpha-1`, `beta-1`, `milestone-1`. Trailing zeros and release qualifiers do not count:
//! `1` = `1.0` = `1.0.0-ga`.

use std::cmp::Ordering;

/// A version, ready to be compared in Maven's order.
#[derive(Debug, Clone)]
pub struct MavenVersion(List);

impl MavenVersion {
    pub fn parse(version: &str) -> MavenVersion {
        MavenVersion(parse(&version.to_lowercase()))
    }
}

impl Ord for MavenVersion {
    fn cmp(&self, other: &MavenVersion) -> Ordering {
        compare_lists(&self.0, &other.0)
    }
}

impl PartialOrd for MavenVersion {
    fn partial_cmp(&self, other: &MavenVersion) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for MavenVersion {
    fn eq(&self, other: &MavenVersion) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for MavenVersion {}

/// A snapshot build's version, as Maven deploys it: `1.0-20240105.093000-3` is build 3 of
/// `1.0-SNAPSHOT`, made at that UTC time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotBuild<'a> {
    /// `1.0-SNAPSHOT`.
    pub base_version: String,
    /// `20240105.093000`: sorts as text.
    pub timestamp: &'a str,
    pub build_number: u64,
}

/// The snapshot build that `version` names, if it names one.
pub fn snapshot_build(version: &str) -> Option<SnapshotBuild<'_>> {
    let (rest, build) = version.rsplit_once('-')?;
    let (base, timestamp) = rest.rsplit_once('-')?;
    let (date, time) = timestamp.split_once('.')?;
    let digits = |text: &str, len: usize| text.len() == len && text.bytes().all(|b| b.is_ascii_digit());
    if base.is_empty() || !digits(date, 8) || !digits(time, 6) || build.is_empty() {
        return None;
    }
    Some(SnapshotBuild { base_version: format!("{base}-SNAPSHOT"), timestamp, build_number: build.parse().ok()? })
}

/// The version a build is listed under: its base version for a snapshot build, itself otherwise.
pub fn base_version(version: &str) -> String {
    snapshot_build(version).map_or_else(|| version.to_owned(), |build| build.base_version)
}

pub fn is_snapshot(version: &str) -> bool {
    version.to_ascii_uppercase().ends_with("-SNAPSHOT") || snapshot_build(version).is_some()
}

#[derive(Debug, Clone)]
enum Item {
    /// Digits without their leading zeros, so that numbers of any length compare by length first.
    Number(String),
    /// A qualifier's rank: `0`..`6` for the known ones, `7-<text>` for any other.
    Qualifier(String),
    List(List),
}

type List = Vec<Item>;

const QUALIFIERS: [&str; 7] = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"];
/// The rank of a release (`""`): a qualifier compares to "nothing" as it compares to this.
const RELEASE: &str = "5";

fn number(digits: &str) -> Item {
    Item::Number(digits.trim_start_matches('0').to_owned())
}

fn qualifier(text: &str, followed_by_digit: bool) -> Item {
    let text = match (text, followed_by_digit) {
        ("a", true) => "alpha",
        ("b", true) => "beta",
        ("m", true) => "milestone",
        ("ga" | "final" | "release", _) => "",
        ("cr", _) => "rc",
        (other, _) => other,
    };
    Item::Qualifier(match QUALIFIERS.iter().position(|q| *q == text) {
        Some(rank) => rank.to_string(),
        None => format!("{}-{text}", QUALIFIERS.len()),
    })
}

fn is_null(item: &Item) -> bool {
    match item {
        Item::Number(digits) => digits.is_empty(),
        Item::Qualifier(rank) => rank == RELEASE,
        Item::List(list) => list.is_empty(),
    }
}

/// Trailing "nothing" items do not count; stops at the first item that is not a list.
fn normalize(list: &mut List) {
    let mut i = list.len();
    while i > 0 {
        i -= 1;
        if is_null(&list[i]) {
            list.remove(i);
        } else if !matches!(list[i], Item::List(_)) {
            break;
        }
    }
}

fn item(text: &str, is_digit: bool) -> Item {
    if is_digit { number(text) } else { qualifier(text, false) }
}

/// Maven's parser: a stack of nested lists, each `-` or digit/letter change opening a new one.
fn parse(version: &str) -> List {
    // Each open list is kept on the stack; a finished one is normalized and added to its parent.
    let mut stack: Vec<List> = vec![Vec::new()];
    let mut is_digit = false;
    let mut start = 0;
    let chars: Vec<(usize, char)> = version.char_indices().collect();
    for &(i, c) in &chars {
        let current = stack.len() - 1;
        if c == '.' || c == '-' {
            let text = &version[start..i];
            stack[current].push(if text.is_empty() { number("0") } else { item(text, is_digit) });
            start = i + c.len_utf8();
            if c == '-' {
                stack.push(Vec::new());
            }
        } else if c.is_ascii_digit() {
            if !is_digit && i > start {
                stack[current].push(qualifier(&version[start..i], true));
                start = i;
                stack.push(Vec::new());
            }
            is_digit = true;
        } else {
            if is_digit && i > start {
                stack[current].push(number(&version[start..i]));
                start = i;
                stack.push(Vec::new());
            }
            is_digit = false;
        }
    }
    if version.len() > start {
        // Maven 3.9: a final `.X` qualifier counts as `-X` (`2.0.a` orders as `2.0-a`, before `2-1`).
        if !is_digit && stack.last().is_some_and(|list| !list.is_empty()) {
            stack.push(Vec::new());
        }
        let last = stack.len() - 1;
        stack[last].push(item(&version[start..], is_digit));
    }
    while stack.len() > 1 {
        let mut list = stack.pop().unwrap_or_default();
        normalize(&mut list);
        if let Some(parent) = stack.last_mut() {
            parent.push(Item::List(list));
        }
    }
    let mut root = stack.pop().unwrap_or_default();
    normalize(&mut root);
    root
}

fn compare_numbers(a: &str, b: &str) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// `a` compared with `b`, where `None` is "nothing" (the end of the shorter list).
fn compare(a: &Item, b: Option<&Item>) -> Ordering {
    match (a, b) {
        (Item::Number(digits), None) => {
            if digits.is_empty() {
                Ordering::Equal
            } else {
                Ordering::Greater
            }
        }
        (Item::Number(x), Some(Item::Number(y))) => compare_numbers(x, y),
        (Item::Number(_), Some(_)) => Ordering::Greater,
        (Item::Qualifier(rank), None) => rank.as_str().cmp(RELEASE),
        (Item::Qualifier(_), Some(Item::Number(_) | Item::List(_))) => Ordering::Less,
        (Item::Qualifier(x), Some(Item::Qualifier(y))) => x.cmp(y),
        // The whole list, not only its first item (MNG-6964): `1-0.1` is after `1`.
        (Item::List(list), None) => {
            list.iter().map(|item| compare(item, None)).find(|order| order.is_ne()).unwrap_or(Ordering::Equal)
        }
        (Item::List(_), Some(Item::Number(_))) => Ordering::Less,
        (Item::List(_), Some(Item::Qualifier(_))) => Ordering::Greater,
        (Item::List(x), Some(Item::List(y))) => compare_lists(x, y),
    }
}

fn compare_lists(a: &List, b: &List) -> Ordering {
    for i in 0..a.len().max(b.len()) {
        let order = match (a.get(i), b.get(i)) {
            (Some(x), y) => compare(x, y),
            (None, Some(y)) => compare(y, None).reverse(),
            (None, None) => Ordering::Equal,
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_ascending(versions: &[&str]) {
        for pair in versions.windows(2) {
            let (low, high) = (MavenVersion::parse(pair[0]), MavenVersion::parse(pair[1]));
            assert!(low < high, "{} should be before {}", pair[0], pair[1]);
            assert!(high > low, "{} should be after {}", pair[1], pair[0]);
        }
    }

    fn assert_same(a: &str, b: &str) {
        assert_eq!(MavenVersion::parse(a), MavenVersion::parse(b), "{a} and {b} should be the same version");
    }

    // The examples of Maven's ComparableVersionTest (VERSIONS_QUALIFIER and VERSIONS_NUMBER).
    #[test]
    fn qualifiers_in_maven_order() {
        assert_ascending(&[
            "1-alpha2snapshot",
            "1-alpha2",
            "1-alpha-123",
            "1-beta-2",
            "1-beta123",
            "1-m2",
            "1-m11",
            "1-rc",
            "1-cr2",
            "1-rc123",
            "1-SNAPSHOT",
            "1",
            "1-sp",
            "1-sp2",
            "1-sp123",
            "1-abc",
            "1-def",
            "1-pom-1",
            "1-1-snapshot",
            "1-1",
            "1-2",
            "1-123",
        ]);
    }

    #[test]
    fn numbers_in_maven_order() {
        assert_ascending(&[
            "2.0", "2.0.a", "2-1", "2.0.2", "2.0.123", "2.1.0", "2.1-a", "2.1b", "2.1-c", "2.1-1", "2.1.0.1", "2.2",
            "2.123", "11.a2", "11.a11", "11.b2", "11.b11", "11.m2", "11.m11", "11", "11.a", "11b", "11c", "11m",
        ]);
    }

    #[test]
    fn equal_spellings() {
        for (a, b) in [
            ("1", "1.0.0"),
            ("1", "1-0"),
            ("1", "1.0-0"),
            ("1a", "1-a"),
            ("1a", "1.0-a"),
            ("1x", "1-x"),
            ("1-a1", "1-alpha-1"),
            ("1b2", "1-beta-2"),
            ("1m3", "1.0-milestone-3"),
            ("1-ga", "1"),
            ("1-final", "1"),
            ("1-release", "1"),
            ("1-cr", "1-rc"),
            ("1.0-SNAPSHOT", "1-snapshot"),
            ("1.0.0-RELEASE", "1.0.0"),
        ] {
            assert_same(a, b);
        }
    }

    #[test]
    fn numbers_of_any_length() {
        assert_ascending(&[
            "1.2.3",
            "1.2.10",
            "1.10",
            "1.20230101",
            "1.99999999999999999999999",
            "1.100000000000000000000000",
        ]);
        assert_same("1.007", "1.7");
        assert_ascending(&["1", "1-0.1"]);
    }

    #[test]
    fn a_snapshot_build_is_listed_under_its_base_version() {
        let build = snapshot_build("1.4.0-20240105.093000-12").unwrap();
        assert_eq!(build.base_version, "1.4.0-SNAPSHOT");
        assert_eq!((build.timestamp, build.build_number), ("20240105.093000", 12));
        assert_eq!(base_version("1.4.0-20240105.093000-12"), "1.4.0-SNAPSHOT");
        assert_eq!(base_version("1.4.0-rc-1"), "1.4.0-rc-1");
        for not_a_build in ["1.4.0", "1.4.0-SNAPSHOT", "20240105.093000-1", "1-2024015.093000-1", "1-20240105.093000-x"]
        {
            assert_eq!(snapshot_build(not_a_build), None, "{not_a_build}");
        }
        assert!(is_snapshot("1.0-snapshot") && is_snapshot("1.0-20240105.093000-1") && !is_snapshot("1.0"));
    }
}
