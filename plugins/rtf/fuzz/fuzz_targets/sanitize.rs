//! Any input: the RTF plugin answers a rebuilt file or a failure, never a
//! panic, and a rebuilt file sanitizes again to itself with nothing found.
#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use sekisho_plugin_sdk::{Action, HyperlinkMode, Policy, RefuseAll};

fuzz_target!(|data: &[u8]| {
    let mut policy = Policy::uniform(Action::Sanitize);
    policy.hyperlink_mode = HyperlinkMode::KeepAsText;
    policy.limits.max_expanded_bytes = 64 << 20;
    let mut out = Vec::new();
    if sekisho_rtf::sanitize(Cursor::new(data), &mut out, &policy, &mut RefuseAll).is_ok() {
        let mut again = Vec::new();
        let rebuilt = sekisho_rtf::sanitize(Cursor::new(&out), &mut again, &policy, &mut RefuseAll)
            .expect("an output sanitizes again");
        assert!(rebuilt.findings.is_empty(), "second pass found {:?}", rebuilt.findings);
        assert_eq!(again, out, "not idempotent");
    }
});
