//! A Nexus Repository Manager 3 stand-in that answers `/service/rest/v1/` as Nexus does, quirks
//! included (from Nexus' sources and its users' reports):
//! - pages are `{"items": [...], "continuationToken": ...}`, 50 items for `search`, 10 (up to
//!   3.73) or 100 (3.74+) for `components`; a full page always carries a token, even when nothing
//!   follows, so the client reads one more, empty page;
//! - errors have no body (3.30+); `components` of an unknown repository is 404, `search` of one is
//!   200 with no items; a missing `repository` parameter is 422;
//! - with credentials required, a call without them "succeeds" with empty lists, as anonymous
//!   calls without privileges do; wrong credentials are 401;
//! - older servers repeat `blobCreated` and `lastDownloaded` in assets; `group` may be null or "";
//!   `path` may start with `/`; `downloadUrl` is not percent-encoded;
//! - the search index lags behind uploads: a component not yet indexed is in `components` only;
//! - a search whose `group`, `name`, `version` or `q` starts with a wildcard is a 400 (3.74+,
//!   whose search refuses leading wildcards);
//! - an asset's `checksum` holds the digests its format stores: maven2 assets sha1 and md5, and
//!   sha256 and sha512 too since 3.29 (late 2020; raw since 3.68); pypi sha1, sha256 and md5.
//!
//! A test also makes it slow, failing or refusing for a number of requests, reads which
//! requests it received, when, and how many were in flight at once, and may serve it over HTTPS
//! (Nexus behind a TLS-terminating proxy, as it is usually deployed).

use std::collections::VecDeque;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::{Value, json};

/// One file of a component, as Nexus stores it.
#[derive(Debug, Clone)]
pub struct StandInAsset {
    /// As Nexus returns it: with or without a leading `/`.
    pub path: String,
    pub size: u64,
    pub sha1: String,
    /// Stored since 3.29 for maven2 (3.68 for raw) and by some formats (pypi).
    pub sha256: Option<String>,
    /// Stored since 3.29 for maven2 (3.68 for raw).
    pub sha512: Option<String>,
    pub md5: String,
    pub uploaded: String,
}

#[derive(Debug, Clone)]
pub struct StandInComponent {
    /// `None` is sent as null.
    pub group: Option<String>,
    pub name: String,
    pub version: Option<String>,
    pub assets: Vec<StandInAsset>,
    /// In the search index yet.
    pub indexed: bool,
}

#[derive(Debug, Clone)]
pub struct StandInRepository {
    pub name: String,
    pub format: String,
    pub components: Vec<StandInComponent>,
}

/// What the next requests meet instead of a normal answer.
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    Status(u16),
    Delay(Duration),
}

#[derive(Debug, Default)]
struct State {
    repositories: Vec<StandInRepository>,
    components_page: usize,
    /// `(username, password)` that Nexus requires; `None` lets everyone in.
    credentials: Option<(String, String)>,
    /// Older servers' duplicated asset keys.
    duplicate_keys: bool,
    faults: VecDeque<Fault>,
    /// Every request: its path after `/service/rest/v1/` and its query string.
    requests: Vec<(String, String)>,
    /// When each of `requests` arrived.
    arrivals: Vec<Instant>,
    in_flight: usize,
    max_in_flight: usize,
    /// Where the stand-in serves plain HTTP.
    address: Option<SocketAddr>,
    /// The base URL that clients use and that answers name: the plain one, or the TLS proxy's.
    url: String,
}

#[derive(Debug, Clone, Default)]
pub struct NexusStandIn {
    state: Arc<Mutex<State>>,
}

impl NexusStandIn {
    /// Serves on a free port of 127.0.0.1, with `components` pages of `components_page` items
    /// (100 as 3.74+, 10 as older servers).
    pub fn start(components_page: usize) -> NexusStandIn {
        let stand_in = NexusStandIn::default();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        {
            let mut state = stand_in.state.lock().unwrap();
            let address = listener.local_addr().unwrap();
            state.url = format!("http://{address}");
            state.address = Some(address);
            state.components_page = components_page;
        }
        let shared = stand_in.clone();
        let server = HttpServer::new(move || {
            let shared = shared.clone();
            App::new().default_service(web::to(move |request: HttpRequest| {
                let shared = shared.clone();
                async move { shared.answer(&request).await }
            }))
        })
        .workers(2)
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        stand_in
    }

