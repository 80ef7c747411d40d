//! Nexus' JSON, read tolerantly. Every field may be missing, null or of another type depending on
//! the Nexus version; older servers repeat keys in assets (`blobCreated`, `lastDownloaded`), which
//! a derived struct would refuse, so pages are read as `serde_json::Value` (the last repeat wins)
//! and fields are picked out by name.

use chrono::{DateTime, Utc};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use serde_json::Value;

use crate::layout;
use crate::model::{Asset, Checksums, Component, Repository};

/// One page of a list: `{"items": [...], "continuationToken": ...}`.
#[derive(Debug)]
pub struct Page {
    pub items: Vec<Value>,
    pub continuation_token: Option<String>,
}

pub fn page(body: &[u8]) -> Result<Page, String> {
    let value: Value = serde_json::from_slice(body).map_err(|error| format!("the page is not JSON: {error}"))?;
    let items = match value.get("items") {
        Some(Value::Array(items)) => items.clone(),
        Some(Value::Null) | None => Vec::new(),
        Some(_) => return Err("`items` is not a list".to_owned()),
    };
    Ok(Page { items, continuation_token: text(&value, "continuationToken") })
}

/// `GET /v1/repositories` answers a plain list.
pub fn repositories(body: &[u8]) -> Result<Vec<Repository>, String> {
    let value: Value = serde_json::from_slice(body).map_err(|error| format!("the list is not JSON: {error}"))?;
    let Value::Array(items) = value else {
        return Err("the repositories are not a list".to_owned());
    };
    Ok(items
        .iter()
        .filter_map(|item| {
            Some(Repository {
                name: text(item, "name")?,
                format: text(item, "format").unwrap_or_default(),
                kind: text(item, "type").unwrap_or_default(),
                url: text(item, "url").unwrap_or_default(),
            })
        })
        .collect())
}

/// A component of `repository`, or `None` when it is not a job's (a raw file outside the layout).
pub fn component(item: &Value, repository: &Repository) -> Option<Component> {
    let assets: Vec<Asset> = match item.get("assets") {
        Some(Value::Array(assets)) => assets.iter().filter_map(|asset| self::asset(asset, &repository.url)).collect(),
        _ => Vec::new(),
    };
    let group = text(item, "group").unwrap_or_default();
    let name = text(item, "name").unwrap_or_default();
    let version = text(item, "version").unwrap_or_default();
    if repository.format == "raw" || version.is_empty() || name.is_empty() {
        // Raw components are files; their group and version come from the layout convention.
        let path = assets.first().map(|asset| asset.path.clone()).unwrap_or(name);
        let coordinates = layout::coordinates(&path)?;
        return Some(Component {
            group: coordinates.group,
            name: coordinates.name,
            version: coordinates.version,
            assets,
        });
    }
    Some(Component { group, name, version, assets })
}

fn asset(item: &Value, repository_url: &str) -> Option<Asset> {
    let path = text(item, "path")?.trim_start_matches('/').to_owned();
    let checksum = item.get("checksum");
    let digest = |algorithm: &str| checksum.and_then(|c| text(c, algorithm)).map(|hex| hex.to_lowercase());
    Some(Asset {
        download_url: download_url(text(item, "downloadUrl").as_deref(), repository_url, &path),
        size: item.get("fileSize").and_then(|size| size.as_u64().or_else(|| size.as_str()?.parse().ok())),
        content_type: text(item, "contentType"),
        checksums: Checksums {
            sha512: digest("sha512"),
            sha256: digest("sha256"),
            sha1: digest("sha1"),
            md5: digest("md5"),
        },
        last_modified: time(item, "lastModified"),
        uploaded: time(item, "blobCreated"),
        uploader: text(item, "uploader"),
        kind: layout::kind(&path),
        path,
    })
}

/// What a path segment may hold unencoded (RFC 3986 pchar without the sub-delimiters that some
/// proxies mishandle).
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'[')
    .add(b']')
    .add(b'\\')
    .add(b'^')
    .add(b'|');

/// Nexus does not percent-encode `downloadUrl` (a space stays a space, `#` starts a fragment).
/// The asset's path is known, so the URL is Nexus' prefix and the path encoded segment by
/// segment; without a `downloadUrl` that ends with the path, the prefix is the repository's URL.
pub fn download_url(raw: Option<&str>, repository_url: &str, path: &str) -> String {
    let encoded: Vec<String> =
        path.split('/').map(|segment| utf8_percent_encode(segment, SEGMENT).to_string()).collect();
    let prefix = raw.and_then(|raw| raw.strip_suffix(path)).unwrap_or(repository_url).trim_end_matches('/');
    format!("{prefix}/{}", encoded.join("/"))
}

/// A text field; a number is taken as its text, anything else (null, "") as missing.
pub fn text(item: &Value, field: &str) -> Option<String> {
    match item.get(field)? {
        Value::String(text) if !text.is_empty() => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

fn time(item: &Value, field: &str) -> Option<DateTime<Utc>> {
    let text = text(item, field)?;
    DateTime::parse_from_rfc3339(&text)
        .or_else(|_| DateTime::parse_from_str(&text, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .ok()
        .map(|time| time.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_keys_and_odd_types_are_read() {
        let body = br#"{"items": [{"group": null, "name": "job", "version": "", "assets": [
            {"path": "/g/job/1.0/job 1.0.zip", "downloadUrl": "http://n/repository/r/g/job/1.0/job 1.0.zip",
             "blobCreated": "2024-01-01T00:00:00.000+00:00", "blobCreated": "2024-01-02T00:00:00.000+00:00",
             "lastModified": "2024-01-03T10:00:00.5+0000", "fileSize": "42",
             "checksum": {"sha1": "ABC", "md5": null}}]}], "continuationToken": null}"#;
        let page = page(body).unwrap();
        assert_eq!(page.continuation_token, None);
        let repository = Repository {
            name: "r".into(),
            format: "raw".into(),
            kind: "hosted".into(),
            url: "http://n/repository/r".into(),
        };
        let component = component(&page.items[0], &repository).unwrap();
        assert_eq!(
            (component.group.as_str(), component.name.as_str(), component.version.as_str()),
            ("g", "job", "1.0")
        );
        let asset = &component.assets[0];
        assert_eq!(asset.path, "g/job/1.0/job 1.0.zip");
        assert_eq!(asset.download_url, "http://n/repository/r/g/job/1.0/job%201.0.zip");
        assert_eq!(asset.uploaded.unwrap().to_rfc3339(), "2024-01-02T00:00:00+00:00");
        assert_eq!(asset.last_modified.unwrap().to_rfc3339(), "2024-01-03T10:00:00.500+00:00");
        assert_eq!(
            (asset.size, asset.checksums.sha1.as_deref(), asset.checksums.md5.as_deref()),
            (Some(42), Some("abc"), None)
        );
    }

    #[test]
    fn download_urls_are_encoded_once() {
        let url = |raw, path| download_url(raw, "http://n/repository/r", path);
        assert_eq!(
            url(Some("http://n/repository/r/a b/c#1.zip"), "a b/c#1.zip"),
            "http://n/repository/r/a%20b/c%231.zip"
        );
        assert_eq!(
            url(Some("http://proxy/nexus/repository/r/a/%41.zip"), "a/%41.zip"),
            "http://proxy/nexus/repository/r/a/%2541.zip"
        );
        assert_eq!(url(None, "x/y.zip"), "http://n/repository/r/x/y.zip");
        assert_eq!(url(Some("http://elsewhere/y.zip"), "x/y.zip"), "http://n/repository/r/x/y.zip");
    }
}
