//! Any input: the compound-file plugin answers a rebuilt file or a failure,
//! never a panic, and a rebuilt file sanitizes again to itself.
#![no_main]

use std::io::Cursor;

sekisho_plugin_sdk::fuzz_sanitize!(Same, |input, output, policy, host| {
    sekisho_ole::sanitize(Cursor::new(input), output, policy, host)
});
