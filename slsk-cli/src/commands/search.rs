//! `slsk search QUERY`: results as they arrive, a table at the end.

use std::time::Duration;

use serde_json::json;
use slsk_proto::tables::FileAttributeKind;

use crate::exit::{Failure, Outcome};
use crate::options::{CommonArgs, FilterArgs, Settings};
use crate::output::{Output, attribute, human_bytes, human_length, table};
use crate::progress::Progress;
use crate::rank::rank;
use crate::session::{Needs, Session};

/// Search the network and list what peers share.
#[derive(Debug, clap::Args)]
pub struct SearchArgs {
    /// What to search for: words that must all appear in the path;
    /// -word excludes a word, *end matches words ending in "end".
    pub query: String,
    /// How long to collect results, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub wait: u64,
    /// Stop after this many results.
    #[arg(long, value_name = "N", default_value_t = 500)]
    pub max_results: usize,
    #[command(flatten)]
    pub filters: FilterArgs,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Runs the search; exit 3 when nothing is found.
pub async fn run(
    args: SearchArgs,
    settings: Settings,
    progress: Progress,
    output: Output,
) -> Outcome {
    let (settings, progress, output) = (&settings, &progress, &output);
    let session = Session::connect(settings, Needs::default()).await?;
    let results = super::collect_results(
        &session,
        &args.query,
        Duration::from_secs(args.wait),
        args.max_results,
        args.filters.to_filters(),
        super::Collect {
            progress,
            output,
            show_each: !settings.json,
        },
    )
    .await;
    session.close().await;
    let mut results = results?;
    output.record(json!({"type": "summary", "results": results.len()}));
    if results.is_empty() {
        return Err(Failure::Incomplete(format!(
            "nothing found for {:?}",
            args.query
        )));
    }
    rank(&mut results);
    let mut rows = vec![
        [
            "user", "slot", "speed", "queue", "size", "kbps", "length", "path",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for r in &results {
        let dash = || "-".to_owned();
        rows.push(vec![
            r.username.clone(),
            if r.slot_free { "free" } else { "busy" }.to_owned(),
            format!("{}/s", human_bytes(u64::from(r.avg_speed))),
            r.queue_length.to_string(),
            human_bytes(r.file.filesize),
            attribute(&r.file, FileAttributeKind::Bitrate).map_or_else(dash, |b| b.to_string()),
            attribute(&r.file, FileAttributeKind::Duration).map_or_else(dash, human_length),
            r.file.filename.clone(),
        ]);
    }
    for line in table(&rows) {
        output.text(&line);
    }
    Ok(())
}
