//! What `ebmbot run` shows while its job waits for its turn: a spinner with the reason on a
//! terminal, one line per new reason elsewhere (logs and pipes get no control characters).

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::queue::Busy;

use super::render;

/// Shows why a job waits. Cleared when the wait is over, and when dropped.
pub(super) struct Waiting {
    /// `None`: not a terminal.
    bar: Option<ProgressBar>,
}

impl Waiting {
    /// A spinner on stderr when stderr is a terminal; plain lines otherwise.
    pub(super) fn on_stderr() -> Waiting {
        let terminal = std::io::stderr().is_terminal();
        Waiting::with_target(terminal.then(ProgressDrawTarget::stderr))
    }

    /// `target`: where the spinner draws; `None` prints plain lines to stderr instead.
    fn with_target(target: Option<ProgressDrawTarget>) -> Waiting {
        Waiting { bar: target.map(|t| ProgressBar::with_draw_target(None, t)) }
    }

    /// The job has to wait, for this reason (`None`: the wait is over).
    pub(super) fn update(&mut self, busy: Option<&Busy>) {
        match (busy, &self.bar) {
            (Some(busy), Some(bar)) => {
                if bar.is_finished() {
                    return;
                }
                bar.set_style(ProgressStyle::with_template("{spinner} {msg} ({elapsed})").expect("a valid template"));
                bar.set_message(render::waiting(busy));
                bar.enable_steady_tick(Duration::from_millis(100));
            }
            (Some(busy), None) => eprintln!("{}", render::waiting(busy)),
            (None, Some(bar)) => bar.finish_and_clear(),
            (None, None) => {}
        }
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::{Arc, Mutex};

    use indicatif::TermLike;

    use super::*;
    use crate::queue::model::JobId;

    /// A terminal that remembers what is on its one line.
    #[derive(Debug, Clone, Default)]
    struct Screen(Arc<Mutex<String>>);

    impl TermLike for Screen {
        fn width(&self) -> u16 {
            100
        }
        fn move_cursor_up(&self, _: usize) -> io::Result<()> {
            Ok(())
        }
        fn move_cursor_down(&self, _: usize) -> io::Result<()> {
            Ok(())
        }
        fn move_cursor_right(&self, _: usize) -> io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> io::Result<()> {
            Ok(())
        }
        fn write_line(&self, s: &str) -> io::Result<()> {
            self.write_str(s)
        }
        fn write_str(&self, s: &str) -> io::Result<()> {
            self.0.lock().unwrap().push_str(s);
            Ok(())
        }
        fn clear_line(&self) -> io::Result<()> {
            self.0.lock().unwrap().clear();
            Ok(())
        }
        fn flush(&self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_terminal_sees_the_reason_then_a_clear_line_when_the_job_starts() {
        let screen = Screen::default();
        let mut waiting = Waiting::with_target(Some(ProgressDrawTarget::term_like(Box::new(screen.clone()))));
        waiting.update(Some(&Busy::TypeRunning(JobId(7))));
        waiting.bar.as_ref().unwrap().tick();
        assert!(screen.0.lock().unwrap().contains("waiting for job 7, of the same type, to finish"));
        waiting.update(Some(&Busy::AtCapacity));
        waiting.bar.as_ref().unwrap().tick();
        assert!(screen.0.lock().unwrap().contains("EBMBOT_MAX_JOBS"));
        waiting.update(None);
        assert_eq!(*screen.0.lock().unwrap(), "", "the spinner is gone before the job's output");
    }

    #[test]
    fn dropped_while_waiting_it_clears_its_line() {
        let screen = Screen::default();
        let mut waiting = Waiting::with_target(Some(ProgressDrawTarget::term_like(Box::new(screen.clone()))));
        waiting.update(Some(&Busy::TypeRunning(JobId(1))));
        waiting.bar.as_ref().unwrap().tick();
        drop(waiting);
        assert_eq!(*screen.0.lock().unwrap(), "");
    }
}
