//! An in-process web server on 127.0.0.1:0 over a temp dir, a client, signing helpers and the
//! GitHub fixtures.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ebmbot::clock::SystemClock;
use ebmbot::config::{Catalog, Secret, Settings};
use ebmbot::metrics::Metrics;
use ebmbot::queue::model::Job;
use ebmbot::queue::{ListFilter, Location, Options, Queue};

use crate::support::{PgDb, on_postgres};
use ebmbot::web::{Limits, WebOptions, WebState};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const SECRET: &str = "test-webhook-secret";

/// A GitHub fixture, byte for byte.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/github").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `pull_request.closed.json` with its one `"merged": false` made `"merged": true`.
pub fn merged_pr() -> Vec<u8> {
    let text = String::from_utf8(fixture("pull_request.closed.json")).unwrap();
    assert_eq!(text.matches(r#""merged": false"#).count(), 1);
    text.replace(r#""merged": false"#, r#""merged": true"#).into_bytes()
}

pub fn sign256(body: &[u8]) -> String {
    ebmbot::web::sign_sha256(SECRET.as_bytes(), body)
}

pub fn sign1(body: &[u8]) -> String {
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body);
    format!("sha1={}", hex::encode(mac.finalize().into_bytes()))
}

/// A delivery id no other test uses.
pub fn delivery() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!("72d3162e-cc78-11e3-81ab-{:06}{:06}", std::process::id() % 1_000_000, N.fetch_add(1, Ordering::SeqCst))
}

/// An HTTP client for the tests (no proxy, a 20 s timeout).
pub fn client() -> reqwest::Client {
    ebmbot::runner::install_crypto_provider();
    reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(20)).build().unwrap()
}

/// A change to the default test settings.
type SettingsEdit = Box<dyn FnOnce(&mut Settings) + Send>;

/// How to start a [`Server`].
pub struct Builder {
    jobs: String,
    pub settings_edit: Vec<SettingsEdit>,
    pub limits: Limits,
    pub dispatcher_pid: Option<u32>,
    pub metrics: Option<Arc<Metrics>>,
    pub extra_routes: Option<axum::Router>,
    pub dir: Option<Arc<tempfile::TempDir>>,
    /// The variables the server reads a namespace's `github_secret` from (none by default).
    pub vars: std::collections::HashMap<String, String>,
    pub pg: Option<Arc<PgDb>>,
}

impl Builder {
    pub fn settings(mut self, f: impl FnOnce(&mut Settings) + Send + 'static) -> Builder {
        self.settings_edit.push(Box::new(f));
        self
    }

    /// A variable the server can read (a namespace's `github_secret`).
    pub fn var(mut self, name: &str, value: &str) -> Builder {
        self.vars.insert(name.to_owned(), value.to_owned());
        self
    }

    pub fn no_secret(self) -> Builder {
        self.settings(|s| s.github_webhook_secret = None)
    }

    /// Shares the temp dir and the database with another server.
    pub fn sharing(mut self, other: &Server) -> Builder {
        self.dir = Some(Arc::clone(&other.dir));
        self.pg.clone_from(&other.pg);
        self
    }

    pub async fn start_with(mut self, limits: Limits) -> Server {
        self.limits = limits;
        self.start().await
    }

    pub async fn start(self) -> Server {
        let dir = self.dir.unwrap_or_else(|| Arc::new(tempfile::tempdir().unwrap()));
        let root = dir.path().canonicalize().unwrap();
        std::fs::write(root.join("jobs.toml"), &self.jobs).unwrap();
        let mut settings = Settings::for_root(&root);
        // The PostgreSQL half: a database of the test's own.
        let pg = self.pg.or_else(|| on_postgres().then(|| Arc::new(PgDb::create())));
        if let Some(pg) = &pg {
            settings.db = Location::parse(&pg.url, &root).unwrap();
        }
        settings.github_webhook_secret = Some(Secret::new(SECRET));
        for edit in self.settings_edit {
            edit(&mut settings);
        }
        let catalog = Catalog::load(&root.join("jobs.toml"), &settings).unwrap();
        let queue = Queue::open(&settings.db, Options::default()).unwrap();
        let options = WebOptions {
            limits: self.limits,
            metrics: self.metrics.clone(),
            dispatcher_pid: self.dispatcher_pid,
            extra_routes: self.extra_routes,
            env: Some(Arc::new(move |k: &str| self.vars.get(k).cloned())),
        };
        let state = WebState::new(settings.clone(), catalog, queue, Arc::new(SystemClock), options);
        let metrics = Arc::clone(state.metrics());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(ebmbot::web::serve(listener, state.clone(), async move {
            let _ = stopped.await;
        }));
        Server { addr, dir, db: settings.db.clone(), pg, client: client(), stop: Some(stop), task, state, metrics }
    }
}

pub struct Server {
    pub addr: SocketAddr,
    pub dir: Arc<tempfile::TempDir>,
    pub db: Location,
    pub pg: Option<Arc<PgDb>>,
    pub client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    pub task: JoinHandle<()>,
    pub state: WebState,
    pub metrics: Arc<Metrics>,
}

/// A response: status and body (JSON when it parses).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub text: String,
    pub json: Value,
}

impl Reply {
    pub fn message(&self) -> &str {
        self.json["message"].as_str().unwrap_or_else(|| panic!("no message in {self:?}"))
    }
}

impl Server {
    pub fn builder(jobs: &str) -> Builder {
        Builder {
            jobs: jobs.to_owned(),
            settings_edit: Vec::new(),
            limits: Limits::default(),
            dispatcher_pid: None,
            metrics: None,
            extra_routes: None,
            dir: None,
            vars: std::collections::HashMap::new(),
            pg: None,
        }
    }

    pub async fn start(jobs: &str) -> Server {
        Self::builder(jobs).start().await
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// A POST to `/github/<project>/` with the event and delivery headers and a body signed
    /// with SHA-256, as GitHub sends it.
    pub fn github(&self, project: &str, event: &str, delivery: &str, body: Vec<u8>) -> reqwest::RequestBuilder {
        self.client
            .post(self.url(&format!("/github/{project}/")))
            .header("Content-Type", "application/json")
            .header("X-GitHub-Event", event)
            .header("X-GitHub-Delivery", delivery)
            .header("X-Hub-Signature-256", sign256(&body))
            .body(body)
    }

    /// Sends a signed delivery.
    pub async fn deliver(&self, project: &str, event: &str, delivery: &str, body: Vec<u8>) -> Reply {
        send(self.github(project, event, delivery, body)).await
    }

    /// Another connection to the server's database.
    pub fn queue(&self) -> Queue {
        Queue::open(&self.db, Options::default()).unwrap()
    }

    /// Every job in the database.
    pub fn jobs(&self) -> Vec<Job> {
        let since = jiff::Timestamp::from_second(0).unwrap();
        self.queue().list(&ListFilter { all: true, since, limit: 10_000 }).unwrap()
    }

    /// Stops the server and waits for it to drain.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(Duration::from_secs(20), &mut self.task).await.unwrap().unwrap();
    }

    pub fn trigger_stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub async fn send(request: reqwest::RequestBuilder) -> Reply {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply { status, text, json }
}
