//! `dispatch [--once]`: run queued jobs.

use crate::queue::Queue;
use crate::runner::{Control, Dispatcher, Mode, Reporter, Summary};

use super::{Context, Result};

#[derive(Debug, Clone, Default)]
pub struct Dispatch {
    pub once: bool,
}

impl Dispatch {
    pub fn execute(
        self,
        ctx: &Context<'_>,
        queue: Queue,
        reporter: &dyn Reporter,
        control: &Control,
    ) -> Result<Summary> {
        let kind = if self.once { "dispatch --once" } else { "dispatch" };
        let dispatcher = Dispatcher::new(queue, ctx.catalog.clone(), ctx.settings, ctx.clock, reporter, kind)?;
        let mode = if self.once { Mode::Once } else { Mode::Forever };
        Ok(dispatcher.run(mode, control)?)
    }
}
