//! Prints the precision / recall table of the built-in detectors on the
//! generated evaluation set, and the scanning throughput.
//!
//!     cargo run --release -p sekisho-pii --example evaluate [-- SAMPLES [SEED] [--errors DETECTOR]]

use std::time::Instant;

use sekisho_pii::evaluation;
use sekisho_pii::{Detector, Scanner};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let errors_for = args.iter().position(|a| a == "--errors").and_then(|i| args.get(i + 1)).cloned();
    let positional: Vec<&String> = args
        .iter()
        .enumerate()
        .filter(|(i, a)| !a.starts_with("--") && (*i == 0 || args[i - 1] != "--errors"))
        .map(|(_, a)| a)
        .collect();
    let n: usize = positional.first().and_then(|s| s.parse().ok()).unwrap_or(4000);
    let seed: u64 = positional.get(1).and_then(|s| s.parse().ok()).unwrap_or(evaluation::SEED);

    let scanner = Scanner::new(&[]).expect("built-in detectors compile");
    let samples = evaluation::generate(seed, n);
    let scores = evaluation::evaluate(&scanner, &samples);
    println!("{n} samples, seed {seed:#x}\n");
    println!("{}", evaluation::table(&scores));

    let bytes: usize = samples.iter().map(|s| s.text.len()).sum();
    let rounds = 5;
    let t = Instant::now();
    let mut count = 0;
    for _ in 0..rounds {
        for s in &samples {
            count += scanner.scan(&s.text).len();
        }
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "throughput: {:.1} MB/s over {} KB of sample text ({} hits per round)",
        (bytes * rounds) as f64 / secs / 1e6,
        bytes / 1024,
        count / rounds
    );

    // Ordinary prose with a value now and then, as most outbound documents
    // are: the cost the audit adds to a rebuild.
    let filler = "いつもお世話になっております。本件について、添付の資料をご確認のうえ、来週までにご回答をお願いいたします。\
        The quarterly report covers sales, costs and the outlook for the next fiscal year. ";
    let mut doc = String::new();
    let mut i = 0;
    while doc.len() < 4 << 20 {
        doc.push_str(filler);
        i += 1;
        if i % 20 == 0 {
            doc.push_str(&samples[(i / 20) % samples.len()].text);
        }
    }
    let t = Instant::now();
    let hits = scanner.scan(&doc).len();
    let secs = t.elapsed().as_secs_f64();
    println!(
        "throughput on prose: {:.1} MB/s over {} KB ({hits} hits)",
        doc.len() as f64 / secs / 1e6,
        doc.len() / 1024
    );
    let ascii =
        "The quarterly report covers sales, costs and the outlook for the next fiscal year 2025. ".repeat(50_000);
    let t = Instant::now();
    let hits = scanner.scan(&ascii).len();
    let secs = t.elapsed().as_secs_f64();
    println!(
        "throughput on ASCII prose: {:.1} MB/s over {} KB ({hits} hits)",
        ascii.len() as f64 / secs / 1e6,
        ascii.len() / 1024
    );

    if let Some(name) = errors_for {
        let d = Detector::from_name(&name).expect("a built-in detector name");
        for line in evaluation::errors(&scanner, &samples, d) {
            println!("{line}");
        }
    }
}
