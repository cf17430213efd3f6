//! The ODF plugin, natively, on small packages written in the test to hit
//! each case.

mod common;

use common::{MANIFEST_NS, has, member, names, rebuild, run, strict, text_member, text_of, zip_of};
use sekisho_plugin_sdk::{Action, ContentClass, Disposition, FailureKind, HyperlinkMode, Policy};
use sekisho_testkit::text_pairs as pairs;

const TEXT: &str = "application/vnd.oasis.opendocument.text";
const NAMESPACES: &str = concat!(
    r#"xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" "#,
    r#"xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" "#,
    r#"xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" "#,
    r#"xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" "#,
    r#"xmlns:presentation="urn:oasis:names:tc:opendocument:xmlns:presentation:1.0" "#,
    r#"xmlns:script="urn:oasis:names:tc:opendocument:xmlns:script:1.0" "#,
    r#"xmlns:form="urn:oasis:names:tc:opendocument:xmlns:form:1.0" "#,
    r#"xmlns:xlink="http://www.w3.org/1999/xlink""#,
);

/// A `content.xml` whose body is `body`.
fn content(body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><office:document-content {NAMESPACES} office:version="1.3"><office:body><office:text>{body}</office:text></office:body></office:document-content>"#
    )
}

/// A manifest declaring `entries` (path, media type) after the root.
fn manifest(media_type: &str, entries: &[(&str, &str)]) -> String {
    let mut xml = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="{MANIFEST_NS}" manifest:version="1.3"><manifest:file-entry manifest:full-path="/" manifest:media-type="{media_type}"/>"#
    );
    for (path, media) in entries {
        xml.push_str(&format!(r#"<manifest:file-entry manifest:full-path="{path}" manifest:media-type="{media}"/>"#));
    }
    xml + "</manifest:manifest>"
}

/// A package of `media_type`: `mimetype`, a manifest declaring every member,
/// then the members.
fn package(media_type: &str, members: &[(&str, &str)]) -> Vec<u8> {
    let entries: Vec<(&str, &str)> = members.iter().map(|&(name, _)| (name, "")).collect();
    let manifest = manifest(media_type, &entries);
    let mut all =
        vec![("mimetype", media_type.as_bytes(), true), ("META-INF/manifest.xml", manifest.as_bytes(), false)];
    all.extend(members.iter().map(|&(name, data)| (name, data.as_bytes(), false)));
    zip_of(&all)
}

/// A text document whose `content.xml` has `body`, plus `extra` members.
fn odt(body: &str, extra: &[(&str, &str)]) -> Vec<u8> {
    let content = content(body);
    let mut members = vec![("content.xml", content.as_str())];
    members.extend_from_slice(extra);
    package(TEXT, &members)
}

fn detail_count(findings: &[sekisho_plugin_sdk::Finding], class: ContentClass) -> u32 {
    findings.iter().filter(|f| f.class == class).map(|f| f.count).sum()
}

#[test]
fn dde_links_go_and_their_text_and_values_stay() {
    let input = odt(
        r#"<text:dde-connection-decls><text:dde-connection-decl office:name="L" office:dde-application="cmd" office:dde-topic="/c calc" office:dde-item="x"/></text:dde-connection-decls>
<text:p>Value: <text:dde-connection text:connection-name="L">42</text:dde-connection></text:p>
<table:table table:name="S"><table:table-row><table:table-cell table:formula="of:=DDE(&quot;cmd&quot;;&quot;/c calc&quot;;&quot;x&quot;)" office:value-type="float" office:value="7"><text:p>7</text:p></table:table-cell></table:table-row></table:table>"#,
        &[],
    );
    let (out, findings) = rebuild("odt", &input, &strict());
    let content = text_member(&out, "content.xml");
    assert!(!content.contains("dde-connection") && !content.contains("DDE("), "{content}");
    assert!(content.contains(r#"<table:table-cell office:value-type="float" office:value="7"><text:p>7</text:p>"#));
    assert_eq!(text_of(content.as_bytes()), text_of(&member(&input, "content.xml").unwrap()));
    assert_eq!(detail_count(&findings, ContentClass::Dde), 3);

    let (out, _) = rebuild("odt", &input, &strict().with(ContentClass::Dde, Action::Allow));
    assert_eq!(member(&out, "content.xml"), member(&input, "content.xml"));
    let failure = run("odt", &input, &strict().with(ContentClass::Dde, Action::Block)).unwrap_err();
    assert_eq!(failure.kind, FailureKind::Blocked(ContentClass::Dde));
}

#[test]
fn external_resources_and_data_sources_go_members_stay() {
    let input = odt(
        r##"<text:p><draw:frame draw:name="a"><draw:image xlink:href="http://evil.example/track.png"/></draw:frame><draw:frame draw:name="b"><draw:image xlink:href="../secret.png"/></draw:frame><draw:frame draw:name="c"><draw:image xlink:href="%2e%2e/x.png"/><draw:image xlink:href="./Pictures/a.png"/></draw:frame><draw:frame draw:name="d"><draw:object xlink:href="file:///C:/x.odt"/><draw:image xlink:href="Pictures/a.png"/></draw:frame></text:p>
<text:section text:name="S"><text:section-source xlink:href="other.odt"/><text:p>cached text</text:p></text:section>
<table:table table:name="T"><table:table-source xlink:href="http://x/data.ods" table:table-name="S"/><table:table-row><table:table-cell table:formula="of:=['file:///x.ods'#$S.A1]" office:value-type="float" office:value="1"/></table:table-row></table:table>"##,
        &[("Pictures/a.png", "png")],
    );
    let (out, findings) = rebuild("odt", &input, &strict());
    let content = text_member(&out, "content.xml");
    for gone in ["evil.example", "secret.png", "x.png", "file:", "other.odt", "table-source", "formula"] {
        assert!(!content.contains(gone), "{gone} survived: {content}");
    }
    assert_eq!(content.matches("Pictures/a.png").count(), 2);
    assert!(content.contains("cached text"));
    assert!(names(&out).contains(&"Pictures/a.png".to_owned()));
    assert_eq!(detail_count(&findings, ContentClass::ExternalLinks), 6);
    assert!(has(&findings, ContentClass::DataConnections, Disposition::Removed));
}

#[test]
fn hyperlinks_follow_the_policy_and_its_mode() {
    let input = odt(
        r##"<text:p><text:a xlink:type="simple" xlink:href="https://example.jp/">Example</text:a> and <text:a xlink:href="#Top">top</text:a></text:p>"##,
        &[],
    );
    let original = member(&input, "content.xml").unwrap();
    for mode in [HyperlinkMode::KeepAsText, HyperlinkMode::Remove] {
        let mut policy = strict();
        policy.hyperlink_mode = mode;
        let (out, findings) = rebuild("odt", &input, &policy);
        let content = text_member(&out, "content.xml");
        assert!(!content.contains("example.jp") && content.contains(r##"<text:a xlink:href="#Top">top</text:a>"##));
        assert_eq!(text_of(content.as_bytes()), "Example and top");
        let link = findings.iter().find(|f| f.class == ContentClass::Hyperlinks).unwrap();
        assert_eq!(
            (link.disposition, link.detail.as_str()),
            (Disposition::Removed, r#"text:a links to "https://example.jp/""#)
        );
    }
    let (out, findings) = rebuild("odt", &input, &Policy::uniform(Action::Sanitize));
    assert_eq!(member(&out, "content.xml").unwrap(), original);
    assert!(findings.is_empty(), "{findings:?}");
    let (out, findings) = rebuild("odt", &input, &strict().with(ContentClass::Hyperlinks, Action::Allow));
    assert_eq!(member(&out, "content.xml").unwrap(), original);
    assert!(has(&findings, ContentClass::Hyperlinks, Disposition::Kept));
}

#[test]
fn macro_urls_go_even_where_links_stay() {
    let toolbar = r#"<toolbar:toolbar xmlns:toolbar="http://openoffice.org/2001/toolbar" xmlns:xlink="http://www.w3.org/1999/xlink"><toolbar:toolbaritem xlink:href=".uno:Bold"/><toolbar:toolbaritem xlink:href="macro:///Standard.Module1.Main()"/></toolbar:toolbar>"#;
    let body = r#"<office:forms><form:form form:name="F" xlink:href="https://collect.example/submit"><form:button form:name="B" form:label="Go" xlink:href="vnd.sun.star.script:Standard.Module1.Main?language=Basic&amp;location=document"/></form:form></office:forms>
<text:p><text:a xlink:href="MACRO:///Standard.Module1.Main()">Click</text:a> <text:a xlink:href="https://example.jp/">kept</text:a></text:p>"#;
    let content = content(body);
    let manifest = manifest(
        TEXT,
        &[("content.xml", "text/xml"), ("Configurations2/", "application/vnd.sun.xml.ui.configuration")],
    );
    let input = zip_of(&[
        ("mimetype", TEXT.as_bytes(), true),
        ("META-INF/manifest.xml", manifest.as_bytes(), false),
        ("content.xml", content.as_bytes(), false),
        ("Configurations2/toolbar/custom_toolbar_1.xml", toolbar.as_bytes(), false),
    ]);
    // Hyperlinks in keep mode: real links stay, script URLs do not.
    let (out, findings) = rebuild("odt", &input, &Policy::uniform(Action::Sanitize));
    let content = text_member(&out, "content.xml");
    assert!(!content.to_lowercase().contains("macro:") && !content.contains("vnd.sun.star.script"), "{content}");
    assert!(content.contains(r#"<form:button form:name="B" form:label="Go"/>"#));
    assert!(content.contains("https://example.jp/") && !content.contains("collect.example"));
    assert_eq!(text_of(content.as_bytes()), text_of(&member(&input, "content.xml").unwrap()));
    let toolbar = text_member(&out, "Configurations2/toolbar/custom_toolbar_1.xml");
    assert!(toolbar.contains(".uno:Bold") && !toolbar.contains("macro:"), "{toolbar}");
    assert_eq!(detail_count(&findings, ContentClass::Macros), 3);
    assert!(has(&findings, ContentClass::ExternalActions, Disposition::Neutralized));
}

#[test]
fn many_event_listeners_make_one_finding() {
    let listener = r#"<office:event-listeners><script:event-listener script:language="ooo:script" script:event-name="dom:click" xlink:href="vnd.sun.star.script:A.b.C?language=Basic&amp;location=document"/></office:event-listeners>"#;
    let frame = format!(r#"<draw:frame><draw:image xlink:href="Pictures/a.png"/>{listener}</draw:frame>"#);
    let body = format!("<office:scripts>{listener}</office:scripts><text:p>{}</text:p>", frame.repeat(200));
    let input = odt(&body, &[("Pictures/a.png", "png")]);
    let (out, findings) = rebuild("odt", &input, &strict());
    let content = text_member(&out, "content.xml");
    assert!(!content.contains("event-listener") && content.contains("<office:scripts></office:scripts>"));
    assert_eq!(content.matches(r#"<draw:image xlink:href="Pictures/a.png"/>"#).count(), 200);
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0].count, 201);
    assert_eq!(findings[0].detail, "script:event-listener: an event runs a macro or script");
}

#[test]
fn slide_show_actions_and_media_follow_their_classes() {
    const PRESENTATION: &str = "application/vnd.oasis.opendocument.presentation";
    let body = r#"<draw:page><draw:frame><draw:image xlink:href="Pictures/a.png"/><office:event-listeners><presentation:event-listener script:event-name="dom:click" presentation:action="next-page"/><presentation:event-listener script:event-name="dom:click" presentation:action="execute" xlink:href="calc.exe"/></office:event-listeners></draw:frame><draw:frame><draw:plugin xlink:href="Media/clip.mp4" draw:mime-type="video/mp4"/><draw:image xlink:href="Pictures/a.png"/></draw:frame></draw:page>"#;
    let content = content(body).replace("office:text>", "office:presentation>");
    let input =
        package(PRESENTATION, &[("content.xml", &content), ("Pictures/a.png", "png"), ("Media/clip.mp4", "mp4")]);
    let (out, findings) = rebuild("odp", &input, &strict());
    let content = text_member(&out, "content.xml");
    assert!(content.contains(r#"presentation:action="next-page""#) && !content.contains("calc.exe"));
    assert!(!content.contains("draw:plugin") && !names(&out).contains(&"Media/clip.mp4".to_owned()));
    assert!(has(&findings, ContentClass::ExternalActions, Disposition::Removed));
    assert!(has(&findings, ContentClass::Multimedia, Disposition::Removed));
    let (out, _) = rebuild("odp", &input, &strict().with(ContentClass::Multimedia, Action::Allow));
    assert!(names(&out).contains(&"Media/clip.mp4".to_owned()));
}

#[test]
fn sub_documents_follow_the_same_rules_inside_their_folder() {
    let inner = content(
        r#"<text:p><draw:frame><draw:image xlink:href="../Pictures/shared.png"/></draw:frame><draw:frame><draw:image xlink:href="../../outside.png"/></draw:frame><office:event-listeners><script:event-listener script:event-name="dom:load" xlink:href="macro:///x"/></office:event-listeners></text:p>"#,
    );
    let outer = content(r#"<text:p><draw:frame><draw:object xlink:href="./Object 1"/></draw:frame></text:p>"#);
    let manifest = manifest(
        TEXT,
        &[
            ("content.xml", "text/xml"),
            ("Object 1/", TEXT),
            ("Object 1/content.xml", "text/xml"),
            ("Object 1/meta.xml", "text/xml"),
            ("Object 1/Basic/Standard/Module1.xml", "text/xml"),
        ],
    );
    let input = zip_of(&[
        ("mimetype", TEXT.as_bytes(), true),
        ("META-INF/manifest.xml", manifest.as_bytes(), false),
        ("content.xml", outer.as_bytes(), false),
        ("Object 1/content.xml", inner.as_bytes(), false),
        ("Object 1/meta.xml", b"<office:document-meta/>", false),
        ("Object 1/Basic/Standard/Module1.xml", b"<module/>", false),
        ("Pictures/shared.png", b"png", false),
    ]);
    let (out, findings) = rebuild("odt", &input, &strict());
    let location = |class| findings.iter().find(|f| f.class == class).map(|f| f.location.as_str());
    assert_eq!(location(ContentClass::Macros), Some("Object 1/content.xml"));
    assert_eq!(location(ContentClass::ExternalLinks), Some("Object 1/content.xml"));
    assert!(findings.iter().any(|f| f.location == "Object 1/Basic/" && f.class == ContentClass::Macros));
    assert!(findings.iter().any(|f| f.location == "Object 1/meta.xml" && f.class == ContentClass::Metadata));
    // The picture the sub-document uses was undeclared: it stays, declared.
    assert_eq!(location(ContentClass::MalformedStructure), Some("Pictures/shared.png"));
    assert_eq!(
        names(&out),
        ["mimetype", "META-INF/manifest.xml", "content.xml", "Object 1/content.xml", "Pictures/shared.png"]
    );
}

#[test]
fn unknown_members_go_and_structure_is_repaired() {
    let content = content("<text:p>Hello</text:p>");
    let ole = [&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1][..], b"ole data"].concat();
    let manifest = manifest(TEXT, &[("ghost.png", "image/png"), ("Pictures/x.bin", "")]);
    // `mimetype` compressed and last, content.xml undeclared.
    let input = zip_of(&[
        ("META-INF/manifest.xml", manifest.as_bytes(), false),
        ("content.xml", content.as_bytes(), false),
        ("payload.exe", b"MZ", false),
        ("Pictures/x.bin", &ole, false),
        ("META-INF/documentsignatures.xml", b"<signatures/>", false),
        ("mimetype", TEXT.as_bytes(), false),
    ]);
    let (out, findings) = rebuild("odt", &input, &strict());
    assert_eq!(names(&out), ["mimetype", "META-INF/manifest.xml", "content.xml"]);
    let find = |location: &str| findings.iter().find(|f| f.location == location).map(|f| (f.class, f.disposition));
    assert_eq!(find("payload.exe"), Some((ContentClass::UnknownParts, Disposition::Removed)));
    assert_eq!(find("Pictures/x.bin"), Some((ContentClass::ActiveObjects, Disposition::Removed)));
    assert_eq!(find("META-INF/documentsignatures.xml"), Some((ContentClass::Metadata, Disposition::Removed)));
    assert_eq!(find("content.xml"), Some((ContentClass::MalformedStructure, Disposition::Neutralized)));
    assert_eq!(find("mimetype"), Some((ContentClass::MalformedStructure, Disposition::Neutralized)));
    assert_eq!(find("META-INF/manifest.xml"), Some((ContentClass::MalformedStructure, Disposition::Removed)));
    let manifest = text_member(&out, "META-INF/manifest.xml");
    assert!(manifest.contains(r#"manifest:full-path="content.xml""#) && !manifest.contains("ghost.png"));

    // Kept anomalies stay as they were.
    let lenient =
        strict().with(ContentClass::MalformedStructure, Action::Allow).with(ContentClass::UnknownParts, Action::Allow);
    let (out, _) = run("odt", &input, &lenient).unwrap();
    assert_eq!(names(&out).last().map(String::as_str), Some("mimetype"));
    assert!(names(&out).contains(&"payload.exe".to_owned()));
    assert!(text_member(&out, "META-INF/manifest.xml").contains("ghost.png"));
}

#[test]
fn doctypes_with_declarations_are_refused_external_ones_cut() {
    let bomb = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0">&lol2;</office:document-content>"#;
    let failure = run("odt", &package(TEXT, &[("content.xml", bomb)]), &strict()).unwrap_err();
    assert_eq!(failure.kind, FailureKind::InvalidStructure);
    assert!(failure.detail.starts_with("content.xml: ") && failure.detail.contains("DTD"), "{}", failure.detail);

    let external = content("<text:p>Hi</text:p>").replace(
        "?><",
        r#"?><!DOCTYPE office:document-content PUBLIC "-//OpenOffice.org//DTD OfficeDocument 1.0//EN" "office.dtd"><"#,
    );
    let (out, findings) = rebuild("odt", &package(TEXT, &[("content.xml", &external)]), &strict());
    assert!(findings.is_empty());
    assert_eq!(text_member(&out, "content.xml"), content("<text:p>Hi</text:p>"));
}

#[test]
fn packages_that_are_not_sound_opendocument_are_refused() {
    let content = content("<text:p>Hi</text:p>");
    let failures = [
        ("odt", zip_of(&[("content.xml", content.as_bytes(), false)]), FailureKind::InvalidStructure, "no mimetype"),
        ("odt", package("application/epub+zip", &[]), FailureKind::InvalidStructure, "not an OpenDocument"),
        ("ods", odt("<text:p>Hi</text:p>", &[]), FailureKind::InvalidStructure, "not ods"),
        (
            "odt",
            zip_of(&[("mimetype", TEXT.as_bytes(), true), ("content.xml", content.as_bytes(), false)]),
            FailureKind::InvalidStructure,
            "no META-INF/manifest.xml",
        ),
        ("odt", odt("<text:p>Hi", &[]), FailureKind::InvalidStructure, "content.xml"),
        ("odt", b"PK\x03\x04 not really a zip".to_vec(), FailureKind::InvalidStructure, "ZIP"),
    ];
    for (format, input, kind, detail) in failures {
        let failure = run(format, &input, &strict()).unwrap_err();
        assert_eq!(failure.kind, kind, "{detail}: {}", failure.detail);
        assert!(failure.detail.contains(detail), "{detail}: {}", failure.detail);
    }
    let encrypted = manifest(TEXT, &[]).replace(
        "/></manifest:manifest>",
        r#"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"><manifest:encryption-data manifest:checksum-type="SHA1" manifest:checksum="x"/></manifest:file-entry></manifest:manifest>"#,
    );
    let input = zip_of(&[
        ("mimetype", TEXT.as_bytes(), true),
        ("META-INF/manifest.xml", encrypted.as_bytes(), false),
        ("content.xml", b"\x8f\x01 ciphertext", true),
    ]);
    assert_eq!(run("odt", &input, &strict()).unwrap_err().kind, FailureKind::Encrypted);
}

#[test]
fn templates_keep_their_media_type() {
    let template = format!("{TEXT}-template");
    let input = package(&template, &[("content.xml", &content("<text:p>Hi</text:p>"))]);
    let (out, findings) = rebuild("odt", &input, &strict());
    assert_eq!(member(&out, "mimetype").unwrap(), template.as_bytes());
    assert!(findings.is_empty());
}

/// A text document with a Basic library (`Basic/`, as LibreOffice saves
/// one) whose macro runs from an event listener on a picture.
fn odt_with_basic_macros() -> Vec<u8> {
    let body = r#"<text:p>Before the picture.</text:p><text:p><draw:frame draw:name="pic"><draw:image xlink:href="Pictures/a.png"/><office:event-listeners><script:event-listener script:language="ooo:script" script:event-name="dom:mouseover" xlink:href="vnd.sun.star.script:Standard.test.Main?language=Basic&amp;location=document"/></office:event-listeners></draw:frame></text:p><text:p>After the picture.</text:p>"#;
    let content = content(body);
    let library = r#"<?xml version="1.0" encoding="UTF-8"?><library:library xmlns:library="http://openoffice.org/2000/library" library:name="Standard" library:readonly="false" library:passwordprotected="false"><library:element library:name="test"/></library:library>"#;
    let module = r#"<?xml version="1.0" encoding="UTF-8"?><script:module xmlns:script="http://openoffice.org/2000/script" script:name="test" script:language="StarBasic">Sub Main
  Shell("calc.exe")
End Sub</script:module>"#;
    let container = r#"<?xml version="1.0" encoding="UTF-8"?><library:libraries xmlns:library="http://openoffice.org/2000/library" xmlns:xlink="http://www.w3.org/1999/xlink"><library:library library:name="Standard" library:link="false"/></library:libraries>"#;
    package(
        TEXT,
        &[
            ("content.xml", &content),
            ("Pictures/a.png", "png"),
            ("Basic/script-lc.xml", container),
            ("Basic/Standard/script-lb.xml", library),
            ("Basic/Standard/test.xml", module),
        ],
    )
}

#[test]
fn basic_macros_go_under_strict_and_stay_under_allow() {
    let input = odt_with_basic_macros();
    let (out, findings) = rebuild("odt", &input, &strict());
    assert!(!names(&out).iter().any(|n| n.starts_with("Basic/")), "{:?}", names(&out));
    let content = text_member(&out, "content.xml");
    for active in ["script:event-listener", "office:event-listeners", "vnd.sun.star.script"] {
        assert!(!content.contains(active), "{active} survived");
    }
    // The picture the listener was bound to stays, and the text.
    assert!(content.contains(r#"<draw:image xlink:href="Pictures/a.png"/>"#), "{content}");
    assert_eq!(text_of(content.as_bytes()), "Before the picture.After the picture.");
    let basic = findings.iter().find(|f| f.location == "Basic/").unwrap();
    assert_eq!((basic.class, basic.disposition, basic.count), (ContentClass::Macros, Disposition::Removed, 3));
    assert!(findings.iter().any(|f| f.location == "content.xml" && f.detail.starts_with("script:event-listener")));

    let keep_macros = strict().with(ContentClass::Macros, Action::Allow);
    let (out, findings) = rebuild("odt", &input, &keep_macros);
    assert_eq!(names(&out).iter().filter(|n| n.starts_with("Basic/")).count(), 3);
    assert!(text_member(&out, "content.xml").contains("vnd.sun.star.script:Standard.test.Main"));
    assert!(findings.iter().filter(|f| f.class == ContentClass::Macros).all(|f| f.disposition == Disposition::Kept));

    let failure = run("odt", &input, &strict().with(ContentClass::Macros, Action::Block)).unwrap_err();
    assert_eq!(failure.kind, FailureKind::Blocked(ContentClass::Macros));
}

/// A text document with an embedded OLE object (a compound file in
/// `Object 1`) shown by its replacement picture, which, as LibreOffice
/// writes it, the manifest does not list.
fn odt_with_ole_object() -> Vec<u8> {
    let body = r#"<text:p>An object: <draw:frame draw:name="Object1"><draw:object-ole xlink:href="./Object 1" xlink:type="simple" xlink:show="embed" xlink:actuate="onLoad"/><draw:image xlink:href="./ObjectReplacements/Object 1" xlink:type="simple"/></draw:frame> end.</text:p>"#;
    let content = content(body);
    let ole = sekisho_testkit::office::compound_file(&[("/\u{1}Ole10Native", b"\x10\0\0\0 packaged data")], &[], None);
    let manifest = manifest(TEXT, &[("content.xml", "text/xml"), ("Object 1", "application/vnd.sun.star.oleobject")]);
    zip_of(&[
        ("mimetype", TEXT.as_bytes(), true),
        ("META-INF/manifest.xml", manifest.as_bytes(), false),
        ("content.xml", content.as_bytes(), false),
        ("Object 1", &ole, false),
        ("ObjectReplacements/Object 1", b"\x01\0\0\0 a metafile picture", false),
    ])
}

#[test]
fn an_ole_object_goes_and_its_replacement_image_stays() {
    let input = odt_with_ole_object();
    assert!(names(&input).contains(&"Object 1".to_owned()));
    let (out, findings) = rebuild("odt", &input, &strict());
    let members = names(&out);
    assert!(!members.contains(&"Object 1".to_owned()), "{members:?}");
    assert!(members.contains(&"ObjectReplacements/Object 1".to_owned()), "{members:?}");
    let content = text_member(&out, "content.xml");
    assert!(!content.contains("draw:object-ole"), "{content}");
    assert!(content.contains(r#"<draw:image xlink:href="./ObjectReplacements/Object 1""#), "{content}");
    assert!(has(&findings, ContentClass::ActiveObjects, Disposition::Removed), "{findings:?}");
    // The replacement was not in the manifest: it is declared now.
    assert!(has(&findings, ContentClass::MalformedStructure, Disposition::Neutralized), "{findings:?}");

    let keep_ole = strict().with(ContentClass::ActiveObjects, Action::Allow);
    let (out, _) = rebuild("odt", &input, &keep_ole);
    assert_eq!(member(&out, "Object 1"), member(&input, "Object 1"));
    assert!(text_member(&out, "content.xml").contains("draw:object-ole"));
}

const META: &str = r#"<?xml version="1.0" encoding="UTF-8"?><office:document-meta xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0" office:version="1.3"><office:meta><meta:initial-creator>Someone</meta:initial-creator><meta:generator>LibreOffice</meta:generator></office:meta></office:document-meta>"#;
const RDF: &str = r#"<?xml version="1.0" encoding="utf-8"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="content.xml"><rdf:type rdf:resource="http://docs.oasis-open.org/ns/office/1.2/meta/pkg#ContentFile"/></rdf:Description></rdf:RDF>"#;

#[test]
fn metadata_goes_and_the_rdf_manifest_stays() {
    let input =
        odt("<text:p>Text</text:p>", &[("meta.xml", META), ("manifest.rdf", RDF), ("Thumbnails/thumbnail.png", "png")]);
    let (out, findings) = rebuild("odt", &input, &strict());
    let members = names(&out);
    assert!(!members.iter().any(|n| n == "meta.xml" || n.starts_with("Thumbnails/")), "{members:?}");
    assert!(members.contains(&"manifest.rdf".to_owned()));
    assert!(!text_member(&out, "META-INF/manifest.xml").contains("meta.xml"));
    assert!(has(&findings, ContentClass::Metadata, Disposition::Removed));
    let (out, _) = rebuild("odt", &input, &strict().with(ContentClass::Metadata, Action::Allow));
    assert_eq!(member(&out, "meta.xml"), member(&input, "meta.xml"));
}

#[test]
fn a_clean_document_keeps_its_members_bytes_and_text() {
    let styles = r#"<?xml version="1.0" encoding="UTF-8"?><office:document-styles xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" office:version="1.3"><office:styles><style:style style:name="Standard" style:family="paragraph"/></office:styles></office:document-styles>"#;
    let input = odt(
        "<text:h>Title</text:h><text:p>First paragraph.</text:p><text:p>Second, with <text:span>a span</text:span>.</text:p>",
        &[("styles.xml", styles), ("meta.xml", META), ("Pictures/a.png", "png")],
    );
    let (out, findings) = rebuild("odt", &input, &strict().with(ContentClass::Metadata, Action::Allow));
    assert!(findings.iter().all(|f| f.disposition == Disposition::Kept), "{findings:?}");
    for name in names(&input).iter().filter(|n| !n.ends_with('/') && *n != "META-INF/manifest.xml") {
        assert_eq!(member(&out, name), member(&input, name), "{name}");
    }
    // Under strict, the metadata goes and the text stays.
    let (out, _) = rebuild("odt", &input, &strict());
    for part in ["content.xml", "styles.xml"] {
        assert_eq!(text_of(&member(&out, part).unwrap()), text_of(&member(&input, part).unwrap()), "{part}");
    }
}

/// A package whose `content.xml` body is `body` inside `<office:{kind}>`.
fn document(media_type: &str, kind: &str, body: &str, extra: &[(&str, &str)]) -> Vec<u8> {
    let content = content(body).replace("office:text>", &format!("office:{kind}>"));
    let mut members = vec![("content.xml", content.as_str())];
    members.extend_from_slice(extra);
    package(media_type, &members)
}

fn texts(format: &str, input: &[u8]) -> Vec<(String, String)> {
    let mut host = sekisho_plugin_sdk::CollectText::default();
    sekisho_odf::sanitize(format, std::io::Cursor::new(input), &mut Vec::new(), &strict(), &mut host).unwrap();
    host.texts
}

#[test]
fn text_channel_gives_paragraphs_cells_and_slides_without_what_was_removed() {
    let module = r#"<?xml version="1.0" encoding="UTF-8"?><script:module xmlns:script="http://openoffice.org/2000/script" script:name="m" script:language="StarBasic">Sub Main : Shell("calc 999988887777") : End Sub</script:module>"#;
    let text = odt(
        concat!(
            "<text:h>会員  情報</text:h><text:p>氏名：<text:span>山田太郎</text:span><text:s text:c=\"2\"/>様</text:p>",
            "<text:p/><text:p>住所：東京都千代田区<office:annotation><text:p>コメント 111122223333</text:p></office:annotation>",
            "<text:note><text:note-citation>1</text:note-citation><text:note-body><text:p>注記</text:p></text:note-body></text:note></text:p>",
            "<text:p>メール<text:tab/><text:a xlink:href=\"mailto:taro@example.jp\">taro@example.jp</text:a><text:line-break/>次の行</text:p>",
            "<office:scripts><office:script script:language=\"ooo:script\">secret</office:script></office:scripts>",
        ),
        &[("Basic/Standard/m.xml", module)],
    );
    assert_eq!(
        texts("odt", &text),
        pairs(&[
            ("paragraph 1", "会員 情報"),
            ("paragraph 2", "氏名：山田太郎  様"),
            ("paragraph 4", "注記"),
            ("paragraph 5", "住所：東京都千代田区1"),
            ("paragraph 6", "メール\ttaro@example.jp\n次の行"),
        ])
    );

    let cells = concat!(
        "<table:table table:name=\"名簿\"><table:table-column table:number-columns-repeated=\"3\"/>",
        "<table:table-row><table:table-cell><text:p>氏名</text:p></table:table-cell><table:table-cell/>",
        "<table:table-cell office:value-type=\"float\" office:value=\"123456789012\"><text:p>123456789012</text:p></table:table-cell></table:table-row>",
        "<table:table-row table:number-rows-repeated=\"1048570\"><table:table-cell table:number-columns-repeated=\"1024\"/></table:table-row>",
        "<table:table-row><table:table-cell table:number-columns-repeated=\"2\"/><table:table-cell><text:p>山田太郎</text:p><text:p>taro@example.jp</text:p></table:table-cell>",
        "<table:table-cell table:number-columns-repeated=\"2\"><text:p>同</text:p></table:table-cell>",
        "<table:table-cell><office:annotation><text:p>メモ</text:p></office:annotation></table:table-cell></table:table-row></table:table>",
        "<table:table table:name=\"Sheet2\"><table:table-row><table:table-cell><text:p>二枚目</text:p></table:table-cell></table:table-row></table:table>",
    );
    let ods = document("application/vnd.oasis.opendocument.spreadsheet", "spreadsheet", cells, &[]);
    assert_eq!(
        texts("ods", &ods),
        pairs(&[
            ("名簿!A1", "氏名"),
            ("名簿!C1", "123456789012"),
            ("名簿!C1048572", "山田太郎\ntaro@example.jp"),
            ("名簿!D1048572", "同"),
            ("名簿!E1048572", "同"),
            ("Sheet2!A1", "二枚目"),
        ])
    );

    let slides = concat!(
        "<draw:page draw:name=\"表紙\"><draw:frame><draw:text-box><text:p>東京都千代田区</text:p><text:p>山田太郎</text:p></draw:text-box></draw:frame>",
        "<presentation:notes><draw:frame><draw:text-box><text:p>話す内容</text:p></draw:text-box></draw:frame></presentation:notes></draw:page>",
        "<draw:page><draw:frame><draw:text-box><text:p>二枚目</text:p></draw:text-box></draw:frame></draw:page>",
    );
    let odp = document("application/vnd.oasis.opendocument.presentation", "presentation", slides, &[]);
    assert_eq!(
        texts("odp", &odp),
        pairs(&[
            ("slide 1", "東京都千代田区"),
            ("slide 1", "山田太郎"),
            ("slide 1 notes", "話す内容"),
            ("slide 2", "二枚目")
        ])
    );
}

#[test]
fn text_channel_repeated_cells_are_bounded() {
    let cells = concat!(
        "<table:table table:name=\"S\"><table:table-row table:number-rows-repeated=\"1000000000\">",
        "<table:table-cell table:number-columns-repeated=\"16384\"><text:p>x</text:p></table:table-cell></table:table-row></table:table>",
    );
    let ods = document("application/vnd.oasis.opendocument.spreadsheet", "spreadsheet", cells, &[]);
    let texts = texts("ods", &ods);
    assert_eq!(texts[0], ("S!A1".to_string(), "x".to_string()));
    assert_eq!(texts[1], ("S!B1".to_string(), "x".to_string()));
    let bytes: usize = texts.iter().map(|(l, t)| l.len() + t.len()).sum();
    // Copies beyond the first stop at a budget of 16 MiB (`text::MAX_COPIES`).
    assert!(bytes <= (16 << 20) + 64, "{} pieces, {bytes} bytes", texts.len());
}
