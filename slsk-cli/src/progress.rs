//! Progress on stderr: indicatif bars when stderr is a terminal, plain
//! lines when it is not (a log file, a pipe, CI), so that what is written
//! there stays line-oriented: no carriage returns, no escape sequences.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::output::{human_bytes, printable};

/// Plain-line mode writes at most one progress line per transfer this often
/// (and at each tenth of the file).
const LINE_INTERVAL: Duration = Duration::from_secs(2);

/// The progress display of one command.
#[derive(Debug, Clone)]
pub struct Progress {
    bars: Option<MultiProgress>,
}

impl Progress {
    /// Bars if stderr is a terminal, plain lines otherwise.
    pub fn detect() -> Self {
        if std::io::stderr().is_terminal() {
            Progress {
                bars: Some(MultiProgress::with_draw_target(ProgressDrawTarget::stderr())),
            }
        } else {
            Progress::plain()
        }
    }

    /// Plain lines only.
    pub fn plain() -> Self {
        Progress { bars: None }
    }

    /// A message on its own line (above the bars on a terminal), control
    /// characters escaped.
    pub fn note(&self, text: &str) {
        let text = printable(text);
        match &self.bars {
            Some(bars) => {
                let _ = bars.println(text);
            }
            None => eprintln!("{text}"),
        }
    }

    /// A counter for something without a known end (search results, files
    /// scanned).
    pub fn counter(&self, label: &str) -> Counter {
        let label = printable(label);
        let bar = self.bars.as_ref().map(|bars| {
            let bar = bars.add(ProgressBar::new_spinner());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {prefix} {pos} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_prefix(label.clone());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Counter {
            bar,
            label,
            last_line: None,
        }
    }

    /// A bar for one transfer of `size` bytes.
    pub fn transfer(&self, label: &str, size: u64) -> TransferBar {
        let label = printable(label);
        let bar = self.bars.as_ref().map(|bars| {
            let bar = bars.add(ProgressBar::new(size));
            bar.set_style(
                ProgressStyle::with_template(
                    "{prefix:30!} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar.set_prefix(label.clone());
            bar
        });
        TransferBar {
            bar,
            label,
            last_tenth: None,
            last_line: None,
            last_state: String::new(),
        }
    }
}

/// See [`Progress::counter`].
#[derive(Debug)]
pub struct Counter {
    bar: Option<ProgressBar>,
    label: String,
    last_line: Option<Instant>,
}

impl Counter {
    /// Sets the count, with a short message.
    pub fn set(&mut self, count: u64, message: &str) {
        let message = printable(message);
        match &self.bar {
            Some(bar) => {
                bar.set_position(count);
                bar.set_message(message);
            }
            None => {
                if self
                    .last_line
                    .is_none_or(|at| at.elapsed() >= LINE_INTERVAL)
                {
                    self.last_line = Some(Instant::now());
                    eprintln!("{}: {count} {message}", self.label);
                }
            }
        }
    }

    /// Ends the counter with a final line.
    pub fn finish(self, text: &str) {
        let text = printable(text);
        match self.bar {
            Some(bar) => bar.finish_with_message(text),
            None => eprintln!("{}: {text}", self.label),
        }
    }
}

/// See [`Progress::transfer`].
#[derive(Debug)]
pub struct TransferBar {
    bar: Option<ProgressBar>,
    label: String,
    last_tenth: Option<u64>,
    last_line: Option<Instant>,
    last_state: String,
}

impl TransferBar {
    /// `bytes` of `size` so far, at `rate` bytes per second.
    pub fn set(&mut self, bytes: u64, size: u64, rate: u64) {
        match &self.bar {
            Some(bar) => {
                bar.set_length(size);
                bar.set_position(bytes);
            }
            None => {
                let tenth = (bytes.saturating_mul(10)).checked_div(size).unwrap_or(10);
                let due = self
                    .last_line
                    .is_none_or(|at| at.elapsed() >= LINE_INTERVAL);
                if self.last_tenth != Some(tenth) || due {
                    self.last_tenth = Some(tenth);
                    self.last_line = Some(Instant::now());
                    eprintln!(
                        "{}: {} of {} ({}/s)",
                        self.label,
                        human_bytes(bytes),
                        human_bytes(size),
                        human_bytes(rate)
                    );
                }
            }
        }
    }

    /// A state change (queued, connecting...), shown next to the bar;
    /// repeats of the same state are not shown again.
    pub fn state(&mut self, text: &str) {
        if self.last_state == text {
            return;
        }
        text.clone_into(&mut self.last_state);
        let text = printable(text);
        match &self.bar {
            Some(bar) => bar.set_message(text),
            None => eprintln!("{}: {text}", self.label),
        }
    }

    /// Ends the bar with a final word.
    pub fn finish(self, text: &str) {
        let text = printable(text);
        match self.bar {
            Some(bar) => bar.finish_with_message(text),
            None => eprintln!("{}: {text}", self.label),
        }
    }
}
