//! The RTF plugin, natively, on handmade documents for each behaviour and on
//! the shared corpus when `SEKISHO_CORPUS` names it.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use sekisho_testkit::Corpus;
use sekisho_testkit::text_pairs as pairs;

use sekisho_plugin_sdk::{
    Action, ContentClass, Disposition, EmbeddedOutcome, EmbeddedRebuilt, EmbeddedRefusal, Embedder, Failure,
    FailureKind, Finding, HyperlinkMode, Policy, RefuseAll,
};

fn corpus_files(corpus: &Corpus) -> Vec<PathBuf> {
    let files = corpus.files("rtf");
    assert!(files.len() >= 9, "expected the RTF corpus, found {} files", files.len());
    files
}

/// Answers embedded documents as the host would for a clean child, and
/// records what it was sent.
#[derive(Default)]
struct Host {
    seen: Vec<String>,
    block: bool,
}

impl Embedder for Host {
    fn sanitize_embedded(&mut self, name: &str, data: &[u8]) -> Result<EmbeddedRebuilt, EmbeddedRefusal> {
        self.seen.push(name.to_owned());
        if self.block {
            return Err(EmbeddedRefusal::Blocked("macros".into()));
        }
        let extension = name.rsplit('.').next().unwrap_or_default().to_owned();
        Ok(EmbeddedRebuilt {
            outcome: EmbeddedOutcome::Clean,
            format: extension.clone(),
            extension,
            media_type: "application/octet-stream".into(),
            data: data.to_vec(),
        })
    }
}

fn strict() -> Policy {
    let mut policy = Policy::uniform(Action::Sanitize);
    policy.hyperlink_mode = HyperlinkMode::KeepAsText;
    policy
}

fn run_with<E: Embedder>(data: &[u8], policy: &Policy, host: &mut E) -> Result<(Vec<u8>, Vec<Finding>), Failure> {
    let mut out = Vec::new();
    let rebuilt = sekisho_rtf::sanitize(Cursor::new(data), &mut out, policy, host)?;
    assert_eq!(rebuilt.format, "rtf");
    Ok((out, rebuilt.findings))
}

fn run(data: &[u8], policy: &Policy) -> Result<(Vec<u8>, Vec<Finding>), Failure> {
    run_with(data, policy, &mut Host::default())
}