    pub fn url(&self) -> String {
        self.state.lock().unwrap().url.clone()
    }

    /// Serves HTTPS with `certificate` (a PEM chain) and its `key`, as Nexus behind a
    /// TLS-terminating proxy: `url()` and the URLs in answers are the proxy's from then on.
    pub async fn serve_tls(&self, certificate: &Path, key: &Path) {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let chain: Vec<CertificateDer<'static>> =
            CertificateDer::pem_file_iter(certificate).unwrap().collect::<Result<_, _>>().unwrap();
        let key = PrivateKeyDer::from_pem_file(key).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let plain = {
            let mut state = self.state.lock().unwrap();
            state.url = format!("https://{}", listener.local_addr().unwrap());
            state.address.unwrap()
        };
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    // A client that does not trust the certificate ends the handshake: nothing
                    // reaches the stand-in.
                    let Ok(mut client) = acceptor.accept(client).await else { return };
                    let Ok(mut server) = tokio::net::TcpStream::connect(plain).await else { return };
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                });
            }
        });
    }

    pub fn add_repository(&self, repository: StandInRepository) {
        self.state.lock().unwrap().repositories.push(repository);
    }

    /// Uploads a component to an existing repository.
    pub fn upload(&self, repository: &str, component: StandInComponent) {
        let mut state = self.state.lock().unwrap();
        let repository = state.repositories.iter_mut().find(|r| r.name == repository).unwrap();
        repository.components.push(component);
    }

    /// The search index catches up.
    pub fn index_everything(&self) {
        for repository in &mut self.state.lock().unwrap().repositories {
            for component in &mut repository.components {
                component.indexed = true;
            }
        }
    }

    pub fn require_credentials(&self, username: &str, password: &str) {
        self.state.lock().unwrap().credentials = Some((username.to_owned(), password.to_owned()));
    }

    pub fn duplicate_keys(&self) {
        self.state.lock().unwrap().duplicate_keys = true;
    }

    /// The next requests meet these, one each, in order.
    pub fn fail_next(&self, faults: &[Fault]) {
        self.state.lock().unwrap().faults.extend(faults);
    }

    /// Requests received so far: (path after `/service/rest/v1/`, query string).
    pub fn requests(&self) -> Vec<(String, String)> {
        self.state.lock().unwrap().requests.clone()
    }

    /// When each of `requests()` arrived.
    pub fn arrivals(&self) -> Vec<Instant> {
        self.state.lock().unwrap().arrivals.clone()
    }

    pub fn forget_requests(&self) {
        let mut state = self.state.lock().unwrap();
        state.requests.clear();
        state.arrivals.clear();
        state.max_in_flight = 0;
    }

    pub fn max_in_flight(&self) -> usize {
        self.state.lock().unwrap().max_in_flight
    }

    async fn answer(&self, request: &HttpRequest) -> HttpResponse {
        let endpoint = request.path().trim_start_matches("/service/rest/v1/").to_owned();
        let fault = {
            let mut state = self.state.lock().unwrap();
            state.requests.push((endpoint.clone(), request.query_string().to_owned()));
            state.arrivals.push(Instant::now());
            state.in_flight += 1;
            state.max_in_flight = state.max_in_flight.max(state.in_flight);
            state.faults.pop_front()
        };
        let response = match fault {
            Some(Fault::Status(status)) => HttpResponse::build(status.try_into().unwrap()).finish(),
            Some(Fault::Delay(delay)) => {
                tokio::time::sleep(delay).await;
                self.normal_answer(request, &endpoint)
            }
            None => {
                // Each answer takes a little time, as a real server's does, so that concurrent
                // callers overlap.
                tokio::time::sleep(Duration::from_millis(2)).await;
                self.normal_answer(request, &endpoint)
            }
        };
        self.state.lock().unwrap().in_flight -= 1;
        response
    }

    fn normal_answer(&self, request: &HttpRequest, endpoint: &str) -> HttpResponse {
        let state = self.state.lock().unwrap();
        let query: Vec<(String, String)> =
            form_urlencoded::parse(request.query_string().as_bytes()).into_owned().collect();
        let param = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let mut anonymous = false;
        if let Some((username, password)) = &state.credentials {
            match request.headers().get("authorization").and_then(|h| h.to_str().ok()) {
                None => anonymous = true,
                Some(header) => {
                    use base64::Engine;
                    let expected = base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
                    if header != format!("Basic {expected}") {
                        return HttpResponse::Unauthorized().finish();
                    }
                }
            }
        }
        match endpoint {
            "status" => HttpResponse::Ok().finish(),
            "repositories" => {
                let list: Vec<Value> = if anonymous {
                    Vec::new()
                } else {
                    state
                        .repositories
                        .iter()
                        .map(|r| {
                            json!({"name": r.name, "format": r.format, "type": "hosted",
                                   "url": format!("{}/repository/{}", state.url, r.name), "attributes": {}})
                        })
                        .collect()
                };
                HttpResponse::Ok().json(list)
            }
            "components" | "search" => {
                let Some(name) = param("repository") else {
                    return HttpResponse::UnprocessableEntity().finish();
                };
                let repository = state.repositories.iter().find(|r| r.name == name);
                let search = endpoint == "search";
                let leading_wildcard = ["group", "name", "version", "q"]
                    .iter()
                    .filter_map(|field| param(field))
                    .any(|value| value.split_whitespace().any(|word| word.starts_with(['*', '?'])));
                if search && leading_wildcard {
                    return HttpResponse::BadRequest().finish();
                }
                let components: Vec<&StandInComponent> = match repository {
                    None if !search => return HttpResponse::NotFound().finish(),
                    None => Vec::new(),
                    Some(_) if anonymous => Vec::new(),
                    Some(repository) => repository
                        .components
                        .iter()
                        .filter(|c| !search || (c.indexed && matches_search(c, &param)))
                        .collect(),
                };
                let size = if search { 50 } else { state.components_page };
                let offset = param("continuationToken")
                    .map(|token| token.trim_start_matches("t").split('x').next().unwrap().parse::<usize>().unwrap())
                    .unwrap_or(0);
                let page: Vec<String> = components
                    .iter()
                    .skip(offset)
                    .take(size)
                    .map(|c| {
                        let format = repository.map_or("maven2", |r| r.format.as_str());
                        component_json(c, &name, format, &state.url, state.duplicate_keys)
                    })
                    .collect();
                // A full page carries a token even when nothing follows; tokens are opaque.
                let token = if page.len() == size {
                    json!(format!("t{}x{:08x}", offset + size, offset * 7919))
                } else {
                    Value::Null
                };
                HttpResponse::Ok()
                    .content_type("application/json")
                    .body(format!("{{\"items\": [{}], \"continuationToken\": {token}}}", page.join(",")))
            }
            _ => HttpResponse::NotFound().finish(),
        }
    }
}

