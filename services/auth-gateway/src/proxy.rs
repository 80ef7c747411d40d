//! The reverse proxy: `/api/catalog/*` to nexus-catalog, `/api/deployments/*` to job-deployer and
//! `/api/history/*` to job-history. Bodies stream both ways (a followed log arrives as it is
//! written; a sized answer keeps its length); the token travels on, since each service checks it itself; the request id goes to the
//! service and comes back. A service that cannot be reached is a JSON 502, one that does not
//! answer in time a JSON 504.

use std::net::IpAddr;

use actix_web::body::SizedStream;
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use percent_encoding::percent_decode_str;
use service_kit::ErrorBody;
use service_kit::observe::{REQUEST_ID_HEADER, request_id};

use crate::address::client_address;
use crate::settings::Upstreams;

/// One proxied service: where its API is, and how the gateway's paths map onto it.
#[derive(Debug, Clone)]
pub struct Route {
    /// The service's name, for messages.
    pub service: &'static str,
    /// The gateway's prefix, e.g. `/api/history`.
    pub prefix: &'static str,
    /// The service's URL and the path its API starts at, e.g. `http://...:8086/v1/jobs/history`.
    pub target: String,
}

/// The gateway's prefixes of the proxied services, in the order of [`routes`].
pub const PREFIXES: [&str; 5] = ["/api/catalog", "/api/deployments", "/api/history", "/api/runners", "/api/schedules"];

pub fn routes(upstreams: &Upstreams) -> [Route; 5] {
    let [catalog, deployments, history, runners, schedules] = PREFIXES;
    let deployer = |prefix, path: &str| Route {
        service: "job-deployer",
        prefix,
        target: format!("{}/v1/{path}", upstreams.deployer),
    };
    [
        Route { service: "nexus-catalog", prefix: catalog, target: format!("{}/v1", upstreams.catalog) },
        deployer(deployments, "deployments"),
        Route { service: "job-history", prefix: history, target: format!("{}/v1/jobs/history", upstreams.history) },
        // What the deploy form asks the deployer besides deployments: its runner images and
        // schedule previews.
        deployer(runners, "runners"),
        deployer(schedules, "schedules"),
    ]
}

/// The HTTP client of the proxy, its time limit for an answer's headers, and the proxies in front.
#[derive(Debug, Clone)]
pub struct Proxy {
    client: reqwest::Client,
    timeout: std::time::Duration,
    trusted_proxies: Vec<IpAddr>,
}

impl Proxy {
    pub fn new(upstreams: &Upstreams, trusted_proxies: Vec<IpAddr>) -> Result<Proxy, String> {
        let client = reqwest::Client::builder()
            .connect_timeout(upstreams.connect_timeout)
            // The caller's redirects are the caller's to follow.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|error| format!("cannot make the proxy's HTTP client: {error}"))?;
        Ok(Proxy { client, timeout: upstreams.timeout, trusted_proxies })
    }
}

/// Headers not passed on, either way: those of one connection, not of the message (RFC 9110, 7.6.1),
/// the host, the length (set again for the body as it is sent on), the request id and the
/// forwarding headers (the gateway sets its own from the connection: a client's would be believed).
const NOT_FORWARDED: [&str; 16] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
    "x-request-id",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-real-ip",
    "forwarded",
];

/// The headers to pass on. actix and reqwest use two versions of the `http` crate: headers cross
/// as names and bytes.
fn forwarded<'a>(headers: Vec<(&'a str, &'a [u8])>) -> Vec<(&'a str, &'a [u8])> {
    // Headers that the `Connection` header names belong to the connection too.
    let named: Vec<String> = headers
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("connection"))
        .flat_map(|(_, value)| {
            String::from_utf8_lossy(value).split(',').map(|n| n.trim().to_ascii_lowercase()).collect::<Vec<_>>()
        })
        .collect();
    headers
        .into_iter()
        .filter(|(name, _)| {
            let name = name.to_ascii_lowercase();
            !NOT_FORWARDED.contains(&name.as_str()) && !named.contains(&name)
        })
        .collect()
}

