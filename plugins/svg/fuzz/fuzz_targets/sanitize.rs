//! Any input: the SVG plugin answers a rebuilt image or a failure, never a
//! panic, and a rebuilt image sanitizes again to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sekisho_plugin_sdk::{Action, CollectText, HyperlinkMode, Policy, RefuseAll};

fuzz_target!(|data: &[u8]| {
    let mut policy = Policy::uniform(Action::Sanitize);
    policy.hyperlink_mode = HyperlinkMode::KeepAsText;
    policy.limits.max_expanded_bytes = 64 << 20;
    let mut out = Vec::new();
    if sekisho_svg::sanitize(data, &mut out, &policy, &mut CollectText::default()).is_ok() {
        let mut again = Vec::new();
        let rebuilt =
            sekisho_svg::sanitize(&out[..], &mut again, &policy, &mut RefuseAll).expect("an output sanitizes again");
        assert_eq!(again, out, "not idempotent");
        assert!(rebuilt.findings.is_empty(), "the second pass found {:?}", rebuilt.findings);
    }
});
