//! TLS to PostgreSQL (the PostgreSQL half only; docs/postgres.md, "Choosing it"):
//! `sslmode=require` connects over TLS and verifies the server's certificate and name, against
//! `PGSSLROOTCERT` here (the server's own self-signed certificate, as Debian's package makes it).

use std::time::Duration;

use crate::support::{TestEnv, stop, wait_until};

/// The test server's `SHOW` of a setting.
fn show(admin: &mut postgres::Client, setting: &str) -> String {
    admin.query_one(&format!("SHOW {setting}"), &[]).expect("SHOW").get(0)
}

fn admin() -> postgres::Client {
    let url = std::env::var("EBMBOT_TEST_POSTGRES").expect("the PostgreSQL half runs with EBMBOT_TEST_POSTGRES");
    postgres::Client::connect(&url, postgres::NoTls).expect("connect as the admin")
}

#[test]
fn sslmode_require_connects_over_tls_and_verifies_the_server_certificate() {
    let env = TestEnv::new("[t.jobs.a]\nrun_args_template = \"true\"\n");
    let (ssl, cert) = std::thread::scope(|s| {
        s.spawn(|| {
            let mut admin = admin();
            (show(&mut admin, "ssl"), show(&mut admin, "ssl_cert_file"))
        })
        .join()
        .unwrap()
    });
    assert_eq!(ssl, "on", "this test needs the PostgreSQL server's TLS (ssl = on, as Debian's package sets it)");
    let url = env.db();
    let database = url.rsplit('/').next().unwrap().split('?').next().unwrap().to_owned();
    let by_name = url.replace("127.0.0.1", "localhost");
    let tls = |url: &str, mode: &str| format!("{url}{}sslmode={mode}", if url.contains('?') { '&' } else { '?' });

    // Verified against the server's certificate, by the name in it: a dispatcher's connections use TLS.
    let good = [("EBMBOT_DB", tls(&by_name, "verify-full")), ("PGSSLROOTCERT", cert.clone())];
    let good: Vec<(&str, &str)> = good.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut dispatcher = env.cmd_spawn_with(&["dispatch"], &good);
    wait_until("the dispatcher's connections over TLS", || {
        let encrypted: i64 = std::thread::scope(|s| {
            s.spawn(|| {
                admin()
                    .query_one(
                        "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
                         WHERE a.datname = $1 AND a.application_name = 'ebmbot' AND s.ssl",
                        &[&database],
                    )
                    .expect("pg_stat_ssl")
                    .get(0)
            })
            .join()
            .unwrap()
        });
        (encrypted >= 2).then_some(())
    });
    stop(&mut dispatcher);

    // The same certificate does not name 127.0.0.1: refused, in one line.
    let out = env
        .cmd()
        .env("EBMBOT_DB", tls(&url, "require"))
        .env("PGSSLROOTCERT", &cert)
        .args(["status"])
        .timeout(Duration::from_secs(30))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot reach") || stderr.contains("certificate"), "{stderr}");

    // A root file that is not one: a settings error.
    let stderr = env
        .cmd()
        .env("EBMBOT_DB", tls(&by_name, "require"))
        .env("PGSSLROOTCERT", "/nonexistent.pem")
        .args(["status"])
        .assert()
        .code(2)
        .get_output()
        .stderr
        .clone();
    let stderr = String::from_utf8_lossy(&stderr);
    assert!(
        stderr.contains("PGSSLROOTCERT=`/nonexistent.pem` is not valid; it is not a readable PEM file"),
        "{stderr}"
    );
}
