//! Any input: the HTML plugin answers a rebuilt page or a failure, never a
//! panic, and a rebuilt page sanitizes again to itself with nothing found;
//! the text of any input can be read.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sekisho_plugin_sdk::fuzzing::{self, SecondPass};

fuzz_target!(|data: &[u8]| {
    fuzzing::check_fixed_point(data, &fuzzing::policy(), SecondPass::SameAndNothingFound, |input, output, policy, host| {
        sekisho_html::sanitize(input, output, policy, host)
    });
    let _ = sekisho_html::to_text(data);
});
