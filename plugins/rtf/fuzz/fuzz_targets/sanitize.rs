//! Any input: the RTF plugin answers a rebuilt file or a failure, never a
//! panic, and a rebuilt file sanitizes again to itself with nothing found.
#![no_main]

use std::io::Cursor;

sekisho_plugin_sdk::fuzz_sanitize!(SameAndNothingFound, |input, output, policy, host| {
    sekisho_rtf::sanitize(Cursor::new(input), output, policy, host)
});
