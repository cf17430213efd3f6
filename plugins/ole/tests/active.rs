//! The scan channel: the VBA project of a Word 97 document handed to the
//! host as decompressed source, with whether the rebuild keeps it.

use std::io::Cursor;

use sekisho_plugin_sdk::{Action, CollectActive, ContentClass, Policy};
use sekisho_testkit::office::{WordOptions, word97};
use sekisho_testkit::ovba::AUTO_OPEN_MODULE;

#[test]
fn the_macros_of_a_word_97_document_are_handed_over_decompressed() {
    let doc = word97("Hello", WordOptions { macros: true, ..WordOptions::default() });
    for (action, kept) in [(Action::Sanitize, false), (Action::Allow, true)] {
        let policy = Policy::uniform(Action::Sanitize).with(ContentClass::Macros, action);
        let mut host = CollectActive::default();
        sekisho_ole::sanitize(Cursor::new(&doc), &mut Vec::new(), &policy, &mut host)
            .unwrap_or_else(|f| panic!("{}", f.detail));
        assert_eq!(host.parts.len(), 1, "{:?}", host.parts.iter().map(|p| &p.2).collect::<Vec<_>>());
        let (class, was_kept, location, source) = &host.parts[0];
        assert_eq!((class.as_str(), *was_kept, location.as_str()), ("macros", kept, "Macros/Module1"));
        assert_eq!(source.as_slice(), AUTO_OPEN_MODULE.as_bytes());
    }
}
