//! Exit codes, and the failure each one reports.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | error (network, login, files, a bad config file) |
//! | 2 | usage (a bad or missing option; clap's own code) |
//! | 3 | nothing found, or not every download completed |

use std::fmt;
use std::process::ExitCode;

/// Everything went as asked.
pub const SUCCESS: u8 = 0;
/// Something failed: network, login, files, configuration.
pub const ERROR: u8 = 1;
/// The command line was wrong (clap's code for usage errors).
pub const USAGE: u8 = 2;
/// Nothing was found, or not every download completed.
pub const INCOMPLETE: u8 = 3;

/// Why a command did not succeed; each kind has its exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Exit 2: a missing or inconsistent option.
    Usage(String),
    /// Exit 1: the command could not do its job.
    Error(String),
    /// Exit 3: it ran, but found nothing or did not complete everything.
    Incomplete(String),
}

impl Failure {
    /// The process exit code for this failure.
    pub fn code(&self) -> u8 {
        match self {
            Failure::Usage(_) => USAGE,
            Failure::Error(_) => ERROR,
            Failure::Incomplete(_) => INCOMPLETE,
        }
    }

    /// The message, without the kind.
    pub fn message(&self) -> &str {
        match self {
            Failure::Usage(m) | Failure::Error(m) | Failure::Incomplete(m) => m,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

/// What a command returns: `Ok` exits 0.
pub type Outcome = Result<(), Failure>;

/// The exit code of an outcome.
pub fn exit_code(outcome: &Outcome) -> ExitCode {
    ExitCode::from(match outcome {
        Ok(()) => SUCCESS,
        Err(failure) => failure.code(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_failure_has_its_documented_code() {
        assert_eq!(Failure::Usage("x".into()).code(), 2);
        assert_eq!(Failure::Error("x".into()).code(), 1);
        assert_eq!(Failure::Incomplete("x".into()).code(), 3);
        assert_eq!(Failure::Error("boom".into()).to_string(), "boom");
    }
}