fn count(findings: &[Finding], class: ContentClass, disposition: Disposition) -> usize {
    findings.iter().filter(|f| f.class == class && f.disposition == disposition).count()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn occurrences(haystack: &[u8], needle: &[u8]) -> usize {
    haystack.windows(needle.len()).filter(|w| *w == needle).count()
}

/// Groups whose text is not displayed (an object shows its `\result`).
const HIDDEN: &[&str] = &[
    "object",
    "fonttbl",
    "colortbl",
    "stylesheet",
    "info",
    "pict",
    "listtable",
    "listoverridetable",
    "fldinst",
    "objclass",
    "objdata",
    "datastore",
    "themedata",
    "xmlnstbl",
    "rsidtbl",
    "latentstyles",
    "generator",
];

/// The displayed text of an RTF file, read independently of the plugin,
/// and whether it is well-formed (braces balanced, nothing after the last).
fn visible_text(rtf: &[u8]) -> Option<(String, bool)> {
    let mut text = String::new();
    // Per open group: hidden, and whether a token has been seen yet.
    let mut stack: Vec<(bool, bool)> = Vec::new();
    let mut skip_fallback = 0;
    let mut i = 0;
    while i < rtf.len() {
        let hidden = stack.last().is_some_and(|g| g.0);
        let c = rtf[i];
        match c {
            b'{' => {
                let rest = rtf[i + 1..].trim_ascii_start();
                let result = rest.starts_with(b"\\result") && !rest.get(7).is_some_and(u8::is_ascii_alphabetic);
                stack.push((hidden && !result, false));
                i += 1;
                continue;
            }
            b'}' => {
                stack.pop()?;
                i += 1;
                if stack.is_empty() {
                    break;
                }
                continue;
            }
            _ => {}
        }
        let first = stack.last().is_some_and(|g| !g.1);
        if let Some(group) = stack.last_mut() {
            group.1 = true;
        }
        let mut emit = |s: &str, text: &mut String| {
            if !hidden {
                if skip_fallback > 0 {
                    skip_fallback -= 1;
                } else {
                    text.push_str(s);
                }
            }
        };
        if c != b'\\' {
            if !b"\r\n".contains(&c) {
                emit(&char::from(c).to_string(), &mut text);
            }
            i += 1;
            continue;
        }
        let next = *rtf.get(i + 1)?;
        if !next.is_ascii_alphabetic() {
            match next {
                b'*' if first => stack.last_mut()?.0 = true,
                b'\'' => {
                    let byte = u8::from_str_radix(std::str::from_utf8(rtf.get(i + 2..i + 4)?).ok()?, 16).ok()?;
                    emit(&char::from(byte).to_string(), &mut text);
                    i += 2;
                }
                b'\\' | b'{' | b'}' => emit(&char::from(next).to_string(), &mut text),
                b'~' => emit(" ", &mut text),
                _ => {}
            }
            i += 2;
            continue;
        }
        let name_end = i + 1 + rtf[i + 1..].iter().take_while(|b| b.is_ascii_alphabetic()).count();
        let name = std::str::from_utf8(&rtf[i + 1..name_end]).unwrap().to_owned();
        let mut end = name_end;
        if rtf.get(end) == Some(&b'-') && rtf.get(end + 1).is_some_and(u8::is_ascii_digit) {
            end += 1;
        }
        end += rtf[end..].iter().take_while(|b| b.is_ascii_digit()).count();
        let param: i64 = std::str::from_utf8(&rtf[name_end..end]).unwrap().parse().unwrap_or(0);
        if rtf.get(end) == Some(&b' ') {
            end += 1;
        }
        i = end;
        match name.as_str() {
            "bin" => i += param as usize,
            "par" | "line" => emit("\n", &mut text),
            "tab" => emit("\t", &mut text),
            "u" => {
                emit(&char::from_u32(param.rem_euclid(65536) as u32).unwrap_or('?').to_string(), &mut text);
                skip_fallback = 1;
            }
            name if HIDDEN.contains(&name) => stack.last_mut()?.0 = true,
            _ => {}
        }
    }
    let well_formed = stack.is_empty() && rtf[i.min(rtf.len())..].iter().all(u8::is_ascii_whitespace);
    Some((text, well_formed))
}

#[test]
fn every_corpus_file_is_rebuilt_or_refused_precisely() {
    let Some(corpus) = sekisho_testkit::corpus!() else { return };
    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("rtf-strict");
    std::fs::create_dir_all(&out_dir).unwrap();
    let mut rebuilt = 0;
    for path in corpus_files(&corpus) {
        let label = path.file_name().unwrap().to_string_lossy().into_owned();
        let data = std::fs::read(&path).unwrap();
        match run(&data, &strict()) {
            Ok((out, findings)) => {
                rebuilt += 1;
                for word in [&b"\\object"[..], b"\\objdata", b"\\objupdate", b"\\info", b"\\datastore", b"HYPERLINK"] {
                    assert!(!contains(&out, word), "{label}: {} survived", String::from_utf8_lossy(word));
                }
                let (before, _) = visible_text(&data).unwrap();
                let (after, well_formed) = visible_text(&out).unwrap();
                assert!(well_formed, "{label}: the output is not well-formed");
                assert_eq!(before, after, "{label}: the text changed");
                assert!(
                    findings.iter().all(|f| f.disposition != Disposition::Kept && f.count >= 1),
                    "{label}: {findings:#?}"
                );
                std::fs::write(out_dir.join(&label), &out).unwrap();
            }
            Err(failure) => {
                assert_eq!(label, "oletools__issue_185.rtf", "{label}: refused: {}", failure.detail);
                assert_eq!(failure.kind, FailureKind::InvalidStructure);
                assert!(failure.detail.contains("{\\rtf"), "{}", failure.detail);
            }
        }
    }
    assert_eq!(rebuilt, 8);
}

#[test]
fn rebuilding_is_idempotent_and_deterministic() {
    let Some(corpus) = sekisho_testkit::corpus!() else { return };
    for path in corpus_files(&corpus) {
        let label = path.file_name().unwrap().to_string_lossy().into_owned();
        let data = std::fs::read(&path).unwrap();
        let Ok((first, _)) = run(&data, &strict()) else { continue };
        let (again, _) = run(&data, &strict()).unwrap();
        assert_eq!(first, again, "{label}: not deterministic");
        let (second, findings) = run(&first, &strict()).unwrap();
        assert!(findings.is_empty(), "{label}: second pass found {findings:#?}");
        assert!(first == second, "{label}: not idempotent");
    }
}

#[test]
fn allowing_everything_keeps_every_byte() {
    let Some(corpus) = sekisho_testkit::corpus!() else { return };
    let mut allow = Policy::uniform(Action::Allow);
    allow.hyperlink_mode = HyperlinkMode::Remove;
    for path in corpus_files(&corpus) {
        let label = path.file_name().unwrap().to_string_lossy().into_owned();
        let data = std::fs::read(&path).unwrap();
        let Ok((out, findings)) = run(&data, &allow) else { continue };
        // Groups left open at the end of the file are closed in any case.
        let closed = out.strip_prefix(data.as_slice()).is_some_and(|rest| rest.iter().all(|&b| b == b'}'));
        assert!(closed, "{label}: changed although everything is allowed");
        assert!(findings.iter().all(|f| f.disposition == Disposition::Kept), "{label}: {findings:#?}");
    }
}

/// An OLE1 embedded object (`\objdata`) of `class` holding `data`, as hex.
fn ole1_hex(class: &str, data: &[u8]) -> String {
    let mut ole = vec![1, 5, 0, 0, 2, 0, 0, 0];
    for field in [format!("{class}\0").as_bytes(), b"", b"", data] {
        ole.extend((field.len() as u32).to_le_bytes());
        ole.extend(field);
    }
    // Word writes the hex in lines of 128 characters.
    let hex: String = ole.iter().map(|b| format!("{b:02x}")).collect();
    hex.as_bytes().chunks(128).map(|l| String::from_utf8_lossy(l).into_owned()).collect::<Vec<_>>().join("\r\n")
}

/// A document with three objects, each with its `\result` picture: a Word
/// 97 document, a packaged `calc.exe` that updates itself, an Equation
/// Editor object.
fn rtf_with_objects() -> Vec<u8> {
    let document = sekisho_testkit::office::word97("Embedded document text\r", Default::default());
    let package = b"\x02\0calc.exe\0C:\\calc.exe\0\0\0\0\0MZ";
    let objects = [
        ("\\objemb", "Word.Document.8", ole1_hex("Word.Document.8", &document), "0100"),
        ("\\objemb\\objupdate", "Package", ole1_hex("Package", package), "0200"),
        ("\\objemb", "Equation.3", ole1_hex("Equation.3", b"\x1c\0\0\0 equation data"), "0300"),
    ];
    let mut rtf = String::from("{\\rtf1\\ansi Before the objects.\\par ");
    for (words, class, hex, picture) in objects {
        rtf.push_str(&format!(
            "{{\\object{words}{{\\*\\objclass {class}}}{{\\*\\objdata\r\n{hex}\r\n}}{{\\result {{\\pict\\wmetafile8 {picture}}}}}}}\\par "
        ));
    }
    rtf.push_str("After the objects.\\par}");
    rtf.into_bytes()
}

#[test]
fn generated_embedded_objects_go_and_their_pictures_stay() {
    let data = rtf_with_objects();
    let mut host = Host::default();
    let (out, findings) = run_with(&data, &strict(), &mut host).unwrap();
    let objects: Vec<&Finding> = findings.iter().filter(|f| f.location.starts_with("object ")).collect();
    assert_eq!(objects.len(), 3, "{findings:#?}");
    assert!(objects.iter().all(|f| f.disposition == Disposition::Removed));
    assert_eq!(host.seen, ["object1.doc"], "the document went through the host");
    assert!(objects[0].detail.ends_with("removed (rebuilt copy not re-embedded)"), "{}", objects[0].detail);
    assert_eq!(objects[0].class, ContentClass::EmbeddedFiles);
    assert!(objects[1].detail.starts_with("OLE package holding \"calc.exe\""), "{}", objects[1].detail);
    assert!(objects[1].detail.contains("\\objupdate"), "{}", objects[1].detail);
    assert!(objects[2].detail.starts_with("Equation Editor object \"Equation.3\""), "{}", objects[2].detail);
    assert!(objects[1..].iter().all(|f| f.class == ContentClass::ActiveObjects));
    // The `\result` pictures are what Word shows for the objects: they stay.
    assert_eq!(occurrences(&out, b"\\pict"), 3);
    assert!(!contains(&out, b"objdata") && !contains(&out, b"\\object"));
    assert!(contains(&out, b"Before the objects.") && contains(&out, b"After the objects."));

    let (_, refused) = run_with(&data, &strict(), &mut RefuseAll).unwrap();
    assert!(refused.iter().any(|f| f.class == ContentClass::EmbeddedFiles && f.detail.contains("no plugin")));
    let mut blocking = Host { block: true, ..Host::default() };
    let failure = run_with(&data, &strict(), &mut blocking).unwrap_err();
    assert_eq!(failure.kind, FailureKind::Blocked(ContentClass::EmbeddedFiles));
    let failure = run(&data, &strict().with(ContentClass::ActiveObjects, Action::Block)).unwrap_err();
    assert_eq!(failure.kind, FailureKind::Blocked(ContentClass::ActiveObjects));

    let allow =
        strict().with(ContentClass::ActiveObjects, Action::Allow).with(ContentClass::EmbeddedFiles, Action::Allow);
    let (kept, findings) = run(&data, &allow).unwrap();
    assert_eq!(occurrences(&kept, b"\\objdata"), 3);
    assert_eq!(findings.iter().filter(|f| f.disposition == Disposition::Kept).count(), 3);
}

#[test]
fn embedded_objects_go_and_their_pictures_stay() {
    let Some(corpus) = sekisho_testkit::corpus!() else { return };
    let data = corpus.read("rtf", "tika__testRTFEmbeddedFiles.rtf");
    let mut host = Host::default();
    let (out, findings) = run_with(&data, &strict(), &mut host).unwrap();
    let objects: Vec<&Finding> = findings.iter().filter(|f| f.location.starts_with("object ")).collect();
    assert_eq!(objects.len(), 14, "{findings:#?}");
    assert!(objects.iter().all(|f| f.disposition == Disposition::Removed));
    let packages: Vec<&str> = objects.iter().filter_map(|f| f.detail.strip_prefix("OLE package holding ")).collect();
    assert_eq!(packages.len(), 5, "{objects:#?}");
    assert!(packages.contains(&"\"test-zip-of-zip_????.zip\""), "{packages:?}");
    assert!(objects.iter().all(|f| f.class == ContentClass::ActiveObjects || f.class == ContentClass::EmbeddedFiles));
    let documents = count(&findings, ContentClass::EmbeddedFiles, Disposition::Removed);
    assert_eq!(documents, host.seen.len());
    assert!(host.seen.contains(&"object1.doc".to_owned()), "{:?}", host.seen);
    assert!(host.seen.iter().any(|n| n.ends_with(".xls")) && host.seen.iter().any(|n| n.ends_with(".ppt")));
    assert!(objects.iter().any(|f| f.detail.ends_with("removed (rebuilt copy not re-embedded)")));
    // The `\result` pictures are what Word shows for the objects: they stay.
    assert_eq!(occurrences(&out, b"\\pict"), occurrences(&data, b"\\pict"));
    assert_eq!(count(&findings, ContentClass::UnknownParts, Disposition::Removed), 1, "the data store goes");

    let (_, refused) = run_with(&data, &strict(), &mut RefuseAll).unwrap();
    assert!(refused.iter().any(|f| f.class == ContentClass::EmbeddedFiles && f.detail.contains("no plugin")));
    let mut blocking = Host { block: true, ..Host::default() };
    let failure = run_with(&data, &strict(), &mut blocking).unwrap_err();
    assert_eq!(failure.kind, FailureKind::Blocked(ContentClass::EmbeddedFiles));
    let failure = run(&data, &strict().with(ContentClass::ActiveObjects, Action::Block)).unwrap_err();
    assert_eq!(failure.kind, FailureKind::Blocked(ContentClass::ActiveObjects));

    let allow =
        strict().with(ContentClass::ActiveObjects, Action::Allow).with(ContentClass::EmbeddedFiles, Action::Allow);
    let (kept, findings) = run(&data, &allow).unwrap();
    assert_eq!(occurrences(&kept, b"\\objdata"), 14);
    assert_eq!(findings.iter().filter(|f| f.disposition == Disposition::Kept).count(), 14);
}

#[test]
fn an_obfuscated_equation_editor_object_is_removed() {
    let Some(corpus) = sekisho_testkit::corpus!() else { return };
    let data = corpus.read("rtf", "oletools__issue_251.rtf");
    let (out, findings) = run(&data, &strict()).unwrap();
    let object = findings.iter().find(|f| f.location.starts_with("object 1")).unwrap();
    assert_eq!((object.class, object.disposition), (ContentClass::ActiveObjects, Disposition::Removed));
    assert!(object.detail.starts_with("Equation Editor object \"equation.3\""), "{}", object.detail);
    assert!(object.detail.contains("obfuscated"), "{}", object.detail);
    assert!(object.detail.contains("\\objupdate"), "{}", object.detail);
    assert!(!contains(&out, b"objdata") && !contains(&out, b"\\bin") && !contains(&out, b"D0CF11E0"));
    assert!(contains(&out, b"{\\pict{\\*\\picprop}\\wmetafile4"), "the fallback picture stays");
    assert!(contains(&out, b"DOCUMENT IS PROTECTED"));
    assert_eq!(count(&findings, ContentClass::Metadata, Disposition::Removed), 1, "\\*\\generator: {findings:#?}");
}

#[test]
fn handmade_obfuscated_objdata_is_recognized() {
    // OLE1 header of an embedded "Package" holding calc.exe, with whitespace,
    // an ignorable group, a control word and a `\'hh` (after a half byte that
    // Word drops) inside the hex.
    let mut ole = vec![1, 5, 0, 0, 2, 0, 0, 0];
    let native = b"\x02\0calc.exe\0C:\\calc.exe\0\0\0\0\0MZ";
    for field in [&b"Package\0"[..], b"", b"", native] {
        ole.extend((field.len() as u32).to_le_bytes());
        ole.extend(field);
    }
    let hex: String = ole.iter().map(|b| format!("{b:02X}")).collect();
    let (a, rest) = hex.split_at(6);
    let (b, c) = rest.split_at(20);
    let rtf = format!(
        "{{\\rtf1 Before {{\\object\\objemb\\objupdate{{\\*\\objclass Package}}{{\\*\\objdata {a}\r\n  {{\\*\\foo 4142}}{b}\\par 7\\'0f{c}}}\
         {{\\result {{\\pict\\wmetafile8 0100}}}}}} after\\par}}"
    );
    let (out, findings) = run(rtf.as_bytes(), &strict()).unwrap();
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0].class, ContentClass::ActiveObjects);
    assert!(findings[0].detail.starts_with("OLE package holding \"calc.exe\""), "{}", findings[0].detail);
    assert!(findings[0].detail.contains("obfuscated"));
    assert_eq!(out, b"{\\rtf1 Before {{\\pict\\wmetafile8 0100}} after\\par}");
}

