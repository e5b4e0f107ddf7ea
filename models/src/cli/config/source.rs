//! Parsing a configuration, and locating a setting in its text for error messages.

use super::schema::ConfigFile;
use crate::cli::error::{CliError, CliResult};

/// 1-based line and column (in characters) of byte offset `at` in `text`.
fn line_col(text: &str, at: usize) -> (usize, usize) {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// Parses TOML text into a configuration; errors carry line and column.
pub fn parse_config(file: &str, text: &str) -> CliResult<ConfigFile> {
    toml::from_str::<ConfigFile>(text).map_err(|e| {
        let (line, col) = match e.span() {
            Some(span) => {
                let (l, c) = line_col(text, span.start);
                (Some(l), Some(c))
            }
            None => (None, None),
        };
        CliError::input(
            file,
            line,
            col,
            format!("invalid configuration: {}", e.message()),
        )
    })
}

/// Where a configuration came from: a label for messages and, for a file, its text, so
/// that an error about a setting can name the line and column of the setting.
#[derive(Clone, Debug)]
pub struct ConfigSource {
    /// The file name (or a description of an embedded configuration).
    pub label: String,
    /// The TOML text, if there is one.
    pub text: Option<String>,
}

impl ConfigSource {
    /// A configuration file with its text.
    pub fn file(label: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            text: Some(text.into()),
        }
    }

    /// A configuration built in the program (no text to point into).
    pub fn embedded(label: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            text: None,
        }
    }

    /// Line and column of the value at `path` (table keys, and array indices as
    /// numbers), e.g. `["model", "boxes", "1"]`; the deepest part of the path that is
    /// present in the file is located (a key left at its default points at its table).
    pub fn locate(&self, path: &[&str]) -> (Option<usize>, Option<usize>) {
        let Some(text) = &self.text else {
            return (None, None);
        };
        let Ok(root) = toml::de::DeTable::parse(text) else {
            return (None, None);
        };
        let mut span: Option<std::ops::Range<usize>> = None;
        let mut node: Option<&toml::Spanned<toml::de::DeValue<'_>>> = None;
        for (depth, key) in path.iter().enumerate() {
            let next = if depth == 0 {
                root.get_ref().get(*key)
            } else {
                match node {
                    Some(v) => match key.parse::<usize>() {
                        Ok(i) if v.get_ref().is_array() => v.get_ref().get(i),
                        _ => v.get_ref().get(*key),
                    },
                    None => None,
                }
            };
            match next {
                Some(v) => {
                    span = Some(v.span());
                    node = Some(v);
                }
                None => break,
            }
        }
        match span {
            Some(sp) => {
                let (l, c) = line_col(text, sp.start);
                (Some(l), Some(c))
            }
            None => (None, None),
        }
    }

    /// An input error about the setting at `path`, with its line and column.
    pub fn error(&self, path: &[&str], message: impl Into<String>) -> CliError {
        let (line, column) = self.locate(path);
        CliError::input(
            &self.label,
            line,
            column,
            format!("{}: {}", path_name(path), message.into()),
        )
    }
}

/// `model.boxes[1]` from `["model", "boxes", "1"]`.
fn path_name(path: &[&str]) -> String {
    let mut s = String::new();
    for p in path {
        if p.parse::<usize>().is_ok() {
            s.push_str(&format!("[{p}]"));
        } else {
            if !s.is_empty() {
                s.push('.');
            }
            s.push_str(p);
        }
    }
    s
}
