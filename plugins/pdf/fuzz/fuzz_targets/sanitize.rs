//! Any input: the PDF plugin answers a rebuilt file or a failure, never a
//! panic, and a rebuilt file sanitizes again to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sekisho_plugin_sdk::{Action, Policy, RefuseAll};

fuzz_target!(|data: &[u8]| {
    let mut policy = Policy::uniform(Action::Sanitize);
    policy.limits.max_expanded_bytes = 64 << 20;
    let mut out = Vec::new();
    if sekisho_pdf::sanitize(data, &mut out, &policy, &mut RefuseAll).is_ok() {
        let mut again = Vec::new();
        sekisho_pdf::sanitize(&out[..], &mut again, &policy, &mut RefuseAll).expect("an output sanitizes again");
        assert_eq!(again, out, "not idempotent");
    }
});
