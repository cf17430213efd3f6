//! Any input: the ODF plugin answers a rebuilt package or a failure, never a
//! panic, and a rebuilt package sanitizes again to itself with nothing found.
//!
//! An input that is not a ZIP archive becomes the `content.xml` of a sound
//! package (with an `Object 1/` sub-document using it too), so mutations
//! reach the XML rules instead of dying on a CRC check.
#![no_main]

use std::io::{Cursor, Write};

use libfuzzer_sys::fuzz_target;
use sekisho_plugin_sdk::fuzzing::{self, SecondPass};
use zip::write::SimpleFileOptions;

const MANIFEST: &str = r#"<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.text"/><manifest:file-entry manifest:full-path="Object 1/" manifest:media-type="application/vnd.oasis.opendocument.chart"/><manifest:file-entry manifest:full-path="Pictures/a.png" manifest:media-type="image/png"/></manifest:manifest>"#;

fn package(content: &[u8]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let stored = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let members: [(&str, &[u8]); 5] = [
        ("mimetype", b"application/vnd.oasis.opendocument.text"),
        ("META-INF/manifest.xml", MANIFEST.as_bytes()),
        ("content.xml", content),
        ("Object 1/content.xml", content),
        ("Pictures/a.png", b"\x89PNG"),
    ];
    for (name, data) in members {
        writer.start_file(name, stored).unwrap();
        writer.write_all(data).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

fuzz_target!(|data: &[u8]| {
    let input = if data.starts_with(b"PK") { data.to_vec() } else { package(data) };
    // Only the format named by the package's `mimetype` can succeed.
    for format in ["odt", "ods", "odp", "odg"] {
        fuzzing::check_fixed_point(&input, &fuzzing::policy(), SecondPass::SameAndNothingFound, |input, output, policy, host| {
            sekisho_odf::sanitize(format, Cursor::new(input), output, policy, host)
        });
    }
});