/// `*` matches any text; Nexus' search ignores case.
fn wildcard(pattern: &str, value: &str) -> bool {
    wildmatch::WildMatch::new_case_insensitive(pattern).matches(value)
}

/// Nexus' search parameters: `group`, `name`, `version` whole (with wildcards), `q` a keyword found
/// in the group, name or version.
fn matches_search(component: &StandInComponent, param: &dyn Fn(&str) -> Option<String>) -> bool {
    let group = component.group.clone().unwrap_or_default();
    let version = component.version.clone().unwrap_or_default();
    let whole = |field: &str, value: &str| param(field).is_none_or(|pattern| wildcard(&pattern, value));
    let keyword = param("q").is_none_or(|q| {
        let q = if q.contains('*') { q } else { format!("*{q}*") };
        [&group, &component.name, &version].iter().any(|value| wildcard(&q, value))
    });
    whole("group", &group) && whole("name", &component.name) && whole("version", &version) && keyword
}

/// A component as Nexus writes it, by hand so that keys can repeat.
fn component_json(
    component: &StandInComponent,
    repository: &str,
    format: &str,
    url: &str,
    duplicate_keys: bool,
) -> String {
    let assets: Vec<String> = component
        .assets
        .iter()
        .map(|asset| {
            let path = asset.path.trim_start_matches('/');
            let mut checksum = json!({"sha1": asset.sha1, "md5": asset.md5});
            if let Some(sha256) = &asset.sha256 {
                checksum["sha256"] = json!(sha256);
            }
            if let Some(sha512) = &asset.sha512 {
                checksum["sha512"] = json!(sha512);
            }
            let content_type = if path.ends_with(".zip") { "application/zip" } else { "application/octet-stream" };
            let fields = [
                // Not percent-encoded, as Nexus sends it.
                format!("\"downloadUrl\": {}", json!(format!("{url}/repository/{repository}/{path}"))),
                format!("\"path\": {}", json!(asset.path)),
                format!("\"id\": {}", json!(format!("{repository}:{:x}", path.len() * 31))),
                format!("\"repository\": {}", json!(repository)),
                format!("\"contentType\": {}", json!(content_type)),
                format!("\"lastModified\": {}", json!(asset.uploaded)),
                format!("\"blobCreated\": {}", json!(asset.uploaded)),
                "\"lastDownloaded\": null".to_owned(),
                "\"uploader\": \"ci-bot\"".to_owned(),
                format!("\"fileSize\": {}", asset.size),
                format!("\"checksum\": {checksum}"),
            ];
            let mut fields = fields.to_vec();
            if duplicate_keys {
                fields.push(format!("\"blobCreated\": {}", json!(asset.uploaded)));
                fields.push("\"lastDownloaded\": null".to_owned());
            }
            format!("{{{}}}", fields.join(", "))
        })
        .collect();
    format!(
        "{{\"id\": {}, \"repository\": {}, \"format\": {}, \"group\": {}, \"name\": {}, \"version\": {}, \"assets\": [{}]}}",
        json!(format!("{repository}-{}", component.name)),
        json!(repository),
        json!(format),
        json!(component.group),
        json!(component.name),
        json!(component.version),
        assets.join(", ")
    )
}

