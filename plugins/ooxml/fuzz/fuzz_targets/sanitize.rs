//! Any input: the OOXML plugin answers a rebuilt package or a failure, never
//! a panic, and a rebuilt package sanitizes again to itself (as the format
//! the first pass answered: a docm comes back a docx).
#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use sekisho_plugin_sdk::fuzzing::{self, SecondPass};

fuzz_target!(|data: &[u8]| {
    let mut format = String::from("docx");
    fuzzing::check_fixed_point(data, &fuzzing::policy(), SecondPass::Same, |input, output, policy, host| {
        let rebuilt = sekisho_ooxml::sanitize(&format, Cursor::new(input), output, policy, host)?;
        format.clone_from(&rebuilt.format);
        Ok(rebuilt)
    });
});
