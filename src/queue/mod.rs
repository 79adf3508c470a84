//! The SQLite queue: jobs, the requests merged into them, the events reporters consume,
//! suppression windows and dispatchers.

pub mod model;
