//! Any bytes on an ICAP connection: the parser answers a request or an
//! error status, never panics or hangs, keeps no more than it was sent, and
//! an HTTP head it delivers parses back.
//! `cd host/fuzz && cargo +nightly fuzz run icap_request`
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| sekisho::fuzzing::icap_request(data));
