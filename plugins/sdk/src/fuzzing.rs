//! What every plugin's fuzz target checks, written once (feature `fuzzing`):
//! any input gives a rebuilt file or a failure, never a panic, and a rebuilt
//! file is a fixed point: sanitized again, it comes back byte for byte.

use crate::{Action, CollectText, Failure, Host, HyperlinkMode, Policy, Rebuilt, RefuseAll};

/// The policy fuzz targets run with: every class sanitized, links kept as
/// text, 64 MiB of expansion (so deep inputs reach the rebuild).
pub fn policy() -> Policy {
    let mut policy = Policy::uniform(Action::Sanitize);
    policy.hyperlink_mode = HyperlinkMode::KeepAsText;
    policy.limits.max_expanded_bytes = 64 << 20;
    policy
}

/// What the second pass over a rebuilt file must show besides equal bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondPass {
    /// The same bytes.
    Same,
    /// The same bytes, and nothing found: the first pass removed it all.
    SameAndNothingFound,
}

/// Runs `sanitize` on `data` (collecting its text, so the text channel is
/// fuzzed too); when it succeeds, runs it on the output and panics unless
/// the second pass succeeds as `second` requires.
pub fn check_fixed_point<F>(data: &[u8], policy: &Policy, second: SecondPass, mut sanitize: F)
where
    F: FnMut(&[u8], &mut Vec<u8>, &Policy, &mut dyn Host) -> Result<Rebuilt, Failure>,
{
    let mut out = Vec::new();
    if sanitize(data, &mut out, policy, &mut CollectText::default()).is_err() {
        return;
    }
    let mut again = Vec::new();
    let rebuilt = sanitize(&out, &mut again, policy, &mut RefuseAll)
        .unwrap_or_else(|failure| panic!("an output does not sanitize again: {failure:?}"));
    assert!(
        again == out,
        "not idempotent:\n{}\n---\n{}",
        String::from_utf8_lossy(&out),
        String::from_utf8_lossy(&again)
    );
    if second == SecondPass::SameAndNothingFound {
        assert!(rebuilt.findings.is_empty(), "the second pass found {:?}", rebuilt.findings);
    }
}

/// A libFuzzer target over one plugin's `sanitize`, with the fuzzing
/// [`policy`] and [`check_fixed_point`]. The fuzz crate depends on
/// `libfuzzer-sys`.
///
/// ```ignore
/// sekisho_plugin_sdk::fuzz_sanitize!(SecondPass::Same, |input, output, policy, host| {
///     sekisho_pdf::sanitize(input, output, policy, host)
/// });
/// ```
#[macro_export]
macro_rules! fuzz_sanitize {
    ($second:ident, |$input:ident, $output:ident, $policy:ident, $host:ident| $body:expr) => {
        ::libfuzzer_sys::fuzz_target!(|data: &[u8]| {
            $crate::fuzzing::check_fixed_point(
                data,
                &$crate::fuzzing::policy(),
                $crate::fuzzing::SecondPass::$second,
                |$input, $output, $policy, $host| $body,
            );
        });
    };
}
