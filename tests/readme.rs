//! The README's commands as a newcomer types them, and the first-hour
//! behaviour around them: standard input, resuming, file modes, missing
//! inputs, logging, the curl recipe for the gateway. Everything here uses
//! the project's own sample and files written by the test.

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn cache_dir() -> PathBuf {
    root().join("target").join("sekisho-test-cache")
}

fn sample() -> PathBuf {
    root().join("examples/samples/invoice.csv")
}

/// `sekisho ARGS` run through `sh -c`, the way the README's lines are typed
/// (pipes, redirections, a umask), in `dir`.
fn shell(dir: &Path, line: &str) -> Output {
    let bin = Path::new(env!("CARGO_BIN_EXE_sekisho")).parent().unwrap();
    Command::new("sh")
        .arg("-c")
        .arg(line)
        .current_dir(dir)
        .env("PATH", format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default()))
        .env("SEKISHO_CACHE_DIR", cache_dir())
        .env_remove("SEKISHO_PLUGINS_DIR")
        .env_remove("RUST_LOG")
        .output()
        .expect("run sh")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode() & 0o777
}

#[test]
fn the_readme_stdin_line_neutralizes_the_dde_payload() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(sample(), dir.path().join("invoice.csv")).unwrap();
    // Exactly the README's line, without a name: the content says table.
    let output = shell(dir.path(), "cat invoice.csv | sekisho sanitize - -o - > clean.csv");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stderr(&output).contains("stdin: sanitized"), "{}", stderr(&output));
    let clean = std::fs::read_to_string(dir.path().join("clean.csv")).unwrap();
    assert!(clean.contains("'=cmd|"), "{clean}");
    assert!(clean.lines().all(|l| !l.starts_with('=') && !l.starts_with('@')), "{clean}");
    // With a name, as the help suggests; the report names the file.
    let named = shell(dir.path(), "cat invoice.csv | sekisho sanitize - --name invoice.csv -o - --report r.json");
    assert_eq!(named.status.code(), Some(0), "{}", stderr(&named));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("r.json")).unwrap()).unwrap();
    assert_eq!(report["input"]["name"], "invoice.csv");
    assert_eq!(report["input"]["format"], "csv");
    assert!(report["items"].as_array().unwrap().iter().all(|i| i["class"] == "dde"));
    // A blocked DDE names the class in the policy's words, not a type name.
    std::fs::write(dir.path().join("p.toml"), "[classes]\ndde = \"block\"\n").unwrap();
    let blocked = shell(dir.path(), "sekisho sanitize invoice.csv --policy p.toml -o out.csv");
    assert_eq!(blocked.status.code(), Some(1), "{}", stderr(&blocked));
    assert!(stderr(&blocked).contains("blocked (dde at row 3"), "{}", stderr(&blocked));
    assert!(!stderr(&blocked).contains("ContentClass"), "{}", stderr(&blocked));
    assert!(!dir.path().join("out.csv").exists());
}

/// The first line of the README's code blocks that contains `needle`,
/// with its `\`-continued lines joined and any `# comment` cut off: the
/// commands are tested as the README writes them.
fn readme_line(needle: &str) -> String {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let lines: Vec<&str> = readme.lines().collect();
    let start = lines.iter().position(|l| l.contains(needle)).unwrap_or_else(|| panic!("README has no {needle:?}"));
    let mut command = String::new();
    for line in &lines[start..] {
        let line = line.split(" # ").next().unwrap_or(line).trim();
        match line.strip_suffix('\\') {
            Some(part) => command.push_str(part),
            None => {
                command.push_str(line);
                break;
            }
        }
    }
    command
}

