//! Folders from the CLI: files run in parallel on worker threads, with a
//! progress bar on a terminal (plain lines otherwise) and a summary table by
//! outcome and format at the end.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use indicatif::{ProgressBar, ProgressStyle};

use crate::report::Report;

/// Stack of each worker: compiling and running plugins nests deeply.
const WORKER_STACK: usize = 64 << 20;

/// Runs `work` over `items` on `threads` workers and answers the results in
/// input order. `work` answers the line to show for an item.
pub fn run<T, R, F>(items: &[T], threads: usize, work: F) -> Vec<R>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> (R, String) + Sync,
{
    let progress = (items.len() > 1 && std::io::stderr().is_terminal()).then(|| {
        let bar = ProgressBar::new(items.len() as u64);
        let style = ProgressStyle::with_template("{bar:40} {pos}/{len} {elapsed_precise} ETA {eta} {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar
    });
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    let worker = || {
        while let Some(index) = Some(next.fetch_add(1, Ordering::Relaxed)).filter(|&i| i < items.len()) {
            let (result, line) = work(&items[index]);
            match &progress {
                Some(bar) => {
                    bar.println(&line);
                    bar.inc(1);
                }
                None => eprintln!("{line}"),
            }
            results.lock().unwrap_or_else(|p| p.into_inner())[index] = Some(result);
        }
    };
    match threads.clamp(1, items.len().max(1)) {
        // One worker is the calling thread (the CLI's, with the same stack).
        1 => worker(),
        workers => std::thread::scope(|scope| {
            for _ in 0..workers {
                let spawned = std::thread::Builder::new().stack_size(WORKER_STACK).spawn_scoped(scope, &worker);
                if let Err(e) = spawned {
                    eprintln!("sekisho: cannot start a worker thread: {e}");
                }
            }
        }),
    }
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    let results = results.into_inner().unwrap_or_else(|p| p.into_inner());
    results.into_iter().flatten().collect()
}

/// A table of files by outcome and detected format, and the totals;
/// `errors` inputs could not be processed at all (unreadable, missing).
pub fn summary(reports: &[&Report], errors: usize) -> String {
    let mut counts: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    for report in reports {
        let outcome = report.outcome.name().to_owned();
        let format = report.input.format.clone().unwrap_or_else(|| "unknown".into());
        *counts.entry((outcome.clone(), format)).or_default() += 1;
        *outcomes.entry(outcome).or_default() += 1;
    }
    let mut table = format!("{:<12} {:<10} {:>7}\n", "OUTCOME", "FORMAT", "FILES");
    for ((outcome, format), n) in &counts {
        table.push_str(&format!("{outcome:<12} {format:<10} {n:>7}\n"));
    }
    let mut totals: Vec<String> = outcomes.iter().map(|(o, n)| format!("{n} {o}")).collect();
    if errors > 0 {
        totals.push(format!("{errors} not readable"));
    }
    let files = reports.len() + errors;
    table.push_str(&format!("{files} {}: {}\n", plural(files, "file", "files"), totals.join(", ")));
    table
}

/// `1 file`, `2 files`.
pub fn plural(n: usize, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 { one } else { many }
}