#[test]
fn fields_are_classified_and_neutralized_to_their_text() {
    let rtf = br#"{\rtf1 {\field{\*\fldinst {\rtlch DDE}AUTO c:\\windows\\system32\\cmd.exe "/k calc.exe"}{\fldrslt shown}} {\field{\*\fldinst INCLUDEPICTURE "http://evil.example/x.png" \\d}{\fldrslt {\pict\pngblip 89}}} {\field\fldlock{\*\fldinst { PAGE }}{\fldrslt 3}} {\field{\*\fldinst {\field{\*\fldinst QUOTE 68 68 69}{\fldrslt DDE}} cmd}{\fldrslt x}}}"#;
    let (out, findings) = run(rtf, &strict()).unwrap();
    assert_eq!(count(&findings, ContentClass::Dde, Disposition::Neutralized), 2, "{findings:#?}");
    assert_eq!(count(&findings, ContentClass::ExternalLinks, Disposition::Neutralized), 1);
    assert_eq!(findings.len(), 3);
    assert!(findings[0].detail.starts_with("DDEAUTO field \"DDEAUTO c:"), "{}", findings[0].detail);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        r#"{\rtf1 {shown} {{\pict\pngblip 89}} {\field\fldlock{\*\fldinst { PAGE }}{\fldrslt 3}} {x}}"#
    );
    let failure = run(rtf, &strict().with(ContentClass::Dde, Action::Block)).unwrap_err();
    assert_eq!(failure.kind, FailureKind::Blocked(ContentClass::Dde));
    let (kept, _) =
        run(rtf, &strict().with(ContentClass::Dde, Action::Allow).with(ContentClass::ExternalLinks, Action::Allow))
            .unwrap();
    assert_eq!(kept, rtf);
}

