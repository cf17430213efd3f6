//! Any input, routed by its magic bytes as the host would: the image plugin
//! answers a rebuilt file or a failure, never a panic, in both modes. A
//! structural rebuild sanitizes again to itself; a re-encoded file sanitizes
//! again without findings.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sekisho_plugin_sdk::RefuseAll;
use sekisho_plugin_sdk::fuzzing::{self, SecondPass};

fn format_of(data: &[u8]) -> Option<&'static str> {
    Some(match data {
        [0x89, b'P', b'N', b'G', ..] => "png",
        [0xFF, 0xD8, 0xFF, ..] => "jpeg",
        [b'G', b'I', b'F', b'8', ..] => "gif",
        [b'I', b'I', b'*', 0, ..] | [b'M', b'M', 0, b'*', ..] => "tiff",
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => "webp",
        [b'B', b'M', ..] => "bmp",
        _ => return None,
    })
}

fuzz_target!(|data: &[u8]| {
    let Some(format) = format_of(data) else { return };
    let structural = fuzzing::policy();
    fuzzing::check_fixed_point(data, &structural, SecondPass::SameAndNothingFound, |input, output, policy, host| {
        sekisho_image::sanitize(format, input, output, policy, host)
    });
    // A re-encoded picture need not re-encode to the same bytes; it must
    // come back with nothing found.
    let reencode = structural.with_option("image-mode", "re-encode");
    let mut out = Vec::new();
    if sekisho_image::sanitize(format, data, &mut out, &reencode, &mut RefuseAll).is_ok() {
        let mut again = Vec::new();
        let rebuilt = sekisho_image::sanitize(format, &out[..], &mut again, &reencode, &mut RefuseAll)
            .expect("a re-encoded file sanitizes again");
        assert!(rebuilt.findings.is_empty(), "second re-encode found {:?}", rebuilt.findings);
    }
});
