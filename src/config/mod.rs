//! Configuration, read once at start: `jobs.toml` becomes a validated [`Catalog`], the
//! environment becomes [`Settings`]. Nothing below this module reads files or `std::env`
//! for configuration again (SIGHUP reloads the catalogue through [`Catalog::load`]).

mod catalog;
pub mod duration;
mod load;
mod settings;
pub mod template;

pub use catalog::{
    Action, Catalog, JobDef, Namespace, OnLost, PatternWord, ReportFormat, SlackCommand, Trigger,
};
pub use load::ConfigError;
pub use settings::{Secret, SecretName, Settings, SettingsError, SyncMode};
pub use template::Template;