/// A HYPERLINK field to http://hipsum.co: neutralized to its text under
/// keep-as-text and remove, kept (and not reported) under keep, kept and
/// reported when allowed.
fn assert_hyperlink_modes(label: &str, data: &[u8]) {
    for mode in [HyperlinkMode::KeepAsText, HyperlinkMode::Remove] {
        let mut policy = strict();
        policy.hyperlink_mode = mode;
        let (out, findings) = run(data, &policy).unwrap();
        let link = findings.iter().find(|f| f.class == ContentClass::Hyperlinks).unwrap_or_else(|| panic!("{label}"));
        assert_eq!(link.disposition, Disposition::Neutralized);
        assert_eq!(link.detail, "HYPERLINK field \"HYPERLINK \\\"http://hipsum.co\\\"\"");
        assert!(!contains(&out, b"HYPERLINK") && contains(&out, b"http://hipsum.co}"), "the link text stays");
    }
    let keep = Policy::uniform(Action::Sanitize);
    let (out, findings) = run(data, &keep).unwrap();
    assert!(contains(&out, b"HYPERLINK \"http://hipsum.co\""));
    assert!(!findings.iter().any(|f| f.class == ContentClass::Hyperlinks));
    let (out, findings) = run(data, &strict().with(ContentClass::Hyperlinks, Action::Allow)).unwrap();
    assert!(contains(&out, b"HYPERLINK \"http://hipsum.co\""));
    assert_eq!(count(&findings, ContentClass::Hyperlinks, Disposition::Kept), 1);
}