#[test]
fn the_readme_lines_run_as_written() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(sample(), dir.path().join("in.csv")).unwrap();
    let line = readme_line("sanitize - --name in.csv");
    let output = shell(dir.path(), &line);
    assert_eq!(output.status.code(), Some(0), "{line}: {}", stderr(&output));
    let clean = std::fs::read_to_string(dir.path().join("clean.csv")).unwrap();
    assert!(clean.contains("'=cmd|") && clean.contains("'@SUM"), "{line}: {clean}");
    // The first command, run from the repository as the README says.
    let first = readme_line("cargo run --release -- sanitize");
    let first =
        first.replace("cargo run --release --", "sekisho").replace("target/", &format!("{}/", dir.path().display()));
    let output = shell(&root(), &first);
    assert_eq!(output.status.code(), Some(0), "{first}: {}", stderr(&output));
    assert!(dir.path().join("invoice.clean.csv").exists(), "{first}");
}

#[test]
fn the_readme_first_command_runs_on_the_sample() {
    let dir = tempfile::tempdir().unwrap();
    let line = format!("sekisho sanitize {} -o invoice.clean.csv --report -", sample().display());
    let output = shell(dir.path(), &line);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["outcome"], "sanitized");
    assert_eq!(report["items"].as_array().unwrap().len(), 2, "{report:#}");
}

#[test]
fn outputs_and_reports_follow_the_umask() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(sample(), dir.path().join("in.csv")).unwrap();
    let output = shell(dir.path(), "umask 022 && sekisho sanitize in.csv -o out.csv --report r.json");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(mode(&dir.path().join("out.csv")), 0o644);
    assert_eq!(mode(&dir.path().join("r.json")), 0o644);
    let output = shell(dir.path(), "umask 027 && sekisho sanitize in.csv --out-dir clean --resume");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(mode(&dir.path().join("clean/in.csv")), 0o640);
    assert_eq!(mode(&dir.path().join("clean/in.csv.sekisho.json")), 0o640);
}

#[test]
fn resume_redoes_files_after_a_policy_change_and_retries_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox");
    std::fs::create_dir(&inbox).unwrap();
    std::fs::write(inbox.join("table.csv"), "a,=1+1\n").unwrap();
    std::fs::write(inbox.join("tool.exe"), b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff").unwrap();
    let run = |extra: &str| shell(dir.path(), &format!("sekisho sanitize inbox --out-dir clean --resume {extra}"));
    let first = run("");
    assert_eq!(first.status.code(), Some(1), "tool.exe is refused: {}", stderr(&first));
    assert_eq!(stderr(&run("")).matches("skipped").count(), 1, "only the passed file is skipped");
    let skip = run("--resume-failed skip");
    assert_eq!(stderr(&skip).matches("skipped").count(), 2, "{}", stderr(&skip));
    // Another policy: nothing done under the old one counts.
    let other = run("--profile keep-links");
    assert_eq!(stderr(&other).matches("skipped").count(), 0, "{}", stderr(&other));
    let again = run("--profile keep-links");
    assert_eq!(stderr(&again).matches("skipped").count(), 1, "{}", stderr(&again));
}

#[test]
fn a_missing_input_does_not_stop_the_batch() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.csv"), "x,=1\n").unwrap();
    std::fs::write(dir.path().join("b.txt"), "hello\n").unwrap();
    let output = shell(dir.path(), "sekisho sanitize a.csv missing.csv b.txt --out-dir out");
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(dir.path().join("out/a.csv").exists() && dir.path().join("out/b.txt").exists());
    let log = stderr(&output);
    assert_eq!(log.matches("missing.csv").count(), 1, "the error is printed once: {log}");
    assert!(log.contains("3 files: 1 clean, 1 sanitized, 1 not readable"), "{log}");
}

#[test]
fn errors_are_printed_once_and_empty_files_fail() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("same.csv"), "a,b\n").unwrap();
    let output = shell(dir.path(), "sekisho sanitize same.csv -o same.csv");
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert_eq!(stderr(&output).matches("refusing to overwrite").count(), 1, "{}", stderr(&output));
    assert_eq!(std::fs::read_to_string(dir.path().join("same.csv")).unwrap(), "a,b\n");
    std::fs::write(dir.path().join("empty.pdf"), b"").unwrap();
    let empty = shell(dir.path(), "sekisho sanitize empty.pdf -o out.pdf --report -");
    assert_eq!(empty.status.code(), Some(1), "{}", stderr(&empty));
    let report: serde_json::Value = serde_json::from_slice(&empty.stdout).unwrap();
    assert_eq!(
        (report["outcome"].as_str(), report["reason"]["kind"].as_str()),
        (Some("failed"), Some("invalid-structure"))
    );
    assert!(!dir.path().join("out.pdf").exists());
}

