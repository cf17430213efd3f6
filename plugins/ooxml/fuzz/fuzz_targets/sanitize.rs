//! Any input: the OOXML plugin answers a rebuilt package or a failure, never
//! a panic, and a rebuilt package sanitizes again to itself.
#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use sekisho_plugin_sdk::{Action, HyperlinkMode, Policy, RefuseAll};

fuzz_target!(|data: &[u8]| {
    let mut policy = Policy::uniform(Action::Sanitize);
    policy.hyperlink_mode = HyperlinkMode::KeepAsText;
    policy.limits.max_expanded_bytes = 64 << 20;
    let mut out = Vec::new();
    if let Ok(rebuilt) = sekisho_ooxml::sanitize("docx", Cursor::new(data), &mut out, &policy, &mut RefuseAll) {
        let mut again = Vec::new();
        sekisho_ooxml::sanitize(&rebuilt.format, Cursor::new(&out), &mut again, &policy, &mut RefuseAll)
            .expect("an output sanitizes again");
        assert_eq!(again, out, "not idempotent");
    }
});
