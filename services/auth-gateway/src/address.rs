//! The client's address, for the throttle, the audit log and the services: the connection's peer,
//! unless the peer is a proxy the settings trust (an ingress), whose `X-Forwarded-For` then says who
//! connected to it. Without trusted proxies the header is ignored: anyone could write it.

use std::net::IpAddr;

use actix_web::HttpRequest;

/// The rightmost address of the `X-Forwarded-For` chain that is not a trusted proxy, when the peer is
/// one; else the peer.
pub fn client_address(request: &HttpRequest, trusted: &[IpAddr]) -> String {
    let Some(peer) = request.peer_addr().map(|address| address.ip()) else {
        return "unknown".to_owned();
    };
    if !trusted.contains(&peer) {
        return peer.to_string();
    }
    let chain = request.headers().get_all("x-forwarded-for").filter_map(|value| value.to_str().ok());
    let hops: Vec<IpAddr> = chain.flat_map(|line| line.split(',')).filter_map(|hop| hop.trim().parse().ok()).collect();
    hops.into_iter().rev().find(|hop| !trusted.contains(hop)).unwrap_or(peer).to_string()
}