/// A Maven component with a `.pom`, the zip to run and their checksum files, uploaded at `uploaded`
/// (RFC 3339) to a Nexus 3.29+ (the four digests).
pub fn maven_component(group: &str, name: &str, version: &str, uploaded: &str) -> StandInComponent {
    let dir = format!("{}/{name}/{version}", group.replace('.', "/"));
    let file = |suffix: &str, size: u64| StandInAsset {
        path: format!("{dir}/{name}-{version}{suffix}"),
        size,
        sha1: digest(&format!("sha1 {dir}{suffix}"), 40),
        sha256: Some(digest(&format!("sha256 {dir}{suffix}"), 64)),
        sha512: Some(digest(&format!("sha512 {dir}{suffix}"), 128)),
        md5: digest(&format!("md5 {dir}{suffix}"), 32),
        uploaded: uploaded.to_owned(),
    };
    StandInComponent {
        group: Some(group.to_owned()),
        name: name.to_owned(),
        version: Some(version.to_owned()),
        assets: vec![file(".pom", 900), file(".pom.sha1", 40), file(".zip", 52_000), file(".zip.sha1", 40)],
        indexed: true,
    }
}

/// A hexadecimal digest stand-in, different for every input.
pub fn digest(seed: &str, len: usize) -> String {
    let mut state: u64 = 1469598103934665603;
    (0..len)
        .map(|i| {
            for byte in seed.bytes().chain([i as u8]) {
                state = (state ^ u64::from(byte)).wrapping_mul(1099511628211);
            }
            char::from_digit((state >> 60) as u32 & 0xf, 16).unwrap()
        })
        .collect()
}
