//! Configuration, read once at start: `jobs.toml` becomes a validated [`Catalog`], the
//! environment becomes [`Settings`]. Nothing below this module reads files or `std::env`
//! for configuration again (SIGHUP reloads the catalogue through [`Catalog::load`]).

mod catalog;
pub mod cron;
pub mod duration;
pub mod import;
pub mod invalid;
mod job_type;
mod load;
pub mod params;
mod raw;
pub mod redact;
pub mod secrets;
mod settings;
mod suggest;
pub mod template;
mod validate;

pub use catalog::{
    Action, Catalog, JobDef, Listener, LiveCatalog, Missed, Namespace, OnLost, PatternWord, ReportFormat, SlackCommand,
    Timer, Trigger,
};
pub use job_type::JobType;
pub use load::ConfigError;
pub use params::{ParamError, ParamRule, ParamType};
pub use settings::{Overrides, REAPER_MARGIN, Secret, SecretName, Settings, SettingsError, SyncMode, machine_hostname};
pub use suggest::closest;
pub use template::Template;
pub use validate::{RESERVED_NAMESPACES, RESERVED_PARAMS};
