//! Whether the test suite's PostgreSQL half is built: only when `EBMBOT_TEST_POSTGRES` names a
//! server (`.ci/run` sets it, and requires it). Without it, `cargo test` says the half was
//! skipped and why.

fn main() {
    println!("cargo::rerun-if-env-changed=EBMBOT_TEST_POSTGRES");
    println!("cargo::rustc-check-cfg=cfg(ebmbot_pg_tests)");
    if std::env::var("EBMBOT_TEST_POSTGRES").is_ok_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=ebmbot_pg_tests");
    }
}
