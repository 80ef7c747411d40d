//! One TLS crypto provider per process: ring, which kube already brings. reqwest is built without
//! a provider of its own (its default would compile aws-lc beside ring) and takes the process'
//! default, so that default must be installed before any HTTP client is built: [`crate::Service`]
//! and the test helpers do it.

pub fn install_crypto_provider() {
    // An error means a provider is installed already, which is all that matters.
    let _already_installed = rustls::crypto::ring::default_provider().install_default();
}
