//! The one way tokens are signed: an Ed25519 key (PKCS#8), its public half published as a JWK whose
//! id is its RFC 7638 thumbprint. The gateway signs with it; tests sign with a key of their own.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use ring::signature::{Ed25519KeyPair, KeyPair};
use sha2::{Digest, Sha256};

use super::Claims;

/// A private Ed25519 key ready to sign tokens.
pub struct SigningKey {
    encoding: EncodingKey,
    kid: String,
    /// The public key, base64url: the JWK's `x`.
    x: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the private key.
        f.debug_struct("SigningKey").field("kid", &self.kid).finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A new random key, and its PEM (`PRIVATE KEY`, PKCS#8) to keep.
    pub fn generate() -> Result<(SigningKey, String), String> {
        let document = Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new())
            .map_err(|_| "the system's random generator failed".to_owned())?;
        let pem = pem::encode(&pem::Pem::new("PRIVATE KEY", document.as_ref()));
        Ok((SigningKey::from_pkcs8(document.as_ref())?, pem))
    }

    /// A key from its PEM text, as [`SigningKey::generate`] or `openssl genpkey -algorithm ed25519` write it.
    pub fn from_pem(text: &str) -> Result<SigningKey, String> {
        let pem = pem::parse(text).map_err(|error| format!("not a PEM document: {error}"))?;
        if pem.tag() != "PRIVATE KEY" {
            return Err(format!("a `PRIVATE KEY` (PKCS#8) is expected, not a `{}`", pem.tag()));
        }
        SigningKey::from_pkcs8(pem.contents())
    }

    /// A key from its PKCS#8 DER document (v1, as `openssl genpkey -algorithm ed25519` writes, or v2).
    pub fn from_pkcs8(der: &[u8]) -> Result<SigningKey, String> {
        let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
            .map_err(|error| format!("not an Ed25519 private key in PKCS#8: {error}"))?;
        let x = URL_SAFE_NO_PAD.encode(pair.public_key().as_ref());
        // RFC 7638: the hash of the required members, in lexicographic order, without spaces.
        let thumbprint = Sha256::digest(format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#));
        Ok(SigningKey { encoding: EncodingKey::from_ed_der(der), kid: URL_SAFE_NO_PAD.encode(thumbprint), x })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as published at `/.well-known/jwks.json`.
    pub fn jwk(&self) -> Jwk {
        let value = serde_json::json!({
            "kty": "OKP", "crv": "Ed25519", "x": self.x, "kid": self.kid, "alg": "EdDSA", "use": "sig",
        });
        serde_json::from_value(value).unwrap_or_else(|error| unreachable!("a well-formed JWK: {error}"))
    }

    pub fn jwks(&self) -> JwkSet {
        JwkSet { keys: vec![self.jwk()] }
    }

    pub fn sign(&self, claims: &Claims) -> Result<String, String> {
        let header = Header { kid: Some(self.kid.clone()), ..Header::new(Algorithm::EdDSA) };
        jsonwebtoken::encode(&header, claims, &self.encoding).map_err(|error| format!("cannot sign a token: {error}"))
    }
}