pub async fn forward(
    request: HttpRequest,
    body: web::Payload,
    route: web::Data<Route>,
    proxy: web::Data<Proxy>,
) -> HttpResponse {
    let Some(tail) = request.uri().path().strip_prefix(route.prefix) else {
        return not_found(&request);
    };
    // `..` would leave the service's API on the service's side, and the URL parser reads `\` as `/`;
    // nothing needs either.
    let dots = |segment: &str| matches!(&*percent_decode_str(segment).decode_utf8_lossy(), "." | "..");
    if tail.contains('\\') || tail.split('/').any(dots) {
        return not_found(&request);
    }
    let mut url = format!("{}{tail}", route.target);
    if let Some(query) = request.uri().query() {
        url.push('?');
        url.push_str(query);
    }
    let Ok(method) = reqwest::Method::from_bytes(request.method().as_str().as_bytes()) else {
        return not_found(&request);
    };
    let mut outgoing = proxy.client.request(method, &url);
    for (name, value) in forwarded(request.headers().iter().map(|(n, v)| (n.as_str(), v.as_bytes())).collect()) {
        outgoing = outgoing.header(name, value);
    }
    if let Some(id) = request_id(&request) {
        outgoing = outgoing.header(REQUEST_ID_HEADER.as_str(), id);
    }
    // The client's address as the gateway knows it, whatever the client claims.
    let forwarded_for = client_address(&request, &proxy.trusted_proxies);
    let scheme = if request.app_config().secure() { "https" } else { "http" };
    outgoing = outgoing.header("x-forwarded-for", forwarded_for).header("x-forwarded-proto", scheme);
    if let Some(host) = request.headers().get(header::HOST) {
        outgoing = outgoing.header("x-forwarded-host", host.as_bytes());
    }
    if request.headers().contains_key(header::CONTENT_LENGTH)
        || request.headers().contains_key(header::TRANSFER_ENCODING)
    {
        outgoing = outgoing.body(reqwest::Body::wrap_stream(sendable(body)));
    }

    let answer = match tokio::time::timeout(proxy.timeout, outgoing.send()).await {
        Err(_) => {
            let message = format!("{} did not answer within {} s", route.service, proxy.timeout.as_secs());
            return ErrorBody::new("upstream_timeout", message).into_response(StatusCode::GATEWAY_TIMEOUT);
        }
        Ok(Err(error)) => {
            tracing::warn!(service = route.service, %error, "cannot reach the service");
            let message = format!("{} cannot be reached; try again later", route.service);
            return ErrorBody::new("upstream_unavailable", message).into_response(StatusCode::BAD_GATEWAY);
        }
        Ok(Ok(answer)) => answer,
    };
    let status = StatusCode::from_u16(answer.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut response = HttpResponse::build(status);
    for (name, value) in forwarded(answer.headers().iter().map(|(n, v)| (n.as_str(), v.as_bytes())).collect()) {
        response.append_header((name, value));
    }
    let service = route.service;
    // The service's own length (for a HEAD, that of the body it would send).
    let length = answer
        .headers()
        .get(reqwest::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    let head = request.method() == actix_web::http::Method::HEAD;
    let body = answer.bytes_stream().map(move |chunk| {
        chunk.map_err(|error| {
            tracing::warn!(service, %error, "the service's answer broke off");
            actix_web::error::ErrorBadGateway(error)
        })
    });
    match length {
        // A HEAD answer announces the length and sends nothing (actix writes no body for a HEAD).
        Some(length) if head => response
            .body(SizedStream::new(length, futures_util::stream::empty::<Result<web::Bytes, actix_web::Error>>())),
        // Sized, the answer goes out as the service sent it, headers and a small body in one write.
        Some(length) => response.body(SizedStream::new(length, body)),
        // A stream (a followed log) goes out chunk by chunk, as it arrives.
        None => response.streaming(body),
    }
}

/// The caller's body, moved to a task of this worker so that the HTTP client (which needs a `Send`
/// stream) can read it: actix's payload lives on one thread.
fn sendable(mut body: web::Payload) -> impl futures_util::Stream<Item = Result<web::Bytes, std::io::Error>> + Send {
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<web::Bytes, std::io::Error>>(8);
    actix_web::rt::spawn(async move {
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|error| std::io::Error::other(error.to_string()));
            if sender.send(chunk).await.is_err() {
                break;
            }
        }
    });
    futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|chunk| (chunk, receiver))
    })
}

fn not_found(request: &HttpRequest) -> HttpResponse {
    ErrorBody::new("not_found", format!("there is nothing at {} {}", request.method(), request.path()))
        .into_response(StatusCode::NOT_FOUND)
}
