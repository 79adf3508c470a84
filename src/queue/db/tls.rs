//! TLS to PostgreSQL. `sslmode=require` (or libpq's `verify-ca`, `verify-full`) in `EBMBOT_DB`
//! connects over TLS and always verifies the server's certificate and name, as libpq's
//! `verify-full` does: against `PGSSLROOTCERT` (a PEM file, libpq's variable) when it is set,
//! and the system's roots otherwise. `prefer` (the default) and `disable` connect without TLS.

use std::sync::{Arc, OnceLock};

use postgres::config::SslMode;
use postgres::{Client, Config, NoTls};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use tokio_postgres_rustls::MakeRustlsConnect;

/// Connects with TLS when `config` asks for it, without otherwise.
pub(crate) fn connect(config: &Config) -> Result<Client, postgres::Error> {
    match config.get_ssl_mode() {
        SslMode::Require => config.connect(connector().clone()),
        _ => config.connect(NoTls),
    }
}

/// The TLS connector, made once per process (reading the roots takes a while).
fn connector() -> &'static MakeRustlsConnect {
    static CONNECTOR: OnceLock<MakeRustlsConnect> = OnceLock::new();
    CONNECTOR.get_or_init(|| {
        let mut roots = rustls::RootCertStore::empty();
        let file = std::env::var_os("PGSSLROOTCERT").filter(|f| !f.is_empty());
        match &file {
            Some(path) => {
                for cert in std::fs::read(path).map(|pem| read_pem(&pem)).unwrap_or_default() {
                    let _ = roots.add(cert);
                }
            }
            None => {
                for cert in rustls_native_certs::load_native_certs().certs {
                    let _ = roots.add(cert);
                }
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("ring supports the default TLS versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        MakeRustlsConnect::new(config)
    })
}

/// The certificates of a PEM file's text (none when it holds none).
pub(crate) fn read_pem(pem: &[u8]) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_slice_iter(pem).filter_map(Result::ok).collect()
}

/// libpq's `sslmode` values that mean "TLS, verified" here, as the PostgreSQL driver spells
/// them (it knows only `disable`, `prefer` and `require`).
pub(crate) fn driver_sslmode(url: &str) -> std::borrow::Cow<'_, str> {
    if url.contains("sslmode=verify-full") || url.contains("sslmode=verify-ca") {
        url.replace("sslmode=verify-full", "sslmode=require").replace("sslmode=verify-ca", "sslmode=require").into()
    } else {
        url.into()
    }
}