#[test]
fn hyperlinks_follow_the_policy_and_its_mode() {
    let rtf = br#"{\rtf1\ansi Visit {\field{\*\fldinst {HYPERLINK "http://hipsum.co"}}{\fldrslt {\ul http://hipsum.co}}} today. {\field{\*\fldinst { PAGEREF "target" }}{\fldrslt 42}}\par}"#;
    assert_hyperlink_modes("generated", rtf);
    // Only the link goes: the page reference beside it is no link.
    let (out, findings) = run(rtf, &strict()).unwrap();
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert!(contains(&out, br#"{\field{\*\fldinst { PAGEREF "target" }}{\fldrslt 42}}"#));
}

#[test]
fn hyperlinks_in_the_corpus_follow_the_policy_and_its_mode() {
    let Some(corpus) = sekisho_testkit::corpus!() else { return };
    let read = |name: &str| corpus.read("rtf", name);
    assert_hyperlink_modes("textract__raw_text.rtf", &read("textract__raw_text.rtf"));
    let nested = read("tika__testRTF_nestedHyperlinkPageRef.rtf");
    let (out, findings) = run(&nested, &strict()).unwrap();
    assert_eq!(findings.len(), 1, "{findings:#?}");
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains(r#"{\field {\*\fldinst { PAGEREF "target" } }{\fldrslt 42}}"#), "{out}");
    let outlook = read("tika__testRTFHyperlink.rtf");
    let (_, findings) = run(&outlook, &strict()).unwrap();
    assert_eq!(count(&findings, ContentClass::Hyperlinks, Disposition::Neutralized), 14, "{findings:#?}");
}

/// The author in `\info` goes; it stays, reported, when metadata is allowed.
fn assert_author_removed(data: &[u8]) {
    let (out, findings) = run(data, &strict()).unwrap();
    assert!(!contains(&out, b"Nicole Mendez"));
    assert_eq!(count(&findings, ContentClass::Metadata, Disposition::Removed), 1);
    let (out, findings) = run(data, &strict().with(ContentClass::Metadata, Action::Allow)).unwrap();
    assert!(contains(&out, b"{\\author Nicole Mendez}"));
    assert_eq!(count(&findings, ContentClass::Metadata, Disposition::Kept), 1);
}

#[test]
fn metadata_in_the_corpus_goes() {
    let Some(corpus) = sekisho_testkit::corpus!() else { return };
    assert_author_removed(&corpus.read("rtf", "tika__testBinControlWord.rtf"));
}

#[test]
fn metadata_templates_and_data_stores() {
    assert_author_removed(br"{\rtf1\ansi{\info{\author Nicole Mendez}{\title A title}}Some text.\par}");
    let rtf =
        b"{\\rtf1{\\*\\template http://evil.example/t.dotm}{\\*\\datastore 0105}{\\*\\userprops {\\propname x}}Text}";
    let (out, findings) = run(rtf, &strict()).unwrap();
    assert_eq!(out, b"{\\rtf1Text}");
    let template = findings.iter().find(|f| f.class == ContentClass::ExternalLinks).unwrap();
    assert_eq!(template.detail, "attached template \"http://evil.example/t.dotm\"");
    assert_eq!(count(&findings, ContentClass::UnknownParts, Disposition::Removed), 1);
    assert_eq!(count(&findings, ContentClass::Metadata, Disposition::Removed), 1);
}

/// Stack for the deepest documents: the wasm stack is 1 MiB.
const STACK: usize = 512 << 10;

#[test]
fn hostile_structure_fails_or_is_repaired() {
    let invalid = |data: &[u8]| {
        let failure = run(data, &strict()).unwrap_err();
        assert_eq!(failure.kind, FailureKind::InvalidStructure, "{}", failure.detail);
        failure.detail
    };
    assert!(invalid(b"{\\rtf1 \\bin4294967296 }").contains("past the end"));
    assert!(invalid(b"{\\rtf1 \\bin999999999999999999999999999999 }").contains("past the end"));
    assert!(invalid(b"PK\x03\x04 not rtf").contains("{\\rtf"));
    invalid(b"");
    invalid(b"{\\rt{\\object\\objautlink}}");
    invalid(b"{\\rtf1 \\object\\objemb{\\*\\objdata 0105}}");
    // Found by fuzzing: a result inside the instruction group.
    for misplaced in [
        &b"{\\rtf1 {\\field{\\*\\fldinst HYPERLINK \"x\" \\fldrslt text}}}"[..],
        b"{\\rtf1 {\\field{\\fldrslt x}{\\*\\fldinst DDEAUTO calc}}}",
        b"{\\rtf1 {\\field{\\*\\fldinst PAGE}{\\*\\fldinst DDEAUTO calc}}}",
        b"{\\rtf1 {\\field\\fldinst DDEAUTO calc}}",
        b"{\\rtf1 {\\field{{\\*\\fldinst DDEAUTO calc}}}}",
        b"{\\rtf1 {\\field{\\*\\fldinst PAGE}{\\fldrslt {\\*\\fldinst DDEAUTO calc}}}}",
    ] {
        assert!(invalid(misplaced).contains("misplaced instruction"));
    }
    let deep = [&b"{\\rtf1 "[..], &b"{".repeat(1000), &b"}".repeat(1000), b"}"].concat();
    assert!(invalid(&deep).contains("deeper"));

    // 1000 levels deep is accepted, within a small stack.
    for deepest in [
        [&b"{\\rtf1 "[..], &b"{\\b ".repeat(999), &b"}".repeat(999), b"}"].concat(),
        [&b"{\\rtf1 "[..], &b"{\\field{\\*\\fldinst PAGE ".repeat(499), &b"}}".repeat(499), b"}"].concat(),
    ] {
        let handle = std::thread::Builder::new()
            .stack_size(STACK)
            .spawn(move || run(&deepest, &strict()).map(|(out, findings)| out == deepest && findings.is_empty()))
            .unwrap();
        assert!(handle.join().unwrap().unwrap());
    }

    let (out, findings) = run(b"{\\rtf1 {\\b bold text", &strict()).unwrap();
    assert_eq!(out, b"{\\rtf1 {\\b bold text}}");
    assert_eq!(count(&findings, ContentClass::MalformedStructure, Disposition::Neutralized), 1);
    assert_eq!(findings[0].detail, "2 groups not closed at the end of the file: closed");
    let (out, _) = run(b"{\\rtf1 x\\", &strict()).unwrap();
    assert_eq!(out, b"{\\rtf1 x}");

    for polyglot in [&b"{\\rtf1 text}}\\par more}"[..], b"{\\rtf1 text}\r\nPK\x03\x04zip", b"{\\rtf1 text}\0\0"] {
        let (out, findings) = run(polyglot, &strict()).unwrap();
        assert_eq!(out, b"{\\rtf1 text}");
        assert_eq!(count(&findings, ContentClass::MalformedStructure, Disposition::Removed), 1, "{findings:#?}");
    }
    let (out, findings) = run(b"{\\rtf1 text}\r\n", &strict()).unwrap();
    assert_eq!((out.as_slice(), findings.len()), (&b"{\\rtf1 text}\r\n"[..], 0));

    // A `\bin` run is never read as RTF: braces inside it are data.
    let (out, _) = run(b"{\\rtf1 {\\pict\\bin4 }}{{}{\\info x}}", &strict()).unwrap();
    assert_eq!(out, b"{\\rtf1 {\\pict\\bin4 }}{{}}");
}

/// `text` as `\'hh` escapes of its Shift_JIS bytes.
fn sjis_escapes(text: &str) -> String {
    let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(text);
    assert!(!unmappable);
    bytes
        .iter()
        .map(|b| if b.is_ascii_alphanumeric() { char::from(*b).to_string() } else { format!("\\'{b:02x}") })
        .collect()
}

fn texts(rtf: &[u8]) -> Vec<(String, String)> {
    let mut host = sekisho_plugin_sdk::CollectText::default();
    sekisho_rtf::sanitize(Cursor::new(rtf), &mut Vec::new(), &strict(), &mut host)
        .unwrap_or_else(|f| panic!("{}", f.detail));
    host.texts
}

#[test]
fn text_channel_gives_paragraphs_decoded_without_destinations_or_removed_content() {
    let package = b"\x02\0calc.exe\0C:\\calc 999988887777.exe\0\0\0\0\0MZ";
    let rtf = format!(
        concat!(
            "{{\\rtf1\\ansi\\ansicpg932\\deff0{{\\fonttbl{{\\f0\\fnil\\fcharset128 MS Mincho;}}{{\\f1\\fswiss\\fcharset0 Arial;}}}}",
            "{{\\colortbl;\\red255\\green0\\blue0;}}{{\\info{{\\author 111122223333}}}}{{\\*\\generator Sekisho;}}\r\n",
            "\\pard {}\\par\r\n",
            "\\pard\\uc1\\u26481?\\u20140?\\u37117?\\u21315?\\u20195?\\u30000?\\u21306?\\par\r\n",
            "{{\\field{{\\*\\fldinst DDEAUTO c:\\\\windows\\\\system32\\\\cmd.exe \"/k calc\"}}{{\\fldrslt {}}}}}\\par\r\n",
            "\\pard\\plain\\f1 mail\\tab taro@example.jp\\line 123456789012\\par\\pard\\par\r\n",
            "{{\\*\\annotation {{\\*\\atnauthor x}}444455556666}}\\trowd\\cellx1000\\cellx2000\\pard\\intbl A\\cell B\\cell\\row\r\n",
            "{{\\object\\objemb{{\\*\\objclass Package}}{{\\*\\objdata\r\n{}\r\n}}{{\\result {{\\pict\\wmetafile8 0100}}}}}}after\\par}}",
        ),
        sjis_escapes("氏名：山田太郎"),
        sjis_escapes("結果"),
        ole1_hex("Package", package),
    );
    assert_eq!(
        texts(rtf.as_bytes()),
        pairs(&[
            ("paragraph 1", "氏名：山田太郎"),
            ("paragraph 2", "東京都千代田区"),
            ("paragraph 3", "結果"),
            ("paragraph 4", "mail\ttaro@example.jp\n123456789012"),
            ("paragraph 6", "A\tB"),
            ("paragraph 7", "after"),
        ])
    );
    // A Western document whose Japanese font says Shift_JIS.
    let western = format!(
        "{{\\rtf1\\ansi\\ansicpg1252\\deff0{{\\fonttbl{{\\f0 Times;}}{{\\f2\\fcharset128 MS Gothic;}}}}caf\\'e9 {{\\f2 {}}}\\par}}",
        sjis_escapes("東京都")
    );
    assert_eq!(texts(western.as_bytes()), pairs(&[("paragraph 1", "café 東京都")]));
}
