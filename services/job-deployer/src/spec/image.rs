//! Container image references, checked with the grammar of the distribution project's `reference`
//! package (what `docker pull` and the kubelet accept): `[host[:port]/]path[:tag][@digest]`.

use std::sync::LazyLock;

use regex::Regex;

use super::names::regex;

const MAX_NAME: usize = 255;

static REFERENCE: LazyLock<Regex> = LazyLock::new(|| {
    let path_component = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
    let domain_component = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
    let host = format!(r"(?:{domain_component}(?:\.{domain_component})*|\[[a-fA-F0-9:]+\])");
    let domain = format!(r"{host}(?::[0-9]+)?");
    let name = format!(r"(?P<name>(?:{domain}/)?{path_component}(?:/{path_component})*)");
    let tag = r"[\w][\w.-]{0,127}";
    let digest = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}";
    regex(&format!(r"^{name}(?::{tag})?(?:@{digest})?$"))
});

/// Why `reference` cannot be pulled, if it cannot.
pub fn problem(reference: &str) -> Option<String> {
    match REFERENCE.captures(reference) {
        None if reference.is_empty() => Some("is empty".to_owned()),
        None => Some(format!(
            "'{reference}' is not an image reference: expected [registry[:port]/]lower-case/path[:tag][@sha256:digest]"
        )),
        Some(found) if found.name("name").is_some_and(|name| name.len() > MAX_NAME) => {
            Some(format!("the repository name is longer than {MAX_NAME} characters"))
        }
        Some(_) => None,
    }
}
