//! GitHub's webhook signatures, over the raw body: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256>`,
//! and the legacy `X-Hub-Signature: sha1=<hex HMAC-SHA1>`. When the SHA-256 header is present
//! only it counts. Comparison is constant time (`hmac`'s `verify_slice`).
//!
//! The header is read before the body ([`Expected::from_headers`]): a request without one is
//! refused before its body is read or its project looked up. The body is then hashed as it
//! arrives ([`Signer`]) and checked at its end.

use axum::http::HeaderMap;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::Sha256;

pub(super) const SHA256_HEADER: &str = "x-hub-signature-256";
pub(super) const SHA1_HEADER: &str = "x-hub-signature";

/// Why a request's signature was refused. The text never contains the secret or a digest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum SignatureError {
    #[error("the request is not signed: send `X-Hub-Signature-256` (set a secret on the GitHub webhook)")]
    Missing,
    #[error("`{header}` is malformed: expected `{prefix}=` and the hex digest")]
    Malformed { header: &'static str, prefix: &'static str },
    #[error(
        "`{header}` does not match the body: check the webhook's secret (GITHUB_WEBHOOK_SECRET, or the \
         project's own `github_secret`)"
    )]
    Mismatch { header: &'static str },
}

/// The signature a request claims, read from its headers before its body.
#[derive(Debug, Clone)]
pub(super) struct Expected {
    sha256: bool,
    header: &'static str,
    digest: Vec<u8>,
}

impl Expected {
    /// `X-Hub-Signature-256` if present, else `X-Hub-Signature`; neither is [`SignatureError::Missing`].
    pub(super) fn from_headers(headers: &HeaderMap) -> Result<Expected, SignatureError> {
        if let Some(value) = headers.get(SHA256_HEADER) {
            let header = "X-Hub-Signature-256";
            return Ok(Expected { sha256: true, header, digest: digest(value.as_bytes(), "sha256", header)? });
        }
        if let Some(value) = headers.get(SHA1_HEADER) {
            let header = "X-Hub-Signature";
            return Ok(Expected { sha256: false, header, digest: digest(value.as_bytes(), "sha1", header)? });
        }
        Err(SignatureError::Missing)
    }

    /// The refusal of a request signed with the wrong secret.
    pub(super) fn mismatch(&self) -> SignatureError {
        SignatureError::Mismatch { header: self.header }
    }

    /// A hasher of the body with `secret`, for this signature's algorithm.
    pub(super) fn signer(&self, secret: &[u8]) -> Signer {
        // HMAC takes keys of any length: `new_from_slice` cannot fail for it.
        let mac = if self.sha256 {
            Hmac::<Sha256>::new_from_slice(secret).map(Keyed::Sha256)
        } else {
            Hmac::<Sha1>::new_from_slice(secret).map(Keyed::Sha1)
        };
        Signer(mac.ok())
    }
}

enum Keyed {
    Sha256(Hmac<Sha256>),
    Sha1(Hmac<Sha1>),
}

/// The HMAC of a body, fed as it arrives.
pub(super) struct Signer(Option<Keyed>);

impl Signer {
    pub(super) fn update(&mut self, chunk: &[u8]) {
        match &mut self.0 {
            Some(Keyed::Sha256(mac)) => mac.update(chunk),
            Some(Keyed::Sha1(mac)) => mac.update(chunk),
            None => {}
        }
    }

    /// Compares, in constant time, with what the request claimed.
    pub(super) fn verify(self, expected: &Expected) -> Result<(), SignatureError> {
        let mismatch = SignatureError::Mismatch { header: expected.header };
        let ok = match self.0 {
            Some(Keyed::Sha256(mac)) => mac.verify_slice(&expected.digest).is_ok(),
            Some(Keyed::Sha1(mac)) => mac.verify_slice(&expected.digest).is_ok(),
            None => false,
        };
        if ok { Ok(()) } else { Err(mismatch) }
    }
}

/// Checks the request's signature of `body` with `secret`.
#[cfg(test)]
pub(super) fn verify(headers: &HeaderMap, secret: &[u8], body: &[u8]) -> Result<(), SignatureError> {
    let expected = Expected::from_headers(headers)?;
    let mut signer = expected.signer(secret);
    signer.update(body);
    signer.verify(&expected)
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
