//! Benchmarks, printed as a table: per-file sandbox overhead (pooling and
//! on-demand), compile vs cached load, wasm/native ratios of the text and zip
//! plugins on multi-megabyte inputs, the CLI end to end, and corpus
//! throughput beside peer tools (qpdf for PDF, mat2 for office documents,
//! exiftool and mat2 for images), and the cost of multi-scan (YARA-X,
//! clamd) beside the rebuild.
//!
//! Run with `cargo bench -p sekisho`. Absolute times depend on the machine;
//! the ratios, measured in the same run, are what to compare.

use std::hint::black_box;
use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sekisho::Sekisho;
use sekisho::pipeline::Options;
use sekisho::policy::Policy;
use sekisho::sandbox::{Allocator, Job, RunLimits, Sandbox, SandboxConfig};
use sekisho::source::Source;
use sekisho_plugin_sdk::{EmbeddedOutcome, EmbeddedRebuilt, EmbeddedRefusal, Embedder};

fn cache_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/sekisho-bench-cache")
}

/// The engine with the first-party plugins and the test plugin `misbehave`,
/// whose plain path only copies input to output: the sandbox cost alone.
fn engine(allocator: Allocator) -> Sekisho {
    let echo_dir = std::env::temp_dir().join("sekisho-bench-plugins");
    std::fs::create_dir_all(&echo_dir).unwrap();
    let echo = sekisho_test_plugins::plugin_wasm("sekisho_test_misbehave.wasm");
    std::fs::copy(echo, echo_dir.join("misbehave.wasm")).unwrap();
    let sandbox = SandboxConfig { allocator, cache_dir: Some(cache_dir()), ..SandboxConfig::default() };
    Sekisho::new(Options { sandbox, plugin_dirs: vec![echo_dir], ..Options::default() }).expect("engine")
}

/// Median of `runs` timings of `f`.
fn median(runs: usize, mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    times[runs / 2]
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn row(what: &str, value: String, note: &str) {
    println!("| {what:<58} | {value:>12} | {note} |");
}

/// A CSV of `bytes` bytes with a formula cell every 100 rows.
fn big_csv(bytes: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes + 100);
    let mut i = 0u64;
    while out.len() < bytes {
        if i.is_multiple_of(100) {
            writeln!(out, "{i},=HYPERLINK(\"http://x\"),東京都千代田区,{}", i * 7).unwrap();
        } else {
            writeln!(out, "{i},商品{i},東京都千代田区,{}", i * 7).unwrap();
        }
        i += 1;
    }
    out
}

/// A ZIP of `members` CSV files, `bytes` inflated in total.
fn big_zip(members: usize, bytes: usize) -> Vec<u8> {
    let mut buf = Cursor::new(Vec::new());
    let mut writer = zip::ZipWriter::new(&mut buf);
    let member = big_csv(bytes / members);
    for i in 0..members {
        writer.start_file(format!("dir/part{i}.csv"), zip::write::SimpleFileOptions::default()).unwrap();
        writer.write_all(&member).unwrap();
    }
    writer.finish().unwrap();
    buf.into_inner()
}

/// Native stand-in for the host: members go straight to the text library.
struct NativeText;

impl Embedder for NativeText {
    fn sanitize_embedded(&mut self, name: &str, data: &[u8]) -> Result<EmbeddedRebuilt, EmbeddedRefusal> {
        let mut out = Vec::new();
        let format = if name.ends_with(".csv") { "csv" } else { "text" };
        let policy = sekisho_plugin_sdk::Policy::uniform(sekisho_plugin_sdk::Action::Sanitize);
        match sekisho_text::sanitize(format, data, &mut out, &policy, &mut sekisho_plugin_sdk::RefuseAll) {
            Ok(r) => Ok(EmbeddedRebuilt {
                outcome: if r.findings.is_empty() { EmbeddedOutcome::Clean } else { EmbeddedOutcome::Sanitized },
                format: format.into(),
                extension: format.into(),
                media_type: "application/octet-stream".into(),
                data: out,
            }),
            Err(f) => Err(EmbeddedRefusal::Failed(f.detail)),
        }
    }
}

