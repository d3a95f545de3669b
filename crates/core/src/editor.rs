//! Links from a `file:line` the toolbar shows to the developer's editor.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::ConfigError;

/// How a source location becomes a link that opens the developer's editor: a URL template with
/// `{file}` (the absolute path, percent-encoded) and `{line}`, and the directory relative paths
/// are resolved against.
#[derive(Clone, PartialEq, Eq)]
pub struct Editor {
    template: String,
    root: PathBuf,
}

impl fmt::Debug for Editor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Editor")
            .field("template", &self.template)
            .field("root", &self.root)
            .finish()
    }
}

impl Editor {
    /// An editor by name (`vscode`, `cursor`, `zed`, `idea`) or a URL template containing
    /// `{file}` (and usually `{line}`); relative paths are resolved against `root`.
    ///
    /// Fails for an unknown name, a template without `{file}`, or a `javascript:`, `data:` or
    /// `vbscript:` template.
    pub fn new(editor: &str, root: impl Into<PathBuf>) -> Result<Self, ConfigError> {
        let editor = editor.trim();
        let template = match editor.to_ascii_lowercase().as_str() {
            "vscode" => "vscode://file{file}:{line}".to_owned(),
            "cursor" => "cursor://file{file}:{line}".to_owned(),
            "zed" => "zed://file{file}:{line}".to_owned(),
            "idea" => "idea://open?file={file}&line={line}".to_owned(),
            _ if editor.contains("{file}") => editor.to_owned(),
            _ => {
                return Err(ConfigError::new(
                    "DEBUG_TOOLBAR_EDITOR",
                    editor,
                    "expected vscode, cursor, zed, idea or a URL template with {file} and {line}",
                ));
            }
        };
        let scheme = template
            .split_once(':')
            .map(|(scheme, _)| scheme.trim().to_ascii_lowercase());
        if matches!(scheme.as_deref(), Some("javascript" | "data" | "vbscript")) {
            return Err(ConfigError::new(
                "DEBUG_TOOLBAR_EDITOR",
                editor,
                "a script URL cannot open an editor",
            ));
        }
        Ok(Self {
            template,
            root: root.into(),
        })
    }

    /// The directory relative paths are resolved against.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The link for `file` at `line` (line 1 when unknown); `None` for an empty path.
    pub fn url(&self, file: &str, line: Option<u32>) -> Option<String> {
        let file = file.trim();
        if file.is_empty() {
            return None;
        }
        let path = Path::new(file);
        let absolute = if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.root.join(path)
        };
        let mut file = absolute.to_string_lossy().replace('\\', "/");
        // `C:/x` becomes `/C:/x`, as file URLs write it.
        if !file.starts_with('/') {
            file.insert(0, '/');
        }
        Some(
            self.template
                .replace("{file}", &encode_path(&file))
                .replace("{line}", &line.unwrap_or(1).to_string()),
        )
    }

    /// The link for a location written `file:line`, `file:line:column` or just `file`.
    pub fn url_of_location(&self, location: &str) -> Option<String> {
        let number = |text: &str| !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
        let Some((rest, last)) = location.rsplit_once(':').filter(|(_, last)| number(last)) else {
            return self.url(location, None);
        };
        match rest.rsplit_once(':') {
            Some((file, line)) if number(line) => self.url(file, line.parse().ok()),
            _ => self.url(rest, last.parse().ok()),
        }
    }
}

/// Percent-encodes everything in a path but unreserved characters, `/` and `:`.
fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/:".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn editor(name: &str) -> Editor {
        Editor::new(name, "/home/dev/app").unwrap()
    }

    #[test]
    fn each_named_editor_has_its_url() {
        let cases = [
            ("vscode", "vscode://file/home/dev/app/src/main.rs:12"),
            ("cursor", "cursor://file/home/dev/app/src/main.rs:12"),
            ("zed", "zed://file/home/dev/app/src/main.rs:12"),
            ("idea", "idea://open?file=/home/dev/app/src/main.rs&line=12"),
        ];
        for (name, url) in cases {
            assert_eq!(
                editor(name).url("src/main.rs", Some(12)).as_deref(),
                Some(url),
                "{name}"
            );
        }
    }

    #[test]
    fn a_template_gets_file_and_line() {
        let e = editor("myeditor://open?path={file}&l={line}");
        assert_eq!(
            e.url("/abs/lib.rs", Some(3)).as_deref(),
            Some("myeditor://open?path=/abs/lib.rs&l=3")
        );
    }

    #[test]
    fn absolute_paths_stay_and_odd_characters_are_encoded() {
        let e = editor("vscode");
        assert_eq!(
            e.url("/src/my file#1.rs", None).as_deref(),
            Some("vscode://file/src/my%20file%231.rs:1")
        );
        assert_eq!(
            e.url("C:\\app\\main.rs", Some(2)).as_deref(),
            Some(if cfg!(windows) {
                "vscode://file/C:/app/main.rs:2"
            } else {
                "vscode://file/home/dev/app/C:/app/main.rs:2"
            })
        );
        assert_eq!(e.url("  ", Some(2)), None);
    }

    #[test]
    fn locations_are_split_at_the_last_colon() {
        let e = editor("zed");
        assert_eq!(
            e.url_of_location("src/db.rs:40").as_deref(),
            Some("zed://file/home/dev/app/src/db.rs:40")
        );
        assert_eq!(
            e.url_of_location("src/db.rs:40:9").as_deref(),
            Some("zed://file/home/dev/app/src/db.rs:40")
        );
        assert_eq!(
            e.url_of_location("src/db.rs").as_deref(),
            Some("zed://file/home/dev/app/src/db.rs:1")
        );
    }

    #[test]
    fn unknown_names_and_script_urls_are_refused() {
        assert!(Editor::new("emacs", "/").is_err());
        assert!(Editor::new("javascript:alert('{file}')", "/").is_err());
        assert!(Editor::new(" Data:text/html,{file}", "/").is_err());
        assert!(Editor::new("VSCode", "/").is_ok());
    }
}
