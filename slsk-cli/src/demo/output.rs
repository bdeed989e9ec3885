//! What the demo tells its user, and how: human lines on stdout (with
//! indicatif bars on stderr when it is a terminal, plain lines otherwise),
//! or with `--json` one JSON object per line on stdout.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};

use indicatif::{HumanBytes, MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use super::hops::Hop;

/// One thing the demo reports: a JSON line with `--json` (tagged by
/// `type`), a human line otherwise.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Output {
    /// A step started or finished.
    Step { step: &'static str, message: String },
    /// The sharer's scan went on.
    Scan {
        phase: &'static str,
        files_seen: u64,
        files_read: u64,
        files_to_read: u64,
    },
    /// A search result arrived.
    Result {
        username: String,
        path: String,
        size: u64,
        duration: Option<u32>,
        bitrate: Option<u32>,
        sample_rate: Option<u32>,
        bit_depth: Option<u32>,
    },
    /// A download was queued.
    Queued { path: String, size: u64 },
    /// Bytes of one download arrived.
    Progress { path: String, bytes: u64, size: u64 },
    /// A download finished and its checksum was compared with the source.
    Downloaded {
        path: String,
        local_path: String,
        bytes: u64,
        sha256: String,
        matched: bool,
    },
    /// The end of a successful run.
    Summary(Summary),
    /// A step failed; the demo stops (exit status 1).
    Error { step: &'static str, message: String },
}

/// The result of the whole run.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// The album's folder, as its sharer publishes it.
    pub album: String,
    pub from: String,
    pub to: String,
    /// Files downloaded.
    pub files: usize,
    /// Bytes downloaded.
    pub bytes: u64,
    /// Files whose SHA-256 matched the source.
    pub checksums_matched: usize,
    /// Whether every file matched.
    pub all_checksums_match: bool,
    /// From the first download request to the last file, in seconds.
    pub download_seconds: f64,
    /// `bytes / download_seconds`.
    pub bytes_per_second: u64,
    /// The whole run, server start to summary, in seconds.
    pub total_seconds: f64,
    /// How each message and file travelled.
    pub hops: Vec<Hop>,
}

/// Writes [`Output`]s as lines, and draws the progress bars.
pub struct Reporter {
    json: bool,
    /// Bars on stderr; only when it is a terminal.
    bars: Option<MultiProgress>,
    downloads: HashMap<String, ProgressBar>,
    scan: Option<ProgressBar>,
    /// The last quarter reported per download, in plain mode.
    quarters: HashMap<String, u64>,
}

impl Reporter {
    /// JSON lines or human lines; bars when stderr is a terminal.
    pub fn new(json: bool) -> Self {
        let bars = std::io::stderr()
            .is_terminal()
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        Self {
            json,
            bars,
            downloads: HashMap::new(),
            scan: None,
            quarters: HashMap::new(),
        }
    }

    /// Reports `output`.
    pub fn emit(&mut self, output: Output) {
        if let Some(bars) = &self.bars {
            self.draw(bars.clone(), &output);
        }
        if self.json {
            // serde_json cannot fail on these types (string keys, no maps
            // with other keys).
            if let Ok(line) = serde_json::to_string(&output) {
                self.print(&line);
            }
        } else if let Some(line) = self.human(&output) {
            self.print(&line);
        }
    }

    /// A line on stdout, above the bars if there are any. A closed stdout
    /// (piped into `head`) is not an error worth stopping the demo for.
    fn print(&self, line: &str) {
        let write = || {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        };
        match &self.bars {
            Some(bars) => bars.suspend(write),
            None => write(),
        }
    }

    /// Updates the bars (terminal only).
    fn draw(&mut self, bars: MultiProgress, output: &Output) {
        match output {
            Output::Scan {
                phase,
                files_read,
                files_to_read,
                ..
            } => {
                let bar = self.scan.get_or_insert_with(|| {
                    let bar = bars.add(ProgressBar::new(0));
                    bar.set_style(style("{prefix:>9}  [{bar:30}] {pos}/{len} files read"));
                    bar.set_prefix("scan");
                    bar
                });
                bar.set_length(*files_to_read);
                bar.set_position(*files_read);
                // The "done" line takes the bar's place.
                if *phase == "done" {
                    bar.finish_and_clear();
                }
            }
            Output::Queued { path, size } => {
                let bar = bars.add(ProgressBar::new(*size));
                bar.set_style(style(
                    "{prefix:>9}  [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} {msg}",
                ));
                bar.set_prefix("download");
                bar.set_message(file_name(path).to_owned());
                self.downloads.insert(path.clone(), bar);
            }
            Output::Progress { path, bytes, .. } => {
                if let Some(bar) = self.downloads.get(path) {
                    bar.set_position(*bytes);
                }
            }
            // The file's checked line takes its bar's place.
            Output::Downloaded { path, .. } => {
                if let Some(bar) = self.downloads.remove(path) {
                    bar.finish_and_clear();
                }
            }
            _ => {}
        }
    }

    /// The human line for `output`, if it has one (progress has lines only
    /// without bars, at each quarter).
    fn human(&mut self, output: &Output) -> Option<String> {
        match output {
            Output::Step { step, message } => Some(format!("{step:>9}  {message}")),
            Output::Scan {
                phase,
                files_seen,
                files_read,
                files_to_read,
            } => (self.bars.is_none() || *phase == "done").then(|| {
                format!(
                    "{:>9}  {phase}: {files_seen} files found, {files_read}/{files_to_read} read",
                    "scan"
                )
            }),
            Output::Result {
                username,
                path,
                size,
                duration,
                bitrate,
                sample_rate,
                bit_depth,
            } => {
                let mut line =
                    format!("{:>9}  {username}: {path}  {}", "result", HumanBytes(*size));
                if let Some(seconds) = duration {
                    line.push_str(&format!(", {seconds} s"));
                }
                if let Some(kbps) = bitrate {
                    line.push_str(&format!(", {kbps} kbps"));
                }
                if let Some(hz) = sample_rate {
                    line.push_str(&format!(", {hz} Hz"));
                }
                if let Some(bits) = bit_depth {
                    line.push_str(&format!(", {bits} bit"));
                }
                Some(line)
            }
            Output::Queued { path, size } => Some(format!(
                "{:>9}  {} ({})",
                "queued",
                file_name(path),
                HumanBytes(*size)
            )),
            Output::Progress { path, bytes, size } => {
                if self.bars.is_some() || *size == 0 || bytes >= size {
                    return None;
                }
                let quarter = bytes * 4 / size;
                let last = self.quarters.entry(path.clone()).or_insert(0);
                (quarter > *last).then(|| {
                    *last = quarter;
                    format!("{:>9}  {}: {}%", "progress", file_name(path), quarter * 25)
                })
            }
            Output::Downloaded {
                path,
                bytes,
                sha256,
                matched,
                ..
            } => Some(format!(
                "{:>9}  {} ({}), SHA-256 {}… {}",
                "done",
                file_name(path),
                HumanBytes(*bytes),
                &sha256[..12.min(sha256.len())],
                if *matched {
                    "matches the source"
                } else {
                    "DIFFERS from the source"
                }
            )),
            Output::Summary(summary) => Some(human_summary(summary)),
            Output::Error { step, message } => Some(format!("{step:>9}  FAILED: {message}")),
        }
    }
}

/// The summary, a few aligned lines.
fn human_summary(s: &Summary) -> String {
    let mut lines = vec![
        format!("{:>9}  {} from {} to {}", "summary", s.album, s.from, s.to),
        format!(
            "{:>9}  {} files, {}, every SHA-256 {}",
            "files",
            s.files,
            HumanBytes(s.bytes),
            if s.all_checksums_match {
                "matches the source"
            } else {
                "does NOT match"
            }
        ),
        format!(
            "{:>9}  {:.2} s downloading ({}/s), {:.2} s in all",
            "time",
            s.download_seconds,
            HumanBytes(s.bytes_per_second),
            s.total_seconds
        ),
    ];
    for hop in &s.hops {
        lines.push(format!(
            "{:>9}  {}: {} -> {}, {}",
            "hop", hop.what, hop.from, hop.to, hop.detail
        ));
    }
    lines.join("\n")
}

/// The last part of a virtual path.
fn file_name(path: &str) -> &str {
    path.rsplit('\\').next().unwrap_or(path)
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_are_tagged_by_type() {
        let output = Output::Progress {
            path: "Music\\a.wav".into(),
            bytes: 1,
            size: 2,
        };
        assert_eq!(
            serde_json::to_string(&output).unwrap(),
            r#"{"type":"progress","path":"Music\\a.wav","bytes":1,"size":2}"#
        );
    }

    #[test]
    fn plain_progress_is_a_line_per_quarter() {
        let mut reporter = Reporter {
            json: false,
            bars: None,
            downloads: HashMap::new(),
            scan: None,
            quarters: HashMap::new(),
        };
        let progress = |bytes| Output::Progress {
            path: "M\\x.wav".into(),
            bytes,
            size: 100,
        };
        let lines: Vec<String> = [10, 30, 40, 60, 100]
            .into_iter()
            .filter_map(|bytes| reporter.human(&progress(bytes)))
            .collect();
        assert_eq!(lines, [" progress  x.wav: 25%", " progress  x.wav: 50%"]);
    }
}
