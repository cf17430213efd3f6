//! Any input: the mail plugin answers a rebuilt message or a failure, never
//! a panic, and a rebuilt message sanitizes again to itself (with the HTML
//! bodies sanitized for even-length inputs, turned into text for odd ones).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sekisho_plugin_sdk::{Action, HyperlinkMode, Policy, RefuseAll};

fuzz_target!(|data: &[u8]| {
    let mut policy = Policy::uniform(Action::Sanitize);
    policy.hyperlink_mode = HyperlinkMode::KeepAsText;
    policy.limits.max_expanded_bytes = 64 << 20;
    if data.len() % 2 == 1 {
        policy = policy.with_option("html-mode", "text");
    }
    let mut out = Vec::new();
    if sekisho_mail::sanitize(data, &mut out, &policy, &mut RefuseAll).is_ok() {
        let mut again = Vec::new();
        sekisho_mail::sanitize(&out[..], &mut again, &policy, &mut RefuseAll).expect("an output sanitizes again");
        assert_eq!(String::from_utf8_lossy(&again), String::from_utf8_lossy(&out), "not idempotent");
    }
});
