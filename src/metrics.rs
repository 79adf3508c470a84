//! Prometheus metrics, in the Prometheus text format (version 0.0.4).
//!
//! Two kinds: counters of this process (webhook deliveries by result, Slack API calls by method
//! and result), kept in a [`Metrics`] shared by the web server and the bot; and job metrics read
//! from the database at each scrape ([`crate::queue::JobMetrics`]: jobs finished by type and
//! outcome, a run-time histogram per type, queue depth, running jobs), which every process
//! sharing the database reports alike.

use std::collections::HashMap;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::exemplar::Exemplar;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};

use crate::queue::JobMetrics;

/// The `Content-Type` of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

type Labels = Vec<(&'static str, String)>;

/// This process's counters. Cheap to share (`Arc<Metrics>`); every method takes `&self`.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    webhooks: Family<Labels, Counter>,
    slack_calls: Family<Labels, Counter>,
    accept_paused: Family<Labels, Counter>,
    socket: Family<Labels, Gauge>,
    /// The Socket Mode connection's state, described for `/readyz`; `None` without Socket Mode.
    socket_line: std::sync::Mutex<Option<String>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let webhooks = Family::<Labels, Counter>::default();
        registry.register(
            "ebmbot_webhook_deliveries",
            "GitHub webhook deliveries received by this process, by result",
            webhooks.clone(),
        );
        let slack_calls = Family::<Labels, Counter>::default();
        registry.register(
            "ebmbot_slack_api_calls",
            "Slack Web API calls made by this process, by method and result",
            slack_calls.clone(),
        );
        let accept_paused = Family::<Labels, Counter>::default();
        registry.register(
            "ebmbot_web_accept_paused",
            "Times the web server stopped accepting connections at a cap, by cap \
             (connections: EBMBOT_MAX_CONNECTIONS; body_memory: EBMBOT_MAX_BODY_MEMORY)",
            accept_paused.clone(),
        );
        let socket = Family::<Labels, Gauge>::default();
        registry.register(
            "ebmbot_slack_socket_mode",
            "The Slack Socket Mode connection of this process: 1 for its state (connecting, \
             connected, reconnecting, stopped), 0 for the others",
            socket.clone(),
        );
        Metrics { registry, webhooks, slack_calls, accept_paused, socket, socket_line: std::sync::Mutex::default() }
    }

    /// Counts a webhook delivery: `scheduled`, `already_handled`, `ignored`, `ping`,
    /// `too_large`, `no_secret`, `bad_signature`, `bad_request`, `unknown_project`, `error`.
    pub fn webhook(&self, result: &str) {
        self.webhooks.get_or_create(&vec![("result", result.to_owned())]).inc();
    }

    /// Counts a Slack Web API call: `method` such as `chat.postMessage`, `result` such as `ok`,
    /// a Slack error code (`ratelimited`, `channel_not_found`) or `network_error`.
    pub fn slack_call(&self, method: &str, result: &str) {
        self.slack_calls.get_or_create(&vec![("method", method.to_owned()), ("result", result.to_owned())]).inc();
    }

    /// Counts a pause of the accept loop at a cap: `connections` or `body_memory`.
    pub fn accept_paused(&self, cap: &str) {
        self.accept_paused.get_or_create(&vec![("cap", cap.to_owned())]).inc();
    }

    /// The Socket Mode connection is now in `state` (one of `states`), `line` for people.
    pub fn slack_socket(&self, states: &[&str], state: &str, line: String) {
        for s in states {
            self.socket.get_or_create(&vec![("state", (*s).to_owned())]).set(i64::from(*s == state));
        }
        *self.socket_line.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(line);
    }

    /// The Socket Mode connection's state for people (`connected`, `reconnecting (attempt 2; …)`).
    pub fn slack_socket_line(&self) -> Option<String> {
        self.socket_line.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// How many times the accept loop paused at `cap` so far.
    pub fn accept_pauses(&self, cap: &str) -> u64 {
        self.accept_paused.get_or_create(&vec![("cap", cap.to_owned())]).get()
    }

    /// The scrape: this process's counters, then the job metrics read from the database.
    pub fn render(&self, jobs: &JobMetrics) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry)?;
        let mut scrape = Registry::default();
        scrape.register_collector(Box::new(JobCollector(jobs.clone())));
        prometheus_client::encoding::prometheus_text::encode(&mut out, &scrape)?;
        Ok(out)
    }
}

/// Job metrics as read for one scrape.
#[derive(Debug)]
struct JobCollector(JobMetrics);

impl Collector for JobCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let jobs = &self.0;
        let mut finished = encoder.encode_descriptor(
            "ebmbot_jobs_finished",
            "Jobs that reached a final state, by type and outcome (all processes, never pruned)",
            None,
            MetricType::Counter,
        )?;
        for o in &jobs.outcomes {
            let labels: Labels = vec![("type", o.job_type.clone()), ("outcome", o.outcome.as_str().to_owned())];
            finished.encode_family(&labels)?.encode_counter::<NoLabelSet, _, u64>(&o.count, None)?;
        }
        let mut durations = encoder.encode_descriptor(
            "ebmbot_job_duration",
            "Run time of finished jobs that started, by type (all processes, never pruned)",
            Some(&Unit::Seconds),
            MetricType::Histogram,
        )?;
        let no_exemplars: Option<&HashMap<usize, Exemplar<NoLabelSet, f64>>> = None;
        for h in &jobs.durations {
            let labels: Labels = vec![("type", h.job_type.clone())];
            durations.encode_family(&labels)?.encode_histogram(h.sum_seconds, h.count, &h.buckets, no_exemplars)?;
        }
        encoder
            .encode_descriptor(
                "ebmbot_queue_depth",
                "Pending jobs (due or not), read at scrape time",
                None,
                MetricType::Gauge,
            )?
            .encode_gauge(&i64::try_from(jobs.pending).unwrap_or(i64::MAX))?;
        encoder
            .encode_descriptor("ebmbot_jobs_running", "Running jobs, read at scrape time", None, MetricType::Gauge)?
            .encode_gauge(&i64::try_from(jobs.running).unwrap_or(i64::MAX))?;
        encoder
            .encode_descriptor(
                "ebmbot_slack_delivery_paused",
                "1 while Slack delivery is paused because Slack refused the bot token (all processes), read at scrape time",
                None,
                MetricType::Gauge,
            )?
            .encode_gauge(&i64::from(jobs.slack_paused))?;
        Ok(())
    }
}
