//! `slsk browse USER`: a user's shares as a tree, or one `file` record per
//! file with `--json`.

use std::collections::BTreeMap;

use serde_json::Value;
use slsk_proto::structures::{DirectoryData, FileData};
use slsk_proto::tables::FileAttributeKind;

use crate::exit::{Failure, Outcome};
use crate::options::{CommonArgs, Settings};
use crate::output::{Output, attribute, file_fields, human_bytes, human_length};
use crate::progress::Progress;
use crate::session::{Needs, Session};

/// List what a user shares.
#[derive(Debug, clap::Args)]
pub struct BrowseArgs {
    /// Whose shares.
    #[arg(value_name = "USER")]
    pub peer: String,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Asks for the share list; exit 3 when the user shares nothing.
pub async fn run(
    args: BrowseArgs,
    settings: Settings,
    progress: Progress,
    output: Output,
) -> Outcome {
    let (settings, progress, output) = (&settings, &progress, &output);
    let session = Session::connect(settings, Needs::default()).await?;
    progress.note(&format!("asking {} for their shares", args.peer));
    let reply = session.client.browse(&args.peer).await;
    session.close().await;
    let reply = reply.map_err(|e| Failure::Error(format!("browsing {}: {e}", args.peer)))?;
    let files: usize = reply.directories.iter().map(|d| d.files.len()).sum();
    if files == 0 {
        return Err(Failure::Incomplete(format!(
            "{} shares no files",
            args.peer
        )));
    }
    for dir in &reply.directories {
        for file in &dir.files {
            let path = format!("{}\\{}", dir.name, file.filename);
            let mut map = file_fields(&args.peer, &path, file);
            map.insert("type".into(), "file".into());
            output.record(Value::Object(map));
        }
    }
    for line in tree(&reply.directories) {
        output.text(&line);
    }
    progress.note(&format!(
        "{files} file(s) in {} folder(s)",
        reply.directories.len()
    ));
    Ok(())
}

#[derive(Default)]
struct Node<'a> {
    folders: BTreeMap<&'a str, Node<'a>>,
    files: Vec<&'a FileData>,
}

/// The folders as a tree: one line per folder (`name\`) and per file
/// (name, size, bitrate, length), drawn with box characters.
pub fn tree(directories: &[DirectoryData]) -> Vec<String> {
    let mut root = Node::default();
    for dir in directories {
        let mut node = &mut root;
        for part in dir.name.split('\\').filter(|p| !p.is_empty()) {
            node = node.folders.entry(part).or_default();
        }
        node.files.extend(&dir.files);
    }
    let mut lines = Vec::new();
    draw(&root, "", &mut lines);
    lines
}

fn draw(node: &Node<'_>, indent: &str, lines: &mut Vec<String>) {
    let count = node.folders.len() + node.files.len();
    let mut index = 0;
    for (name, child) in &node.folders {
        index += 1;
        let last = index == count;
        lines.push(format!(
            "{indent}{}{name}\\",
            if last { "└── " } else { "├── " }
        ));
        draw(
            child,
            &format!("{indent}{}", if last { "    " } else { "│   " }),
            lines,
        );
    }
    let mut files = node.files.clone();
    files.sort_by(|a, b| a.filename.cmp(&b.filename));
    for file in files {
        index += 1;
        let branch = if index == count {
            "└── "
        } else {
            "├── "
        };
        lines.push(format!(
            "{indent}{branch}{}  ({})",
            file.filename,
            details(file)
        ));
    }
}

fn details(file: &FileData) -> String {
    let mut parts = vec![human_bytes(file.filesize)];
    if let Some(kbps) = attribute(file, FileAttributeKind::Bitrate) {
        parts.push(format!("{kbps} kbps"));
    }
    if let Some(seconds) = attribute(file, FileAttributeKind::Duration) {
        parts.push(human_length(seconds));
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use slsk_proto::structures::Attribute;

    fn file(name: &str, size: u64, attrs: Vec<Attribute>) -> FileData {
        FileData {
            code: 1,
            filename: name.into(),
            filesize: size,
            extension: String::new(),
            attributes: attrs,
        }
    }

    #[test]
    fn folders_nest_and_files_show_their_details() {
        let dirs = vec![
            DirectoryData {
                name: "Music\\Air\\Moon Safari".into(),
                files: vec![
                    file(
                        "02 Sexy Boy.mp3",
                        2048,
                        vec![
                            Attribute {
                                key: FileAttributeKind::Bitrate,
                                value: 320,
                            },
                            Attribute {
                                key: FileAttributeKind::Duration,
                                value: 298,
                            },
                        ],
                    ),
                    file("01 La femme.mp3", 100, vec![]),
                ],
            },
            DirectoryData {
                name: "Music".into(),
                files: vec![file("readme.txt", 5, vec![])],
            },
            DirectoryData {
                name: "Music\\Bach".into(),
                files: vec![],
            },
        ];
        assert_eq!(
            tree(&dirs),
            [
                "└── Music\\",
                "    ├── Air\\",
                "    │   └── Moon Safari\\",
                "    │       ├── 01 La femme.mp3  (100 B)",
                "    │       └── 02 Sexy Boy.mp3  (2.0 KiB, 320 kbps, 4:58)",
                "    ├── Bach\\",
                "    └── readme.txt  (5 B)",
            ]
        );
        assert!(tree(&[]).is_empty());
    }
}
