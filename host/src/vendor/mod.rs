//! What vendors need to ship a plugin without touching the host: the
//! conformance kit behind `sekisho plugin check` ([`check`]), a new plugin
//! crate from the template behind `sekisho plugin new` ([`template`]), and
//! signed plugins for `--require-signed` ([`signature`]).

pub mod check;
pub mod signature;
pub mod template;