fn sandbox_job(policy: &Policy, format: &str, data: &[u8]) -> Job {
    Job {
        format: format.into(),
        input: Source::bytes(data.to_vec()),
        policy: policy.view(&[], &[], policy.limits.max_expanded_bytes),
        limits: RunLimits {
            fuel: u64::MAX / 4,
            deadline: Instant::now() + Duration::from_secs(60),
            memory_bytes: 1 << 30,
            max_output_bytes: 1 << 30,
        },
        host: None,
    }
}

fn main() {
    // `cargo test` runs benches with --bench only when asked; ignore libtest flags.
    let policy = Policy::default();
    let sdk_policy = sekisho_plugin_sdk::Policy::uniform(sekisho_plugin_sdk::Action::Sanitize);
    let tiny = b"a,b\n1,=2+3\n".to_vec();
    println!("| what | median | note |\n|---|---:|---|");

    // 1. Per-file overhead.
    for allocator in [Allocator::Pooling, Allocator::OnDemand] {
        let sekisho = engine(allocator);
        let label = if allocator == Allocator::Pooling { "pooling" } else { "on-demand" };
        let text = sekisho.registry().plugin_for("csv").unwrap().clone();
        let sandbox: &Sandbox = sekisho.sandbox();
        let native = median(2001, || {
            let mut out = Vec::new();
            black_box(
                sekisho_text::sanitize("csv", &tiny[..], &mut out, &sdk_policy, &mut sekisho_plugin_sdk::RefuseAll)
                    .unwrap(),
            );
        });
        let sandboxed = median(2001, || {
            black_box(sandbox.run(text.compiled(sandbox).unwrap(), sandbox_job(&policy, "csv", &tiny)).result.unwrap());
        });
        let echo = sekisho.registry().plugin_for("misbehave").unwrap().clone();
        let echo_input = b"MISBEHAVE:ok\n".to_vec();
        let bare = median(2001, || {
            black_box(
                sandbox
                    .run(echo.compiled(sandbox).unwrap(), sandbox_job(&policy, "misbehave", &echo_input))
                    .result
                    .unwrap(),
            );
        });
        row(&format!("copy plugin: fresh store+instance+sanitize, 13 bytes ({label})"), us(bare), "sandbox cost alone");
        let pipeline = median(2001, || {
            black_box(sekisho.sanitize(Source::bytes(tiny.clone()), "t.csv", &policy));
        });
        row("tiny CSV, native library call", us(native), "");
        row(
            &format!("tiny CSV, fresh store+instance+sanitize ({label})"),
            us(sandboxed),
            &format!("{:.1}x the native call", sandboxed.as_secs_f64() / native.as_secs_f64()),
        );
        row(&format!("tiny CSV, whole pipeline incl. detect, hashes, report ({label})"), us(pipeline), "");
    }

    // 2. Compile vs cached load.
    let sekisho = engine(Allocator::Auto);
    let wasm_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/plugins/wasm32-wasip2/release");
    let zip_wasm = std::fs::read(wasm_dir.join("sekisho_zip.wasm")).expect("zip plugin built");
    let compile = median(3, || sekisho.sandbox().compile_uncached(&zip_wasm).unwrap());
    let cached = median(51, || {
        black_box(sekisho.sandbox().load("zip", &zip_wasm).unwrap());
    });
    row("zip plugin: compile with cranelift", ms(compile), &format!("{} KiB component", zip_wasm.len() >> 10));
    row(
        "zip plugin: load from the on-disk cache (+ admit, pre-instantiate)",
        ms(cached),
        &format!("{:.0}x faster", compile.as_secs_f64() / cached.as_secs_f64()),
    );

    // 3. wasm vs native on multi-megabyte inputs.
    let csv = big_csv(8 << 20);
    let native = median(5, || {
        let mut out = Vec::new();
        black_box(
            sekisho_text::sanitize("csv", &csv[..], &mut out, &sdk_policy, &mut sekisho_plugin_sdk::RefuseAll).unwrap(),
        );
    });
    let text = sekisho.registry().plugin_for("csv").unwrap().clone();
    let wasm_run = median(5, || {
        black_box(
            sekisho
                .sandbox()
                .run(text.compiled(sekisho.sandbox()).unwrap(), sandbox_job(&policy, "csv", &csv))
                .result
                .unwrap(),
        );
    });
    let wasm_pipeline = median(5, || {
        black_box(sekisho.sanitize(Source::bytes(csv.clone()), "big.csv", &policy));
    });
    row("8 MiB CSV, native", ms(native), "");
    row(
        "8 MiB CSV, wasm sandbox run",
        ms(wasm_run),
        &format!("ratio {:.2}", wasm_run.as_secs_f64() / native.as_secs_f64()),
    );
    row(
        "8 MiB CSV, whole pipeline",
        ms(wasm_pipeline),
        &format!("ratio {:.2}", wasm_pipeline.as_secs_f64() / native.as_secs_f64()),
    );

    let archive = big_zip(32, 8 << 20);
    let native = median(5, || {
        let mut out = Vec::new();
        black_box(sekisho_zip::sanitize(Cursor::new(&archive), &mut out, &sdk_policy, &mut NativeText).unwrap());
    });
    let wasm = median(5, || {
        let result = sekisho.sanitize(Source::bytes(archive.clone()), "big.zip", &policy);
        assert!(result.report.outcome.passed());
        black_box(result);
    });
    row(
        &format!("ZIP {} KiB, 32 CSV members = 8 MiB, native", archive.len() >> 10),
        ms(native),
        "members via native text lib",
    );
    row(
        "same ZIP, whole pipeline (33 sandboxes)",
        ms(wasm),
        &format!("ratio {:.2}", wasm.as_secs_f64() / native.as_secs_f64()),
    );

    // 4. Corpus throughput, side by side with peer tools: only when
    // SEKISHO_CORPUS names the corpus (one line says so otherwise).
    if let Some(shared) = sekisho_testkit::corpus_for("the corpus rows of the benchmark") {
        pdf_corpus(&shared, &sekisho, &policy);
        office_corpus(&shared, &sekisho, &policy);
        image_corpus(&shared, &sekisho, &policy);
        // Legacy formats: no peer rebuilds them (mat2 does not read them).
        Corpus::load(&shared, &["ole", "rtf"], "legacy documents (doc/xls/ppt, rtf)").sekisho_rows(&sekisho, &policy);
        for (folder, label) in [("svg", "SVG drawings"), ("html", "HTML pages"), ("eml", "e-mail messages")] {
            Corpus::load(&shared, &[folder], label).sekisho_rows(&sekisho, &policy);
        }
    }

    // 5. The CLI end to end, plugins already in the cache.
    let sample = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/samples/invoice.csv");
    let out = std::env::temp_dir().join("sekisho-bench-out.csv");
    let cli = median(31, || {
        let status = std::process::Command::new(env!("CARGO_BIN_EXE_sekisho"))
            .args(["sanitize", sample.to_str().unwrap(), "-o", out.to_str().unwrap()])
            .env("SEKISHO_CACHE_DIR", cache_dir())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
    });
    row("`sekisho sanitize invoice.csv -o out.csv` (process start to exit)", ms(cli), "cached plugins");
    let _ = std::fs::remove_file(out);

    // 5b. The outbound personal-information audit: the same files with and
    // without it (text handed over, scanned, rules applied).
    let outbound = sekisho.admit(Policy::profile("outbound").unwrap()).unwrap();
    let mut files: Vec<(String, Vec<u8>)> = vec![
        ("contacts.csv".into(), "氏名,電話,メール\n山田,090-1234-5678,yamada@example.jp\n".repeat(200).into_bytes()),
        (
            "letter.docx".into(),
            sekisho_testkit::office::docx(
                &sekisho_testkit::office::paragraph(&"ご連絡ください。".repeat(400)),
                &[],
                &[],
                &[],
            ),
        ),
        ("book.xlsx".into(), sekisho_testkit::office::workbook(&["a@example.jp", "03-1234-5678", "本文"], false)),
    ];
    if let Some(shared) = sekisho_testkit::corpus_for("the corpus rows of the outbound audit") {
        for folder in ["pdf", "ooxml", "eml", "text"] {
            files.extend(
                shared.files(folder).into_iter().map(|f| (f.display().to_string(), std::fs::read(&f).unwrap())),
            );
        }
    }
    let run_all = |policy: &Policy| {
        for (name, data) in &files {
            black_box(sekisho.sanitize(Source::bytes(data.clone()), name, policy));
        }
    };
    let inbound = median(5, || run_all(&policy));
    let audited = median(5, || run_all(&outbound));
    row(&format!("{} files, strict (no audit)", files.len()), ms(inbound), "");
    row(
        &format!("{} files, outbound (personal-information audit)", files.len()),
        ms(audited),
        &format!("outbound / strict = {:.2}", audited.as_secs_f64() / inbound.as_secs_f64()),
    );

    // 6. Plugin loading: lazily (descriptions from the cache, code only
    // for the plugin a file routes to) against every plugin's code at start.
    let lazy = median(11, || {
        let sekisho = engine(Allocator::Auto);
        black_box(sekisho.sanitize(Source::bytes(b"a,b\n1,2\n".to_vec()), "t.csv", &policy));
    });
    let eager = median(11, || {
        let sekisho = engine(Allocator::Auto);
        for plugin in sekisho.registry().plugins() {
            plugin.compiled(sekisho.sandbox()).expect("a built-in plugin loads");
        }
        black_box(sekisho.sanitize(Source::bytes(b"a,b\n1,2\n".to_vec()), "t.csv", &policy));
    });
    row("engine start + one CSV, plugins loaded lazily", ms(lazy), "");
    row(
        "engine start + one CSV, every plugin loaded at start",
        ms(eager),
        &format!("lazy / eager = {:.2}", lazy.as_secs_f64() / eager.as_secs_f64()),
    );

    scan_rows(&files, &policy);

    // 7. One small PDF, one process each: Sekisho against `qpdf IN OUT`,
    // run in turns so both see the same machine.
    let dir = tempfile::tempdir().unwrap();
    let pdf = dir.path().join("small.pdf");
    std::fs::write(&pdf, sekisho_testkit::pdf::with_javascript()).unwrap();
    let out = dir.path().join("out.pdf");
    let sekisho = || {
        let status = std::process::Command::new(env!("CARGO_BIN_EXE_sekisho"))
            .arg("sanitize")
            .arg(&pdf)
            .arg("-o")
            .arg(&out)
            .env("SEKISHO_CACHE_DIR", cache_dir())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.code() == Some(0) || status.code() == Some(1), "{status}");
    };
    if std::process::Command::new("qpdf").arg("--version").output().is_ok() {
        let qpdf = || {
            let _ = std::process::Command::new("qpdf").arg(&pdf).arg(&out).status();
        };
        let (per_process, qpdf) = medians_in_turns(61, sekisho, qpdf);
        row("`sekisho sanitize small.pdf -o out.pdf` (process start to exit)", ms(per_process), "cached plugins");
        row(
            "`qpdf small.pdf out.pdf`",
            ms(qpdf),
            &format!("Sekisho / qpdf = {:.2} (in turns)", per_process.as_secs_f64() / qpdf.as_secs_f64()),
        );
    } else {
        row(
            "`sekisho sanitize small.pdf -o out.pdf` (process start to exit)",
            ms(median(31, sekisho)),
            "cached plugins",
        );
        row("`qpdf small.pdf out.pdf`", "-".into(), "qpdf not installed");
    }
}

