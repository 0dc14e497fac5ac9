//! What configuration loading reports: one `Problem` per broken key (with its key path), all
//! of a file's problems together in one `ConfigError`. Shared by `validate` and `interpolate`.

use std::fmt;

/// One problem, with the key path it concerns (`issuers[0].client_ids`, `routes[2].match`;
/// "" for the file as a whole). Shown as `path: message`, or the bare message without a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Dotted key path, list indices in brackets, as the user wrote the file.
    pub path: String,
    /// What is wrong there, in words meant for the person editing the file.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Every problem found in one file, in the order they were found (never empty); shown one
/// problem per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// At least one.
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}
