//! One module per network command, and the search they share.

pub mod browse;
pub mod download;
pub mod get;
pub mod search;
pub mod share;

use std::time::Duration;

use serde_json::Value;
use slsk_net::client::{SearchFilters, SearchOptions, SearchResult};

use crate::exit::Failure;
use crate::output::{Output, file_fields};
use crate::progress::Progress;
use crate::session::Session;

/// How a search shows its results as they arrive.
pub struct Collect<'a> {
    pub progress: &'a Progress,
    pub output: &'a Output,
    /// Also a line per result on stderr (`search` in text mode).
    pub show_each: bool,
}

/// Searches for `query` (the library sanitises it, client-behaviour.md
/// 4.1) once the rate limit allows, for `wait`, writing a `result` record
/// per result as it arrives and counting them on stderr.
pub async fn collect_results(
    session: &Session,
    query: &str,
    wait: Duration,
    max_results: usize,
    filters: SearchFilters,
    show: Collect<'_>,
) -> Result<Vec<SearchResult>, Failure> {
    let Collect {
        progress,
        output,
        show_each,
    } = show;
    session.rate_limit(progress).await?;
    let options = SearchOptions {
        timeout: wait,
        max_results: max_results.max(1),
        filters,
        ..SearchOptions::default()
    };
    let mut search = session
        .client
        .search(query, options)
        .await
        .map_err(|e| Failure::Error(format!("searching: {e}")))?;
    let mut counter = progress.counter("search");
    let mut results = Vec::new();
    let mut users = std::collections::HashSet::new();
    while let Some(result) = search.next().await {
        output.record(result_record(&result));
        if show_each {
            progress.note(&format!("{}: {}", result.username, result.file.filename));
        }
        users.insert(result.username.clone());
        results.push(result);
        counter.set(
            results.len() as u64,
            &format!("result(s) from {} user(s)", users.len()),
        );
    }
    counter.finish(&format!(
        "{} result(s) from {} user(s)",
        results.len(),
        users.len()
    ));
    Ok(results)
}

/// The `result` record of one search result.
pub fn result_record(result: &SearchResult) -> Value {
    let mut map = file_fields(&result.username, &result.file.filename, &result.file);
    map.insert("type".into(), "result".into());
    map.insert("slot_free".into(), result.slot_free.into());
    map.insert("speed".into(), result.avg_speed.into());
    map.insert("queue".into(), result.queue_length.into());
    Value::Object(map)
}

/// Seconds as a duration; 0 means none.
pub fn optional_secs(secs: u64) -> Option<Duration> {
    (secs > 0).then(|| Duration::from_secs(secs))
}

/// Resolves the common options, then runs a network command on a tokio
/// runtime: logs and progress on stderr, results on stdout, the failure
/// (if any) on stderr and, with `--json`, as an `error` record.
pub fn run_network<F, Fut>(
    common: &crate::options::CommonArgs,
    command: F,
) -> std::process::ExitCode
where
    F: FnOnce(crate::options::Settings, crate::progress::Progress, crate::output::Output) -> Fut,
    Fut: std::future::Future<Output = crate::exit::Outcome>,
{
    let outcome = (|| {
        let settings = common.resolve()?;
        init_logging();
        let runtime = tokio::runtime::Runtime::new()
            .map_err(|e| crate::exit::Failure::Error(format!("starting the runtime: {e}")))?;
        let output = crate::output::Output::new(settings.json);
        let result = runtime.block_on(async {
            let progress = crate::progress::Progress::detect();
            let output_ref = crate::output::Output::new(settings.json);
            command(settings, progress, output_ref).await
        });
        if let Err(failure) = &result {
            output.record(serde_json::json!({
                "type": "error", "message": failure.message(), "exit_code": failure.code(),
            }));
        }
        result
    })();
    if let Err(failure) = &outcome {
        eprintln!("slsk: {}", crate::output::printable(failure.message()));
    }
    crate::exit::exit_code(&outcome)
}

/// Errors of the libraries on stderr (RUST_LOG for more),
/// colored only on a terminal.
fn init_logging() {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}
