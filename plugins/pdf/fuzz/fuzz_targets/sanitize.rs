//! Any input: the PDF plugin answers a rebuilt file or a failure, never a
//! panic, and a rebuilt file sanitizes again to itself.
#![no_main]

sekisho_plugin_sdk::fuzz_sanitize!(Same, |input, output, policy, host| sekisho_pdf::sanitize(input, output, policy, host));
