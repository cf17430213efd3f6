//! A real `clamd` (Debian's clamav-daemon) on a loopback port, with a
//! throwaway configuration and a signature database written here: EICAR
//! by its MD5 (made by ClamAV's own `sigtool --md5`) and a test pattern by
//! its bytes. Nothing is downloaded. Stopped when dropped.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The 68 bytes of the EICAR anti-malware test file.
pub const EICAR: &[u8] = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

/// Bytes the test signature database knows besides EICAR.
pub const TEST_PATTERN: &[u8] = b"SEKISHO-CLAMAV-TEST-PATTERN";

/// A running clamd.
pub struct TestClamd {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub address: String,
    /// The same clamd's Unix socket.
    pub socket: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl TestClamd {
    /// Starts clamd, or `None` when clamd or sigtool is not installed
    /// (after one line saying so; a failure when oracles are required).
    pub fn start() -> Option<TestClamd> {
        let program = ["/usr/sbin/clamd", "clamd"].into_iter().find(|p| Path::new(p).exists()).unwrap_or("clamd");
        if !crate::tool_with(program, "--version") || !crate::tool("sigtool") {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("db");
        std::fs::create_dir(&db).unwrap();
        std::fs::write(db.join("sekisho-test.hdb"), hdb_line(dir.path(), EICAR, "Sekisho.Test.EICAR")).unwrap();
        let pattern: String = TEST_PATTERN.iter().map(|b| format!("{b:02x}")).collect();
        std::fs::write(db.join("sekisho-test.ndb"), format!("Sekisho.Test.Pattern:0:*:{pattern}\n")).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let socket = dir.path().join("clamd.sock");
        // Sekisho unpacks archives, mail, PDF and Office files itself, in
        // sandboxes, and hands every member to clamd on its own: clamd's
        // own unpackers are off, so a verdict lands in the report of the
        // member it is about (and clamd's C parsers never see the containers).
        let config = format!(
            "DatabaseDirectory {}\nTCPSocket {port}\nTCPAddr 127.0.0.1\nLocalSocket {}\nForeground yes\n\
             LogFile {}\nScanArchive no\nScanMail no\nScanPDF no\nScanOLE2 no\nScanHTML no\n",
            db.display(),
            socket.display(),
            dir.path().join("clamd.log").display()
        );
        let conf = dir.path().join("clamd.conf");
        std::fs::write(&conf, config).unwrap();
        let child = Command::new(program)
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start clamd");
        let mut clamd = TestClamd { child, address: format!("127.0.0.1:{port}"), socket, _dir: dir };
        let started = Instant::now();
        while !ping(&clamd.address) {
            if started.elapsed() > Duration::from_secs(120) {
                clamd.stop();
                panic!("clamd did not answer PING within two minutes");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(clamd)
    }

    /// Stops clamd now.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for TestClamd {
    fn drop(&mut self) {
        self.stop();
    }
}

fn ping(address: &str) -> bool {
    let Ok(mut stream) = TcpStream::connect(address) else { return false };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut reply = Vec::new();
    stream.write_all(b"zPING\0").is_ok() && stream.read_to_end(&mut reply).is_ok() && reply.starts_with(b"PONG")
}

/// The `.hdb` line of some bytes as `sigtool --md5` writes it
/// (`md5:size:name`), under our signature name.
fn hdb_line(dir: &Path, data: &[u8], name: &str) -> String {
    let sample = dir.join("sample.bin");
    std::fs::write(&sample, data).unwrap();
    let out = Command::new("sigtool").arg("--md5").arg(&sample).output().expect("sigtool (clamav)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let line = String::from_utf8(out.stdout).unwrap();
    let (hash_and_size, _) = line.trim().rsplit_once(':').expect("md5:size:name");
    std::fs::remove_file(sample).unwrap();
    format!("{hash_and_size}:{name}\n")
}