/// The medians of `a` and `b` run `runs` times each, in turns (a, b, a,
/// b…), so a busy spell of the machine falls on both.
fn medians_in_turns(runs: usize, mut a: impl FnMut(), mut b: impl FnMut()) -> (Duration, Duration) {
    let mut first = Vec::with_capacity(runs);
    let mut second = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        a();
        first.push(start.elapsed());
        let start = Instant::now();
        b();
        second.push(start.elapsed());
    }
    first.sort();
    second.sort();
    (first[runs / 2], second[runs / 2])
}

/// The files of some corpus folders, for throughput rows.
struct Corpus {
    files: Vec<PathBuf>,
    bytes: u64,
    label: String,
}

impl Corpus {
    /// The files of `folders` of the shared corpus (each must be there).
    fn load(shared: &sekisho_testkit::Corpus, folders: &[&str], kind: &str) -> Corpus {
        let mut files: Vec<PathBuf> = folders.iter().flat_map(|folder| shared.files(folder)).collect();
        files.sort();
        let bytes = files.iter().map(|f| std::fs::metadata(f).map_or(0, |m| m.len())).sum();
        let label = format!("{} {kind}, {:.1} MB", files.len(), bytes as f64 / 1e6);
        Corpus { files, bytes, label }
    }

    fn rate(&self, d: Duration) -> String {
        let seconds = d.as_secs_f64();
        format!("{:.1} files/s, {:.2} MB/s", self.files.len() as f64 / seconds, self.bytes as f64 / 1e6 / seconds)
    }

