//! Names that an operating system or a script host runs when a person
//! double-clicks them: the `executables` content class. Data in one place.
//!
//! Sources:
//! - Microsoft, "Blocked attachments in Outlook" (the Level 1 list of file
//!   types Outlook blocks by default; support.microsoft.com);
//! - Linux and macOS launchers: freedesktop `.desktop` entries, macOS
//!   `.command` and `.app`, shell scripts, AppImages;
//! - Windows shortcut and connector files that fetch or run something when
//!   a folder is merely browsed or the file opened (`.url`, `.scf`,
//!   `.library-ms`, `.searchConnector-ms`, `.settingcontent-ms`), and disk
//!   images that Windows mounts on a double-click (`.iso`, `.img`, `.vhd`,
//!   `.vhdx`), a favourite way round the Mark of the Web.

/// Lowercase extensions, sorted (a test keeps them sorted and unique).
pub const EXTENSIONS: &[&str] = &[
    "ade",
    "adp",
    "app",
    "appcontent-ms",
    "appimage",
    "application",
    "appref-ms",
    "appx",
    "appxbundle",
    "asp",
    "aspx",
    "asx",
    "bas",
    "bash",
    "bat",
    "bgi",
    "cab",
    "cer",
    "chm",
    "cmd",
    "cnt",
    "com",
    "command",
    "cpl",
    "crt",
    "csh",
    "der",
    "desktop",
    "diagcab",
    "exe",
    "fxp",
    "gadget",
    "grp",
    "hlp",
    "hpj",
    "hta",
    "htc",
    "img",
    "inf",
    "ins",
    "iso",
    "isp",
    "its",
    "jar",
    "jnlp",
    "js",
    "jse",
    "ksh",
    "library-ms",
    "lnk",
    "mad",
    "maf",
    "mag",
    "mam",
    "maq",
    "mar",
    "mas",
    "mat",
    "mau",
    "mav",
    "maw",
    "mcf",
    "mda",
    "mdb",
    "mde",
    "mdt",
    "mdw",
    "mdz",
    "msc",
    "msh",
    "msh1",
    "msh1xml",
    "msh2",
    "msh2xml",
    "mshxml",
    "msi",
    "msix",
    "msixbundle",
    "msp",
    "mst",
    "msu",
    "ops",
    "osd",
    "pcd",
    "pif",
    "pl",
    "plg",
    "prf",
    "prg",
    "printerexport",
    "ps1",
    "ps1xml",
    "ps2",
    "ps2xml",
    "psc1",
    "psc2",
    "psd1",
    "psdm1",
    "psm1",
    "pst",
    "py",
    "pyc",
    "pyo",
    "pyw",
    "pyz",
    "pyzw",
    "reg",
    "run",
    "scf",
    "scr",
    "sct",
    "searchconnector-ms",
    "settingcontent-ms",
    "sh",
    "shb",
    "shs",
    "theme",
    "tmp",
    "udl",
    "url",
    "vb",
    "vbe",
    "vbp",
    "vbs",
    "vhd",
    "vhdx",
    "vsmacros",
    "vsw",
    "webpnp",
    "website",
    "ws",
    "wsb",
    "wsc",
    "wsf",
    "wsh",
    "xbap",
    "xll",
    "xnk",
    "zsh",
];

/// True when Windows, a desktop or a script host would run a file with
/// this (lowercase) extension.
pub fn is_runnable_extension(extension: &str) -> bool {
    EXTENSIONS.binary_search(&extension).is_ok()
}

/// What the content says about a program or a disk image, which stays
/// unsupported but is named in the report: signatures in `head` (the first
/// bytes), and the ISO 9660 volume descriptor read from `source` further on.
pub fn binary_program(head: &[u8], source: &crate::source::Source) -> Option<&'static str> {
    let at = |offset: usize, signature: &[u8]| match head.get(offset..offset + signature.len()) {
        Some(bytes) => bytes == signature,
        None => source.read_at(offset as u64, signature.len()).is_ok_and(|bytes| bytes == signature),
    };
    Some(match () {
        _ if at(0, b"MZ") => "a Windows program (PE/MZ)",
        _ if at(0, b"\x7fELF") => "a Linux program (ELF)",
        _ if at(0, &[0xCF, 0xFA, 0xED, 0xFE])
            || at(0, &[0xCE, 0xFA, 0xED, 0xFE])
            || at(0, &[0xFE, 0xED, 0xFA, 0xCF])
            || at(0, &[0xFE, 0xED, 0xFA, 0xCE]) =>
        {
            "a macOS program (Mach-O)"
        }
        _ if at(0, &[0xCA, 0xFE, 0xBA, 0xBE]) && head.get(4..8).is_some_and(|n| n[0] == 0 && n[1] == 0) => {
            "a macOS universal program (Mach-O)"
        }
        _ if at(0, &[0x4C, 0, 0, 0, 0x01, 0x14, 0x02, 0]) => "a Windows shortcut (.lnk)",
        _ if at(0, b"conectix") => "a virtual disk (VHD)",
        _ if at(0, b"vhdxfile") => "a virtual disk (VHDX)",
        _ if at(0x8001, b"CD001") || at(0x8801, b"CD001") || at(0x9001, b"CD001") => "a disk image (ISO 9660)",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_sorted_unique_and_lowercase() {
        assert!(EXTENSIONS.windows(2).all(|w| w[0] < w[1]), "keep EXTENSIONS sorted and unique");
        assert!(EXTENSIONS.iter().all(|e| !e.is_empty() && *e == e.to_ascii_lowercase()));
        for runnable in ["js", "vbs", "hta", "bat", "cmd", "ps1", "wsf", "url", "scf", "library-ms", "desktop", "sh"] {
            assert!(is_runnable_extension(runnable), "{runnable}");
        }
        for document in ["txt", "csv", "pdf", "docx", "html", "svg", "zip", "eml"] {
            assert!(!is_runnable_extension(document), "{document}");
        }
    }

    #[test]
    fn programs_are_named_by_their_content() {
        let program = |bytes: &[u8]| {
            let source = crate::source::Source::bytes(bytes.to_vec());
            binary_program(&bytes[..bytes.len().min(8192)], &source)
        };
        assert_eq!(program(b"MZ\x90\0"), Some("a Windows program (PE/MZ)"));
        assert_eq!(program(b"\x7fELF\x02"), Some("a Linux program (ELF)"));
        let mut iso = vec![0u8; 0x8010];
        iso[0x8001..0x8006].copy_from_slice(b"CD001");
        assert_eq!(program(&iso), Some("a disk image (ISO 9660)"));
        assert_eq!(program(b"%PDF-1.7"), None);
    }
}
