//! Progress bars on standard error (indicatif), off with `--quiet` or when standard error
//! is not a terminal.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Makes progress bars, or hidden ones.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    /// Whether bars are drawn.
    pub visible: bool,
}

impl Progress {
    /// Bars unless `quiet`.
    pub fn new(quiet: bool) -> Self {
        Self { visible: !quiet }
    }

    /// A bar of `len` steps with a message.
    pub fn bar(&self, len: u64, message: &str) -> ProgressBar {
        if !self.visible {
            return ProgressBar::hidden();
        }
        let pb = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template("{msg:28} [{bar:30}] {pos}/{len} {elapsed}")
        {
            pb.set_style(style.progress_chars("=> "));
        }
        pb.set_message(message.to_string());
        pb
    }
}