    /// Rows for Sekisho in process and as one process per file; answers the
    /// per-file time, to compare with a peer tool run the same way.
    fn sekisho_rows(&self, sekisho: &Sekisho, policy: &Policy) -> Duration {
        let in_process = median(3, || {
            for file in &self.files {
                black_box(sekisho.sanitize(Source::open(file).unwrap(), &file.display().to_string(), policy));
            }
        });
        let out = std::env::temp_dir().join("sekisho-bench-out");
        let per_process = median(3, || {
            for file in &self.files {
                let _ = std::process::Command::new(env!("CARGO_BIN_EXE_sekisho"))
                    .arg("sanitize")
                    .arg(file)
                    .arg("-o")
                    .arg(&out)
                    .env("SEKISHO_CACHE_DIR", cache_dir())
                    .stderr(std::process::Stdio::null())
                    .status();
            }
        });
        let _ = std::fs::remove_file(out);
        row(&format!("{}: Sekisho in process", self.label), ms(in_process), &self.rate(in_process));
        row(&format!("{}: `sekisho sanitize` per file", self.label), ms(per_process), &self.rate(per_process));
        per_process
    }
}

/// The PDF corpus, side by side with `qpdf IN OUT` (a plain rewrite).
fn pdf_corpus(shared: &sekisho_testkit::Corpus, sekisho: &Sekisho, policy: &Policy) {
    let corpus = Corpus::load(shared, &["pdf"], "PDFs");
    let per_process = corpus.sekisho_rows(sekisho, policy);
    let out = std::env::temp_dir().join("sekisho-bench.pdf");
    let qpdf = median(3, || {
        for file in &corpus.files {
            let _ = std::process::Command::new("qpdf").arg(file).arg(&out).stderr(std::process::Stdio::null()).status();
        }
    });
    let _ = std::fs::remove_file(out);
    let ratio = per_process.as_secs_f64() / qpdf.as_secs_f64();
    row(
        &format!("{}: `qpdf IN OUT` per file", corpus.label),
        ms(qpdf),
        &format!("{}; Sekisho per file / qpdf = {ratio:.2}", corpus.rate(qpdf)),
    );
}

