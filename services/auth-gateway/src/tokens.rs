//! The gateway's signing key and the tokens it issues.

use std::path::Path;

use service_kit::auth::{Claims, SigningKey};

use crate::directory::Identity;
use crate::settings::{KeySetting, TokenSettings};

/// The key from `AUTH_GATEWAY_TOKEN_KEY`, or from its file, which is made (readable by its owner
/// only) when missing: the dev stack keeps one key across restarts, so tokens stay valid.
pub fn load_key(settings: &TokenSettings) -> Result<SigningKey, String> {
    match &settings.key {
        KeySetting::Pem(pem) => SigningKey::from_pem(pem).map_err(|e| format!("AUTH_GATEWAY_TOKEN_KEY: {e}")),
        KeySetting::File(path) if path.exists() => {
            let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            SigningKey::from_pem(&text).map_err(|e| format!("{}: {e}", path.display()))
        }
        KeySetting::File(path) => {
            let (key, pem) = SigningKey::generate()?;
            write_private(path, &pem).map_err(|e| format!("cannot keep the new key in {}: {e}", path.display()))?;
            tracing::info!(path = %path.display(), kid = key.kid(), "made a new token signing key");
            Ok(key)
        }
    }
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(text.as_bytes())
}

/// The claims of a new token for `identity`.
pub fn claims_for(identity: &Identity, settings: &TokenSettings) -> Claims {
    let now = chrono::Utc::now().timestamp();
    let expires = now + i64::try_from(settings.ttl.as_secs()).unwrap_or(i64::MAX / 2);
    Claims::new(&identity.user, &identity.name, &identity.roles, now, expires)
}
