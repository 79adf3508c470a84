//! Queues for unit tests: a SQLite file in a temp dir, or, in the PostgreSQL half (tests whose
//! path has a `pg` module, built when `EBMBOT_TEST_POSTGRES` names a server), a database of
//! the test's own on that server, dropped with the guard.

use std::sync::atomic::{AtomicU32, Ordering};

use super::{Options, Queue};

static NEXT: AtomicU32 = AtomicU32::new(0);

pub(crate) enum Guard {
    Dir(#[allow(dead_code)] tempfile::TempDir),
    Pg { admin: String, name: String },
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Guard::Pg { admin, name } = self
            && let Ok(mut c) = postgres::Client::connect(admin, postgres::NoTls)
        {
            let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

pub(crate) fn on_postgres() -> bool {
    std::thread::current().name().is_some_and(|n| n.contains("::pg::"))
}

/// A fresh queue for this test, on the backend of its half.
pub(crate) fn open(options: Options) -> (Guard, Queue) {
    if !on_postgres() {
        let dir = tempfile::tempdir().unwrap();
        let q = Queue::open(&dir.path().join("q.db"), options).unwrap();
        return (Guard::Dir(dir), q);
    }
    let admin = std::env::var("EBMBOT_TEST_POSTGRES")
        .ok()
        .or_else(|| option_env!("EBMBOT_TEST_POSTGRES").map(str::to_owned))
        .expect("EBMBOT_TEST_POSTGRES");
    let name = format!("ebmbot_unit_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::SeqCst));
    let mut c = postgres::Client::connect(&admin, postgres::NoTls).expect("EBMBOT_TEST_POSTGRES is reachable");
    c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    let url = format!("{base}/{name}");
    let q = Queue::open(super::Location::parse(&url, std::path::Path::new("/")).unwrap(), options).unwrap();
    (Guard::Pg { admin, name }, q)
}
