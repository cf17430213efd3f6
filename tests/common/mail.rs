//! E-mail helpers shared by the mail and Postfix tests: a Japanese message
//! built by Python's `email` package, and Python's view of messages.

use std::path::Path;
use std::process::Command;

/// For each message: Python's defects, the sha256 of every attachment, and
/// the text of every text/plain part.
const INSPECT: &str = r#"
import sys, json, hashlib, email, email.policy
out = {}
for path in sys.argv[1:]:
    m = email.message_from_bytes(open(path, "rb").read(), policy=email.policy.default)
    defects = [repr(d) for part in m.walk() for d in part.defects]
    attachments, texts = [], []
    for part in m.walk():
        if part.is_multipart():
            continue
        if part.get_content_disposition() == "attachment" or part.get_filename():
            attachments.append(hashlib.sha256(part.get_payload(decode=True) or b"").hexdigest())
        elif part.get_content_type() == "text/plain":
            texts.append(part.get_content())
    out[path] = {"defects": defects, "attachments": attachments, "texts": texts}
print(json.dumps(out))
"#;

pub fn inspect(files: &[&Path]) -> serde_json::Value {
    let out = Command::new("python3").args(["-c", INSPECT]).args(files).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Writes every picture of a message (inline or attached, in forwarded
/// messages too) into a folder, as Python's `email` package decodes them.
const PICTURES: &str = r#"
import sys, os, email, email.policy
m = email.message_from_bytes(open(sys.argv[1], "rb").read(), policy=email.policy.default)
n = 0
for part in m.walk():
    if part.get_content_maintype() == "image":
        n += 1
        open(os.path.join(sys.argv[2], str(n)), "wb").write(part.get_payload(decode=True) or b"")
print(n)
"#;

/// The pictures of the message at `path`, written into `folder` (created).
pub fn pictures(path: &Path, folder: &Path) -> Vec<std::path::PathBuf> {
    std::fs::create_dir_all(folder).unwrap();
    let out = Command::new("python3").args(["-c", PICTURES]).arg(path).arg(folder).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let count: usize = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    (1..=count).map(|n| folder.join(n.to_string())).collect()
}

/// A message as a Japanese mailer sends it: ISO-2022-JP text and HTML
/// alternatives and a macro-enabled Word attachment, built by Python.
const JAPANESE: &str = r#"
import sys
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.mime.application import MIMEApplication
from email.header import Header
m = MIMEMultipart("mixed")
m["From"] = str(Header("山田太郎", "iso-2022-jp")) + " <yamada@example.jp>"
m["To"] = "tanaka@example.jp"
m["Subject"] = Header("会議資料の送付", "iso-2022-jp")
alt = MIMEMultipart("alternative")
alt.attach(MIMEText("田中様\n\n会議資料をお送りします。\n\n山田\n", "plain", "iso-2022-jp"))
alt.attach(MIMEText('<p>会議資料をお送りします。</p><img src="http://tracker.example/p.gif"><script>alert(1)</script>', "html", "iso-2022-jp"))
m.attach(alt)
doc = MIMEApplication(open(sys.argv[1], "rb").read(), "vnd.ms-word.document.macroEnabled.12")
doc.add_header("Content-Disposition", "attachment", filename=("iso-2022-jp", "", "報告書.docm"))
m.attach(doc)
sys.stdout.buffer.write(m.as_bytes())
"#;

/// The Japanese message around the Word document at `docm`.
pub fn japanese_message(docm: &Path) -> Vec<u8> {
    let built = Command::new("python3").args(["-c", JAPANESE]).arg(docm).output().unwrap();
    assert!(built.status.success(), "{}", String::from_utf8_lossy(&built.stderr));
    built.stdout
}
