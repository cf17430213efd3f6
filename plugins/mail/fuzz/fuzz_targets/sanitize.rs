//! Any input: the mail plugin answers a rebuilt message or a failure, never
//! a panic, and a rebuilt message sanitizes again to itself (with the HTML
//! bodies sanitized for even-length inputs, turned into text for odd ones).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sekisho_plugin_sdk::fuzzing::{self, SecondPass};

fuzz_target!(|data: &[u8]| {
    let mut policy = fuzzing::policy();
    if data.len() % 2 == 1 {
        policy = policy.with_option("html-mode", "text");
    }
    fuzzing::check_fixed_point(data, &policy, SecondPass::Same, |input, output, policy, host| {
        sekisho_mail::sanitize(input, output, policy, host)
    });
});
