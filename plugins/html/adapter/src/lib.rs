//! The HTML plugin's wasm adapter. It is a crate of its own so that other
//! plugins (e-mail bodies) can link the HTML library without its exports.

sekisho_plugin_sdk::export_library!(
    describe: sekisho_html::describe,
    sanitize: |_format, reader, writer, policy, host| sekisho_html::sanitize(reader, writer, policy, host)
);