/// Times `peer` once per file (on copies, since some peers write beside
/// their input) and prints its row with the Sekisho / peer ratio.
fn peer_row(corpus: &Corpus, name: &str, per_process: Duration, peer: impl Fn(&Path, &Path) -> std::process::Command) {
    let probe = peer(Path::new("--version"), Path::new("/dev/null")).output();
    if probe.is_err() {
        row(&format!("{}: {name}", corpus.label), "-".into(), "not installed");
        return;
    }
    let work = std::env::temp_dir().join("sekisho-bench-peer");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    let copies: Vec<PathBuf> = corpus
        .files
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let copy = work.join(format!("{i}-{}", f.file_name().unwrap().to_string_lossy()));
            std::fs::copy(f, &copy).unwrap();
            copy
        })
        .collect();
    let time = median(3, || {
        for (i, copy) in copies.iter().enumerate() {
            let out = work.join(format!("out-{i}-{}", copy.file_name().unwrap().to_string_lossy()));
            let _ = std::fs::remove_file(&out);
            let _ = peer(copy, &out).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).status();
        }
    });
    let _ = std::fs::remove_dir_all(&work);
    let ratio = per_process.as_secs_f64() / time.as_secs_f64();
    row(
        &format!("{}: `{name}` per file", corpus.label),
        ms(time),
        &format!("{}; Sekisho per file / {name} = {ratio:.2}", corpus.rate(time)),
    );
}

