//! What goes to stdout: JSON lines with `--json`, text for people
//! otherwise. Progress, logs and notes go to stderr ([`crate::progress`]).
//!
//! Every JSON line is an object with a `type`:
//!
//! | type | written by | fields |
//! |---|---|---|
//! | `result` | search, get | `user`, `path`, `size`, `extension`, `slot_free`, `speed` (bytes/s), `queue`, `bitrate`, `length`, `sample_rate`, `bit_depth` (null when absent) |
//! | `transfer` | get, download, share | `direction` (`download`/`upload`), `user`, `path`, `state`, `reason`?, `local_path`? |
//! | `progress` | get, download, share | `direction`, `user`, `path`, `bytes`, `size`, `rate` (bytes/s); or, for a share scan, `scan` with `phase`, `files_seen`, `files_to_read`, `files_read` |
//! | `shared` | share | `folders`, `files` (a scan finished) |
//! | `file` | browse | `user`, `path`, `size`, `extension`, `bitrate`, `length`, `sample_rate`, `bit_depth` |
//! | `summary` | search, get, download | `results` or `completed` and `failed` |
//! | `error` | any | `message`, `exit_code` |

use std::io::Write;
use std::sync::Mutex;

use serde_json::{Value, json};
use slsk_proto::structures::FileData;
use slsk_proto::tables::FileAttributeKind;

/// Where results go.
#[derive(Debug)]
pub struct Output {
    json: bool,
    lock: Mutex<()>,
}

impl Output {
    /// JSON lines (`json`) or text.
    pub fn new(json: bool) -> Self {
        Output {
            json,
            lock: Mutex::new(()),
        }
    }

    /// Writes one JSON object on its own line (JSON mode only). A closed
    /// stdout (piped into `head`) is ignored: the command goes on.
    pub fn record(&self, value: Value) {
        if self.json {
            self.write(&value.to_string());
        }
    }

    /// Writes a line of text (text mode only), control characters escaped.
    pub fn text(&self, line: &str) {
        if !self.json {
            self.write(&printable(line));
        }
    }

    fn write(&self, line: &str) {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
}

/// `text` with its control characters escaped (`\u{1b}`): names from the
/// network are shown as they are, but never get to move the cursor, clear
/// the terminal or break a line.
pub fn printable(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_owned();
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// One attribute of a file, if it carries it.
pub fn attribute(file: &FileData, kind: FileAttributeKind) -> Option<u32> {
    file.attributes
        .iter()
        .find(|a| a.key == kind)
        .map(|a| a.value)
}

/// The extension a file carries, or the one its name ends with.
pub fn extension(file: &FileData) -> String {
    if !file.extension.is_empty() {
        return file.extension.to_lowercase();
    }
    let name = file.filename.rsplit(['\\', '/']).next().unwrap_or("");
    name.rsplit_once('.')
        .map(|(_, ext)| ext.to_lowercase())
        .unwrap_or_default()
}

/// The file fields shared by `result` and `file` records.
pub fn file_fields(user: &str, path: &str, file: &FileData) -> serde_json::Map<String, Value> {
    let mut map = serde_json::Map::new();
    map.insert("user".into(), json!(user));
    map.insert("path".into(), json!(path));
    map.insert("size".into(), json!(file.filesize));
    map.insert("extension".into(), json!(extension(file)));
    map.insert(
        "bitrate".into(),
        json!(attribute(file, FileAttributeKind::Bitrate)),
    );
    map.insert(
        "length".into(),
        json!(attribute(file, FileAttributeKind::Duration)),
    );
    map.insert(
        "sample_rate".into(),
        json!(attribute(file, FileAttributeKind::SampleRate)),
    );
    map.insert(
        "bit_depth".into(),
        json!(attribute(file, FileAttributeKind::BitDepth)),
    );
    map
}

/// `1.5 MiB` and the like.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// `3:25`, or `1:02:03` past an hour.
pub fn human_length(seconds: u32) -> String {
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// Lays out rows as aligned columns (the header is the first row).
pub fn table(rows: &[Vec<String>]) -> Vec<String> {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    rows.iter()
        .map(|row| {
            let mut line = String::new();
            for (c, cell) in row.iter().enumerate() {
                if c + 1 == row.len() {
                    line.push_str(cell);
                } else {
                    line.push_str(cell);
                    let pad = widths[c] - cell.chars().count() + 2;
                    line.extend(std::iter::repeat_n(' ', pad));
                }
            }
            line
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_lengths_and_tables_read_well() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(5 << 20), "5.0 MiB");
        assert_eq!(human_length(205), "3:25");
        assert_eq!(human_length(3723), "1:02:03");
        let rows = vec![
            vec!["user".to_owned(), "path".to_owned()],
            vec!["alice".to_owned(), "a\\b".to_owned()],
        ];
        assert_eq!(table(&rows), ["user   path", "alice  a\\b"]);
    }

    #[test]
    fn control_characters_from_the_network_are_escaped() {
        assert_eq!(printable("plain \\ path é"), "plain \\ path é");
        assert_eq!(
            printable("a\u{1b}[2Jb\rc\nd\u{9b}"),
            "a\\u{1b}[2Jb\\rc\\nd\\u{9b}"
        );
    }

    #[test]
    fn extensions_come_from_the_field_or_the_name() {
        let mut file = FileData {
            code: 1,
            filename: "x\\Song.FLAC".into(),
            filesize: 1,
            extension: String::new(),
            attributes: vec![],
        };
        assert_eq!(extension(&file), "flac");
        file.extension = "MP3".into();
        assert_eq!(extension(&file), "mp3");
        let fields = file_fields("u", "x\\Song.FLAC", &file);
        assert_eq!(fields["bitrate"], Value::Null);
    }
}