#[test]
fn an_output_folder_inside_the_input_is_not_read_again() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox");
    std::fs::create_dir(&inbox).unwrap();
    std::fs::write(inbox.join("a.csv"), "x,=1\n").unwrap();
    for _ in 0..2 {
        let output = shell(dir.path(), "sekisho sanitize inbox --out-dir inbox/clean");
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        assert!(!stderr(&output).contains("clean/inbox"), "{}", stderr(&output));
    }
    assert!(inbox.join("clean/inbox/a.csv").exists());
    assert!(!inbox.join("clean/inbox/clean").exists(), "old outputs were sanitized again");
}

#[test]
fn verbose_logs_a_line_per_file_without_colour_and_json_on_request() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(sample(), dir.path().join("in.csv")).unwrap();
    let quiet = shell(dir.path(), "sekisho sanitize in.csv -o out.csv");
    assert_eq!(stderr(&quiet).lines().count(), 1, "{}", stderr(&quiet));
    let verbose = shell(dir.path(), "sekisho -v sanitize in.csv -o out.csv");
    let log = stderr(&verbose);
    let line = log.lines().find(|l| l.contains("decided")).unwrap_or_else(|| panic!("no per-file line: {log}"));
    assert!(line.contains("outcome=\"sanitized\"") || line.contains("outcome=sanitized"), "{line}");
    assert!(line.contains("format=") && line.contains("ms="), "{line}");
    assert!(!log.contains('\u{1b}'), "no colour codes into a file: {log:?}");
    assert!(!log.contains("cranelift") && !log.contains("wasmtime"), "{log}");
    let json = shell(dir.path(), "sekisho -v --log-format json sanitize in.csv -o out.csv");
    let lines: Vec<serde_json::Value> = stderr(&json)
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(lines.iter().any(|l| l["outcome"] == "sanitized" && l["name"] == "in.csv"), "{lines:?}");
}

#[test]
fn version_completions_man_and_plugins() {
    let dir = tempfile::tempdir().unwrap();
    let version = shell(dir.path(), "sekisho --version");
    let text = String::from_utf8_lossy(&version.stdout);
    assert!(
        text.contains("git ")
            && text.contains("contracts sekisho:plugin@0.1.0, sekisho:plugin@0.2.0, sekisho:plugin@0.3.0"),
        "{text}"
    );
    let bash = shell(dir.path(), "sekisho completions bash");
    assert!(bash.status.success() && String::from_utf8_lossy(&bash.stdout).contains("sanitize"));
    let man = shell(dir.path(), "sekisho man");
    assert!(man.status.success() && String::from_utf8_lossy(&man.stdout).starts_with(".ie"));
    let plugins = shell(dir.path(), "sekisho plugins");
    let table = String::from_utf8_lossy(&plugins.stdout).into_owned();
    assert!(!table.contains("xlsb"), "xlsb is refused, so it is not listed: {table}");
    let columns: Vec<usize> = table.lines().filter_map(|l| l.find("built-in")).collect();
    assert!(columns.len() >= 11 && columns.iter().all(|&c| c == columns[0]), "misaligned:\n{table}");
}

#[test]
fn audit_folders_are_created() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(sample(), dir.path().join("in.csv")).unwrap();
    let output = shell(dir.path(), "sekisho sanitize in.csv -o out.csv --audit logs/sekisho/audit.jsonl");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let line = std::fs::read_to_string(dir.path().join("logs/sekisho/audit.jsonl")).unwrap();
    let entry: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
    let time = entry["time"].as_str().unwrap();
    assert!(time.len() == 24 && time.ends_with('Z') && time.as_bytes()[10] == b'T', "RFC 3339: {time}");
}

/// A gateway on `localhost` (a host name) with an audit log in a folder
/// that does not exist yet; killed when dropped.
struct Gateway {
    child: std::process::Child,
    http: SocketAddr,
}