fn mat2(input: &Path, _out: &Path) -> std::process::Command {
    let mut command = std::process::Command::new("mat2");
    command.args(["--unknown-members", "omit"]).arg(input);
    command
}

/// Office documents beside mat2 (metadata cleaning of the same files;
/// Sekisho removes active content too).
fn office_corpus(shared: &sekisho_testkit::Corpus, sekisho: &Sekisho, policy: &Policy) {
    let corpus = Corpus::load(shared, &["ooxml", "odf"], "office documents");
    let per_process = corpus.sekisho_rows(sekisho, policy);
    peer_row(&corpus, "mat2 FILE", per_process, mat2);
    // Pictures inside the documents through the image plugin, or kept as they are.
    let keep = Policy::from_toml("[options]\nembedded-images = \"keep\"\n", "bench-keep.toml").unwrap();
    let run_all = |policy: &Policy| {
        median(3, || {
            for file in &corpus.files {
                black_box(sekisho.sanitize(Source::open(file).unwrap(), &file.display().to_string(), policy));
            }
        })
    };
    let (kept, rebuilt) = (run_all(&keep), run_all(policy));
    row(&format!("{}: embedded-images = keep", corpus.label), ms(kept), &corpus.rate(kept));
    row(
        &format!("{}: embedded-images = rebuild", corpus.label),
        ms(rebuilt),
        &format!("rebuild / keep = {:.2}", rebuilt.as_secs_f64() / kept.as_secs_f64()),
    );
}

/// Images beside `exiftool -all=` and mat2 (both strip metadata only).
fn image_corpus(shared: &sekisho_testkit::Corpus, sekisho: &Sekisho, policy: &Policy) {
    let corpus = Corpus::load(shared, &["image"], "images");
    let per_process = corpus.sekisho_rows(sekisho, policy);
    peer_row(&corpus, "exiftool -all= -o OUT FILE", per_process, |input, out| {
        let mut command = std::process::Command::new("exiftool");
        command.arg("-all=").arg("-o").arg(out).arg(input);
        command
    });
    peer_row(&corpus, "mat2 FILE", per_process, mat2);
}

/// `count` rules of the kind a rule feed holds: a few literal strings and a
/// hex pattern each, some with a regular expression.
fn many_rules(count: usize) -> String {
    (0..count)
        .map(|i| {
            let regex = if i % 4 == 0 { format!("\n        $r = /sekisho-probe-{i}[0-9a-f]{{8}}/ nocase") } else { String::new() };
            format!(
                "rule generated_{i}\n{{\n    strings:\n        $a = \"marker-{i}-alpha\"\n        $b = \"marker-{i}-beta\" wide\n        \
                 $h = {{ 4D 5A {:02X} {:02X} ?? ?? 50 45 }}{regex}\n    condition:\n        any of them\n}}\n",
                i % 256,
                (i * 7) % 256
            )
        })
        .collect()
}

