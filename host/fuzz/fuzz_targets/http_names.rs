//! Any name, header value or URL: names read from requests have no folder,
//! and a built Content-Disposition is a header value that parses back to one
//! filename (and one filename*) naming exactly the file, with no character
//! of the name outside its quoted string.
//! `cd host/fuzz && cargo +nightly fuzz run http_names`
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| sekisho::fuzzing::http_names(data));
