//! Any input: the SVG plugin answers a rebuilt image or a failure, never a
//! panic, and a rebuilt image sanitizes again to itself with nothing found.
#![no_main]

sekisho_plugin_sdk::fuzz_sanitize!(SameAndNothingFound, |input, output, policy, host| {
    sekisho_svg::sanitize(input, output, policy, host)
});
