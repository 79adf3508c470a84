//! `queue prune`: delete history older than the retention period, with its logs (all of
//! it, through [`crate::runner::retention`]).

use std::time::Duration;

use crate::queue::{Pruned, Queue};
use crate::runner::retention::{self, Amount};

use super::access::{Allowed, Caller, Scope};
use super::{Action, Context, Result};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prune {
    /// Default: `EBMBOT_RETENTION`.
    pub older_than: Option<Duration>,
}

impl Action for Prune {
    type Output = Pruned;

    fn scope(&self) -> Scope<'_> {
        Scope::TrustedOnly("pruning history")
    }

    fn run(self, ctx: &Context<'_>, _: &Caller, queue: &mut Queue, _: Allowed) -> Result<Pruned> {
        let older_than = self.older_than.unwrap_or(ctx.settings.retention);
        Ok(retention::prune(queue, ctx.settings, ctx.clock.now(), older_than, Amount::All)?)
    }
}
