//! Running jobs: the process (shell, quoting, process group, logs, timeout, cancellation) and
//! the dispatcher loop that claims due jobs from the queue. Knows nothing of Slack or HTTP.
