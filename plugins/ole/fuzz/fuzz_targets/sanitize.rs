//! Any input: the compound-file plugin answers a rebuilt file or a failure,
//! never a panic, and a rebuilt file sanitizes again to itself.
#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use sekisho_plugin_sdk::{Action, Policy, RefuseAll};

fuzz_target!(|data: &[u8]| {
    let policy = Policy::uniform(Action::Sanitize);
    let mut out = Vec::new();
    if sekisho_ole::sanitize(Cursor::new(data), &mut out, &policy, &mut RefuseAll).is_ok() {
        let mut again = Vec::new();
        sekisho_ole::sanitize(Cursor::new(&out), &mut again, &policy, &mut RefuseAll)
            .expect("an output sanitizes again");
        assert_eq!(again, out, "not idempotent");
    }
});