/// Multi-scan: what YARA-X costs per file with 100 rules on 1 MB, that the
/// rules compile once, and throughput with `[scan] what = "all"` against
/// without scanning on the same files, per engine (clamd started here with
/// the test kit's signatures, when installed).
fn scan_rows(files: &[(String, Vec<u8>)], policy: &Policy) {
    use sekisho::scan::Scanners;
    use sekisho::scan::clamd::Clamd;
    use sekisho::scan::yara::YaraRules;

    let rules_dir = tempfile::tempdir().unwrap();
    std::fs::write(rules_dir.path().join("generated.yar"), many_rules(96)).unwrap();
    for starter in ["eicar.yar", "vba_autoexec.yar", "powershell_cradle.yar", "embedded_executable.yar"] {
        let from = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../rules").join(starter);
        std::fs::copy(from, rules_dir.path().join(starter)).unwrap();
    }
    let started = Instant::now();
    let rules = YaraRules::load(rules_dir.path()).expect("the bench rules compile");
    let compile = started.elapsed();
    let megabyte: Vec<u8> = (0..1u32 << 20).map(|i| (i.wrapping_mul(2654435761) >> 11) as u8).collect();
    let scan = median(51, || {
        black_box(rules.scan(&megabyte).unwrap());
    });
    row(&format!("YARA-X: compile {} rules (once per process)", rules.len()), ms(compile), "");
    row(
        &format!("YARA-X: scan 1 MB with {} rules", rules.len()),
        ms(scan),
        &format!(
            "{:.0} MB/s; compile / scan = {:.0}",
            1.0 / scan.as_secs_f64(),
            compile.as_secs_f64() / scan.as_secs_f64()
        ),
    );

    let all = {
        let mut all = Policy::from_toml("[scan]\nwhat = \"all\"\n", "bench-scan.toml").unwrap();
        all.name = policy.name.clone();
        all
    };
    let with = |scanners: Scanners| {
        let sandbox = SandboxConfig { cache_dir: Some(cache_dir()), ..SandboxConfig::default() };
        Sekisho::new(Options { sandbox, scanners: std::sync::Arc::new(scanners), ..Options::default() }).unwrap()
    };
    let run_all = |sekisho: &Sekisho, policy: &Policy| {
        for (name, data) in files {
            black_box(sekisho.sanitize(Source::bytes(data.clone()), name, policy));
        }
    };
    let bytes: usize = files.iter().map(|(_, d)| d.len()).sum();
    let label = format!("{} files, {:.1} MB", files.len(), bytes as f64 / 1e6);
    let plain = with(Scanners::none());
    let without = median(5, || run_all(&plain, policy));
    row(&format!("{label}: no scanning"), ms(without), "");
    let yara = with(Scanners::none().with_yara(YaraRules::load(rules_dir.path()).unwrap()));
    let scanned = median(5, || run_all(&yara, &all));
    row(
        &format!("{label}: what = all, YARA-X ({} rules)", rules.len()),
        ms(scanned),
        &format!("with / without = {:.2}", scanned.as_secs_f64() / without.as_secs_f64()),
    );
    match sekisho_testkit::clamd::TestClamd::start() {
        Some(clamd) => {
            let engine = with(Scanners::none().with_clamd(Clamd::new(clamd.address.parse().unwrap())));
            let scanned = median(5, || run_all(&engine, &all));
            row(
                &format!("{label}: what = all, clamd (INSTREAM over TCP)"),
                ms(scanned),
                &format!("with / without = {:.2}", scanned.as_secs_f64() / without.as_secs_f64()),
            );
        }
        None => row(&format!("{label}: what = all, clamd"), "-".into(), "clamd not installed"),
    }
}