impl Gateway {
    fn start(dir: &Path) -> Gateway {
        let audit = dir.join("var/log/sekisho/audit.jsonl");
        let mut child = Command::new(env!("CARGO_BIN_EXE_sekisho"))
            .args(["serve", "--listen", "localhost:0", "--audit"])
            .arg(&audit)
            .env("SEKISHO_CACHE_DIR", cache_dir())
            .env_remove("SEKISHO_TOKEN")
            .stderr(Stdio::piped())
            .spawn()
            .expect("start sekisho serve");
        let stderr = child.stderr.take().unwrap();
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(address) = line.strip_prefix("sekisho: HTTP API on http://") {
                    let _ = sender.send(address.parse::<SocketAddr>());
                }
            }
        });
        let http = receiver.recv_timeout(Duration::from_secs(120)).expect("the server did not start").unwrap();
        assert!(http.ip().is_loopback());
        Gateway { child, http }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn curl_available() -> bool {
    let found = Command::new("curl").arg("--version").output().is_ok_and(|o| o.status.success());
    if !found {
        assert!(std::env::var_os("SEKISHO_REQUIRE_ORACLES").is_none(), "curl is required");
        eprintln!("skipping: curl is not installed");
    }
    found
}

/// The README's recipe: `--fail-with-body -OJ --output-dir`. A passing file
/// lands under its corrected name and curl exits 0; a refused one leaves
/// its report, named after the file, and curl exits 22 — even when the file
/// is posted from its own folder.
#[test]
fn the_readme_curl_recipe_tells_refusals_apart() {
    if !curl_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let gateway = Gateway::start(dir.path());
    std::fs::copy(sample(), dir.path().join("invoice.csv")).unwrap();
    std::fs::create_dir(dir.path().join("clean")).unwrap();
    // The README's recipe, with this server's address and the file's name.
    let written = readme_line("curl -sS --fail-with-body");
    assert!(written.contains("-OJ --output-dir clean/"), "{written}");
    let recipe = |name: &str, extra: &str| {
        let line = written
            .replace("127.0.0.1:8080", &gateway.http.to_string())
            .replace("in.docm", name)
            .replace("--output-dir clean/", &format!("--output-dir clean/ {extra}"));
        shell(dir.path(), &line)
    };
    let passed = recipe("invoice.csv", "");
    assert_eq!(passed.status.code(), Some(0), "{}", stderr(&passed));
    assert!(std::fs::read_to_string(dir.path().join("clean/invoice.csv")).unwrap().contains("'=cmd|"));
    std::fs::write(dir.path().join("tool.exe"), b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff").unwrap();
    let refused = recipe("tool.exe", "");
    assert_eq!(refused.status.code(), Some(22), "{}", stderr(&refused));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("clean/tool.exe.sekisho.json")).unwrap())
            .unwrap();
    assert_eq!(report["outcome"], "blocked", "a program is refused by its name: {report:#}");
    assert!(!dir.path().join("clean/tool.exe").exists() && !dir.path().join("clean/sanitize").exists());
    // The audit folder was created by the server.
    let audit = dir.path().join("var/log/sekisho/audit.jsonl");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while std::fs::read_to_string(&audit).map_or(0, |t| t.lines().count()) < 2 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(std::fs::read_to_string(&audit).unwrap().lines().count(), 2);
    let _ = std::io::stderr().flush();
}

#[test]
fn an_unusable_cache_costs_one_warning_not_every_run() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(sample(), dir.path().join("in.csv")).unwrap();
    std::fs::write(dir.path().join("not-a-folder"), b"").unwrap();
    let line = "SEKISHO_CACHE_DIR=not-a-folder/cache sekisho sanitize in.csv -o out.csv";
    for _ in 0..2 {
        let output = shell(dir.path(), line);
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        let log = stderr(&output);
        let warnings: Vec<&str> = log.lines().filter(|l| l.contains("WARN")).collect();
        assert_eq!(warnings.len(), 1, "{log}");
        assert!(warnings[0].contains("cannot be used") && warnings[0].contains("using"), "{log}");
    }
}
