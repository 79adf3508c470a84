//! GitHub's webhook signatures, over the raw body: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256>`,
//! and the legacy `X-Hub-Signature: sha1=<hex HMAC-SHA1>`. When the SHA-256 header is present
//! only it counts. Comparison is constant time (`hmac`'s `verify_slice`).

use axum::http::HeaderMap;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::Sha256;

pub const SHA256_HEADER: &str = "x-hub-signature-256";
pub const SHA1_HEADER: &str = "x-hub-signature";

/// Why a request's signature was refused. The text never contains the secret or a digest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the request is not signed: send `X-Hub-Signature-256` (set a secret on the GitHub webhook)")]
    Missing,
    #[error("`{header}` is malformed: expected `{prefix}=` and the hex digest")]
    Malformed { header: &'static str, prefix: &'static str },
    #[error("`{header}` does not match the body: check that the webhook's secret is GITHUB_WEBHOOK_SECRET")]
    Mismatch { header: &'static str },
}

/// Checks the request's signature of `body` with `secret`.
pub fn verify(headers: &HeaderMap, secret: &[u8], body: &[u8]) -> Result<(), SignatureError> {
    if let Some(value) = headers.get(SHA256_HEADER) {
        let digest = digest(value.as_bytes(), "sha256", "X-Hub-Signature-256")?;
        let mismatch = SignatureError::Mismatch { header: "X-Hub-Signature-256" };
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|_| mismatch.clone())?;
        mac.update(body);
        return mac.verify_slice(&digest).map_err(|_| mismatch);
    }
    if let Some(value) = headers.get(SHA1_HEADER) {
        let digest = digest(value.as_bytes(), "sha1", "X-Hub-Signature")?;
        let mismatch = SignatureError::Mismatch { header: "X-Hub-Signature" };
        let mut mac = Hmac::<Sha1>::new_from_slice(secret).map_err(|_| mismatch.clone())?;
        mac.update(body);
        return mac.verify_slice(&digest).map_err(|_| mismatch);
    }
    Err(SignatureError::Missing)
}

/// `<prefix>=<hex>` → the digest bytes.
fn digest(value: &[u8], prefix: &'static str, header: &'static str) -> Result<Vec<u8>, SignatureError> {
    let malformed = || SignatureError::Malformed { header, prefix };
    let hex = value.strip_prefix(prefix.as_bytes()).and_then(|rest| rest.strip_prefix(b"=")).ok_or_else(malformed)?;
    hex::decode(hex.trim_ascii()).map_err(|_| malformed())
}

/// `sha256=<hex>` for `body` (tests and the benchmark sign with it).
pub fn sign_sha256(secret: &[u8], body: &[u8]) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else { return String::new() };
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn sha1(secret: &[u8], body: &[u8]) -> String {
        let mut mac = Hmac::<Sha1>::new_from_slice(secret).unwrap();
        mac.update(body);
        format!("sha1={}", hex::encode(mac.finalize().into_bytes()))
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn known_vector_from_the_fixtures_readme() {
        let body = br#"{"action": "closed", "pull_request": {"merged": true}}"#;
        assert_eq!(sha1(b"github_webhook_secret", body), "sha1=3e09e676b4a62b634401b44b4c4ff1f58404e746");
        let h = headers(&[(SHA1_HEADER, "sha1=3e09e676b4a62b634401b44b4c4ff1f58404e746")]);
        assert_eq!(verify(&h, b"github_webhook_secret", body), Ok(()));
    }

    #[test]
    fn sha256_counts_alone_when_present() {
        let body = b"{}";
        let good1 = sha1(b"s", body);
        let bad256 = sign_sha256(b"other", body);
        let h = headers(&[(SHA256_HEADER, &bad256), (SHA1_HEADER, &good1)]);
        assert_eq!(verify(&h, b"s", body), Err(SignatureError::Mismatch { header: "X-Hub-Signature-256" }));
        let h = headers(&[(SHA256_HEADER, &sign_sha256(b"s", body))]);
        assert_eq!(verify(&h, b"s", body), Ok(()));
    }

    #[test]
    fn missing_malformed_and_wrong() {
        assert_eq!(verify(&HeaderMap::new(), b"s", b"{}"), Err(SignatureError::Missing));
        for bad in ["sha1=abc", "md5=00", "sha256", "sha256=zz", ""] {
            let h = headers(&[(SHA256_HEADER, bad)]);
            assert!(matches!(verify(&h, b"s", b"{}"), Err(SignatureError::Malformed { .. })), "{bad}");
        }
        let h = headers(&[(SHA256_HEADER, &sign_sha256(b"s", b"{ }"))]);
        assert!(matches!(verify(&h, b"s", b"{}"), Err(SignatureError::Mismatch { .. })));
        let truncated = &sign_sha256(b"s", b"{}")[..19];
        let h = headers(&[(SHA256_HEADER, truncated)]);
        assert!(matches!(verify(&h, b"s", b"{}"), Err(SignatureError::Mismatch { .. })));
    }
}
