//! The program's errors: bad input (exit code 2, with file, line and column where known)
//! and failures while running (exit code 1).

use std::fmt;

/// An error of the `mechml` program.
#[derive(Debug, Clone, PartialEq)]
pub enum CliError {
    /// The user's input is wrong (configuration, data, arguments): exit code 2.
    Input {
        /// File concerned, if any.
        file: Option<String>,
        /// 1-based line, if known.
        line: Option<usize>,
        /// 1-based column, if known.
        column: Option<usize>,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// The computation or the writing of the report failed: exit code 1.
    Runtime(String),
}

impl CliError {
    /// An input error about a file.
    pub fn input(
        file: impl Into<String>,
        line: Option<usize>,
        column: Option<usize>,
        message: impl Into<String>,
    ) -> Self {
        CliError::Input {
            file: Some(file.into()),
            line,
            column,
            message: message.into(),
        }
    }
    /// An input error not tied to a file.
    pub fn usage(message: impl Into<String>) -> Self {
        CliError::Input {
            file: None,
            line: None,
            column: None,
            message: message.into(),
        }
    }
    /// The process exit code: 2 for bad input, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Input { .. } => 2,
            CliError::Runtime(_) => 1,
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Input {
                file,
                line,
                column,
                message,
            } => {
                if let Some(file) = file {
                    write!(f, "{file}")?;
                    match (line, column) {
                        (Some(l), Some(c)) => write!(f, ":{l}:{c}")?,
                        (Some(l), None) => write!(f, ":{l}")?,
                        (None, Some(c)) => write!(f, ": column {c}")?,
                        (None, None) => {}
                    }
                    write!(f, ": ")?;
                }
                write!(f, "{message}")
            }
            CliError::Runtime(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for CliError {}

impl From<mechml_engine::Error> for CliError {
    fn from(e: mechml_engine::Error) -> Self {
        CliError::Runtime(e.to_string())
    }
}

/// The program's result type.
pub type CliResult<T> = Result<T, CliError>;
