//! Wake-ups on both backends (built a second time for PostgreSQL, see `queue::pg`): the slow
//! poll is an hour in every test, so only a notification (or a poke) can end a wait that
//! returns true; the waits' own limits only stop a broken test from hanging.

use std::time::Duration;

use jiff::Timestamp;

use crate::queue::model::Origin;
use crate::queue::testdb::{Guard, on_postgres};
use crate::queue::{NewJob, Options, Queue};

const HOUR: Duration = Duration::from_secs(3600);
/// Far longer than a notification takes on a loaded machine.
const LIMIT: Duration = Duration::from_secs(60);

fn open() -> (Guard, Queue) {
    crate::queue::testdb::open(Options { wake_poll: Some(HOUR), ..Options::default() })
}

fn another(q: &Queue) -> Queue {
    Queue::open(q.location().clone(), Options::default()).unwrap()
}

fn job() -> NewJob {
    NewJob {
        namespace: "example".into(),
        job: "hello".into(),
        args: [("name", "Bob")].into_iter().collect(),
        delay: Duration::ZERO,
        origin: Origin::Terminal { user: "alice".into(), notify: None },
    }
}

#[test]
fn a_commit_on_another_connection_wakes_a_waiting_part() {
    let (_d, q) = open();
    let waker = q.waker();
    let mut other = another(&q);
    let writer = std::thread::spawn(move || other.schedule(&job(), Timestamp::now()).unwrap());
    assert!(waker.wait(LIMIT), "woken by the schedule");
    writer.join().unwrap();
    assert!(!waker.wait(Duration::ZERO), "one commit, taken by the first wait");
}

/// Otherwise a dispatcher's empty claim would wake every part, its own included, and so on.
#[test]
fn a_write_that_changes_nothing_wakes_nobody() {
    let (_d, mut q) = open();
    let waker = q.waker();
    let mut other = another(&q);
    let me = crate::runner::register(&mut other, "test", "UTC", std::time::Duration::from_secs(60), Timestamp::now())
        .unwrap();
    while waker.wait(Duration::from_millis(200)) {} // the registration's own wake-up
    assert!(other.claim(me, Timestamp::now(), Timestamp::now(), 8).unwrap().is_none());
    assert!(!waker.wait(Duration::from_millis(200)), "an empty claim commits nothing");
    q.schedule(&job(), Timestamp::now()).unwrap();
    assert!(waker.wait(LIMIT), "a real write still wakes it");
}

#[test]
fn a_poke_wakes_only_its_own_part_and_is_kept_until_it_waits() {
    let (_d, q) = open();
    let (a, b) = (q.waker(), q.waker());
    a.clone().poke();
    assert!(!b.wait(Duration::from_millis(1)));
    assert!(a.wait(LIMIT));
    assert!(!a.wait(Duration::from_millis(1)), "taken by the first wait");
}

#[test]
fn the_slow_poll_says_to_look_when_nothing_came() {
    let (_d, q) = crate::queue::testdb::open(Options { wake_poll: Some(Duration::ZERO), ..Options::default() });
    assert!(q.waker().wait(HOUR));
}

/// PostgreSQL: the listening connection dropped (killed by the server here), and a change
/// made while it was down: the listener connects again and wakes everyone, since what was
/// notified meanwhile is lost. (On SQLite, a plain wake-up.)
#[test]
fn a_dropped_listener_connects_again_and_wakes_the_parts() {
    let (_d, q) = open();
    let waker = q.waker();
    if on_postgres() {
        let config = q.location().postgres().unwrap();
        let mut admin = config.connect(postgres::NoTls).unwrap();
        let listener = "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1";
        let deadline = std::time::Instant::now() + LIMIT;
        let pid: i32 = loop {
            if let Some(row) = admin.query_opt(listener, &[&crate::queue::wake::LISTENER_NAME]).unwrap() {
                break row.get(0);
            }
            assert!(std::time::Instant::now() < deadline, "no listener connection");
            std::thread::sleep(Duration::from_millis(10));
        };
        admin.execute("SELECT pg_terminate_backend($1)", &[&pid]).unwrap();
        while waker.wait(Duration::ZERO) {}
    }
    another(&q).schedule(&job(), Timestamp::now()).unwrap();
    assert!(waker.wait(LIMIT), "woken after the listener came back");
}
