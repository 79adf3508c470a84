//! [`JobType`]: `<namespace>_<job>`, made in one place.

use std::fmt;
use std::ops::Deref;

use serde::{Deserialize, Serialize};

/// A job's type, `<namespace>_<job>` (`example_hello`): the name in messages and log paths, and
/// the key of one-running-per-type, suppressions and metrics. Built only by [`JobType::new`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobType(String);

impl JobType {
    pub fn new(namespace: &str, job: &str) -> JobType {
        JobType(format!("{namespace}_{job}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Deref for JobType {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for JobType {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl AsRef<std::path::Path> for JobType {
    fn as_ref(&self) -> &std::path::Path {
        self.0.as_ref()
    }
}

impl fmt::Display for JobType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for JobType {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for JobType {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl From<JobType> for String {
    fn from(t: JobType) -> String {
        t.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_type_is_namespace_underscore_job() {
        let t = JobType::new("example", "hello");
        assert_eq!(t, "example_hello");
        assert_eq!(serde_json::to_string(&t).unwrap(), r#""example_hello""#);
    }
}
