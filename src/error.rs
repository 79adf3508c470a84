//! Errors on one line, for people and logs: every layer may use this (it imports nothing of ours).

/// An error and its causes on one line (`what: why: why`), skipping a cause whose text the line
/// already holds (many errors repeat their source's message). Frontends show errors this way,
/// and a job's outcome keeps why it could not run this way. (`tracing` fields keep the causes
/// on their own: log an error as `error = &e as &dyn std::error::Error`.)
pub fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = s.source();
    }
    text
}
