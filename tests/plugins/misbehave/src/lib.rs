//! A plugin that misbehaves on purpose, for the host's robustness tests.
//! It claims the "misbehave" format; the first line of the input says what to do.

use std::io::{Read, Write};

use sekisho_plugin_sdk::{
    ClassDeclaration, ContentClass, Disposition, Failure, Findings, Format, Host, Magic, PluginInfo, Policy, Rebuilt,
    read_all,
};

/// A class the shared vocabulary does not have, falling back on `macros`.
const TRICKS: ContentClass = ContentClass::Declared("misbehave-tricks");

fn describe() -> PluginInfo {
    PluginInfo {
        name: "misbehave".into(),
        version: "0.0.1".into(),
        formats: vec![Format {
            id: "misbehave".into(),
            media_types: vec!["application/x-misbehave".into()],
            extensions: vec!["bad".into()],
            magic: vec![Magic { offset: 0, bytes: b"MISBEHAVE:".to_vec() }],
            ..Default::default()
        }],
        classes: vec![],
        declared_classes: vec![ClassDeclaration {
            class: TRICKS,
            fallback: ContentClass::Macros,
            doc: "tricks the misbehave format plays (a plugin-declared class)".into(),
        }],
        ..Default::default()
    }
}

fn sanitize<H: Host + ?Sized>(
    input: impl Read,
    output: &mut impl Write,
    policy: &Policy,
    host: &mut H,
) -> Result<Rebuilt, Failure> {
    let data = read_all(input, 1 << 20)?;
    let command = String::from_utf8_lossy(&data);
    let command = command.trim_start_matches("MISBEHAVE:").lines().next().unwrap_or("").trim().to_owned();
    match command.as_str() {
        "loop" => {
            let mut x: u64 = 0;
            loop {
                x = std::hint::black_box(x.wrapping_add(1));
            }
        }
        "alloc" => {
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                hoard.push(vec![1u8; 16 << 20]);
                std::hint::black_box(&hoard);
            }
        }
        "trap" => panic!("deliberate trap"),
        // Asks WASI for a timer that never fires and waits on it.
        "sleep" => {
            std::thread::sleep(std::time::Duration::MAX);
            unreachable!()
        }
        // Reports a trick (a class of its own) and removes it.
        "trick" => {
            let mut findings = Findings::new();
            findings.decide(policy, TRICKS, Disposition::Removed, "line 1", "a trick")?;
            write(output, b"MISBEHAVE:").map_err(Failure::too_large)?;
            Ok(Rebuilt { format: "misbehave".into(), findings: findings.into_vec() })
        }
        // Burns CPU for a while, then passes.
        "spin" => {
            spin(SPIN);
            write(output, b"MISBEHAVE:ok").map_err(Failure::too_large)?;
            Ok(Rebuilt { format: "misbehave".into(), findings: vec![] })
        }
        // Embeds children that burn CPU: each one alone fits a file's
        // budget, together they do not.
        "embed-spin" => {
            let mut findings = sekisho_plugin_sdk::Findings::new();
            for i in 0..8 {
                findings.embed(
                    host,
                    sekisho_plugin_sdk::ContentClass::EmbeddedFiles,
                    &format!("child {i}"),
                    &format!("child{i}.bad"),
                    b"MISBEHAVE:spin\n",
                )?;
            }
            write(output, b"MISBEHAVE:ok").map_err(Failure::too_large)?;
            Ok(Rebuilt { format: "misbehave".into(), findings: findings.into_vec() })
        }
        "recurse" => {
            #[allow(unconditional_recursion)]
            fn deep(n: u64) -> u64 {
                std::hint::black_box(deep(n + 1)) + 1
            }
            let _ = deep(0);
            unreachable!()
        }
        // Claims success but writes bytes that are not of its format.
        "wrong-output" => {
            write(output, b"\x7fELF this is not a misbehave file").map_err(Failure::too_large)?;
            Ok(Rebuilt { format: "misbehave".into(), findings: vec![] })
        }
        // Writes far more than any input could justify.
        "huge-output" => {
            let block = vec![b'A'; 1 << 20];
            write(output, b"MISBEHAVE:").map_err(Failure::too_large)?;
            for _ in 0..4096 {
                write(output, &block).map_err(Failure::too_large)?;
            }
            Ok(Rebuilt { format: "misbehave".into(), findings: vec![] })
        }
        // Says it produced a format it never declared.
        "undeclared-format" => {
            write(output, b"MISBEHAVE:ok").map_err(Failure::too_large)?;
            Ok(Rebuilt { format: "pdf".into(), findings: vec![] })
        }
        _ => {
            write(output, &data).map_err(Failure::too_large)?;
            Ok(Rebuilt { format: "misbehave".into(), findings: vec![] })
        }
    }
}

/// Iterations of `spin`: well within one file's default CPU budget, but
/// eight of them are not within a small one.
const SPIN: u64 = 20_000_000;

fn spin(iterations: u64) {
    let mut x: u64 = 0;
    for _ in 0..iterations {
        x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
    }
}

/// Writes to the output; a refused write (the host's size limit) fails.
fn write(output: &mut impl Write, bytes: &[u8]) -> Result<(), String> {
    output.write_all(bytes).map_err(|e| e.to_string())
}

sekisho_plugin_sdk::export_library!(
    describe: crate::describe,
    sanitize: |_format, reader, writer, policy, host| crate::sanitize(reader, writer, policy, host)
);
