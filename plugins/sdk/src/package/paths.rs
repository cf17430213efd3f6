//! Member names that cannot escape the folder they are extracted into.

/// A member name rewritten to a safe relative path.
#[derive(Debug, PartialEq, Eq)]
pub struct SafeName {
    /// Relative path with `/` separators, no `.`/`..`, no drive or root;
    /// directories end with `/`.
    pub path: String,
    /// What was wrong with the original, empty when it was already safe.
    pub problems: Vec<&'static str>,
}

/// Rewrites `name` so that extracting it stays inside the target folder.
/// `None` when nothing of the name is left (e.g. `../..`).
pub fn safe_name(name: &str, is_dir: bool) -> Option<SafeName> {
    let mut problems = Vec::new();
    let mut rest = name;
    if rest.contains('\\') {
        problems.push("backslash separators");
    }
    let unified = rest.replace('\\', "/");
    rest = &unified;
    let bytes = rest.as_bytes();
    if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        problems.push("drive letter");
        rest = &rest[2..];
    }
    if rest.starts_with('/') {
        problems.push("absolute path");
    }
    let mut parts = Vec::new();
    for part in rest.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if !problems.contains(&"path traversal ('..')") {
                    problems.push("path traversal ('..')");
                }
            }
            _ => {
                if part.chars().any(char::is_control) {
                    if !problems.contains(&"control characters") {
                        problems.push("control characters");
                    }
                    parts.push(part.chars().map(|c| if c.is_control() { '_' } else { c }).collect());
                } else {
                    parts.push(part.to_owned());
                }
            }
        }
    }
    if parts.is_empty() {
        return None;
    }
    let mut path = parts.join("/");
    if is_dir {
        path.push('/');
    }
    Some(SafeName { path, problems })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(name: &str) -> Option<String> {
        safe_name(name, false).map(|s| s.path)
    }

    #[test]
    fn traversal_absolute_and_drive_letters_are_rewritten() {
        assert_eq!(path("../../etc/passwd").as_deref(), Some("etc/passwd"));
        assert_eq!(path("/etc/passwd").as_deref(), Some("etc/passwd"));
        assert_eq!(path("C:\\Windows\\win.ini").as_deref(), Some("Windows/win.ini"));
        assert_eq!(path("a/./b/../c").as_deref(), Some("a/b/c"));
        assert_eq!(path("../.."), None);
        assert_eq!(safe_name("dir/", true).unwrap().path, "dir/");
        assert!(safe_name("docs/readme.txt", false).unwrap().problems.is_empty());
        assert_eq!(safe_name("../x", false).unwrap().problems, vec!["path traversal ('..')"]);
    }
}
