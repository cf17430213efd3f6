//! A transfer gateway embedding Sekisho: every file of an inbox is
//! sanitized into an outbox; a refused file leaves only its report, in a
//! quarantine folder. The input is never modified.
//!
//! `cargo run --release --example embed -- INBOX OUTBOX QUARANTINE`

use std::path::Path;

use sekisho::{Engine, policy::Policy, source::Source};

fn transfer(inbox: &Path, outbox: &Path, quarantine: &Path) -> Result<usize, Box<dyn std::error::Error>> {
    let engine = Engine::builder().build()?;
    let policy = engine.admit(Policy::profile("strict")?)?;
    let mut passed = 0;
    for entry in std::fs::read_dir(inbox)? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).ok_or("a file name that is not UTF-8")?;
        let result = engine.sanitize(Source::open(&path)?, name, &policy);
        match result.output {
            Some(clean) => {
                // The output's type may differ from the name's (a `.docm`
                // comes back a `.docx`): the report has the extension to use.
                let extension = result.report.output.as_ref().map(|o| o.extension.as_str());
                std::fs::write(outbox.join(name).with_extension(extension.unwrap_or_default()), clean)?;
                passed += 1;
            }
            None => {
                std::fs::write(quarantine.join(format!("{name}.json")), serde_json::to_vec_pretty(&result.report)?)?
            }
        }
        println!("{}", result.report.summary());
    }
    Ok(passed)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let folders: Vec<String> = std::env::args().skip(1).collect();
    let [inbox, outbox, quarantine] = folders.as_slice() else {
        return Err("usage: embed INBOX OUTBOX QUARANTINE".into());
    };
    transfer(inbox.as_ref(), outbox.as_ref(), quarantine.as_ref())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_formula_is_disarmed_and_a_script_is_quarantined() {
        let dir = tempfile::tempdir().unwrap();
        let [inbox, outbox, quarantine] = ["in", "out", "quarantine"].map(|name| dir.path().join(name));
        for folder in [&inbox, &outbox, &quarantine] {
            std::fs::create_dir(folder).unwrap();
        }
        std::fs::write(inbox.join("table.csv"), "name,total\nx,=cmd|' /C calc'!A0\n").unwrap();
        std::fs::write(inbox.join("run.js"), "WScript.Shell.Run('calc')\n").unwrap();
        assert_eq!(super::transfer(&inbox, &outbox, &quarantine).unwrap(), 1);
        let table = std::fs::read_to_string(outbox.join("table.csv")).unwrap();
        assert!(table.contains("'=cmd") && !table.contains(",=cmd"), "{table}");
        assert!(!outbox.join("run.js").exists());
        let refused = std::fs::read_to_string(quarantine.join("run.js.json")).unwrap();
        assert!(refused.contains("\"outcome\": \"blocked\""), "{refused}");
        assert_eq!(std::fs::read(inbox.join("run.js")).unwrap(), b"WScript.Shell.Run('calc')\n", "input unchanged");
    }
}
