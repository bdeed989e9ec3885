//! The TOML configuration file: defaults for the common options.
//!
//! It lives in the platform's configuration folder (`config.toml` under
//! `~/.config/slsk/` on Linux, found with the `directories` crate) unless
//! `--config FILE` (or `SLSK_CONFIG`) names another; `--config ''` reads
//! none. A missing default file is the same as an empty one; a missing
//! named file, a syntax error or an unknown key is an error.
//!
//! ```toml
//! server = "127.0.0.1:2242"
//! user = "alice"
//! password_file = "/home/alice/.slsk-password"
//! listen_port = 2234
//! listen_addr = "0.0.0.0"
//! obfuscated_port = 2235
//! json = false
//! state_dir = "/home/alice/.cache/slsk"
//! search_rate = "34/220"
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::exit::Failure;

/// Every key the file may hold; all optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// The server, `HOST:PORT`.
    pub server: Option<String>,
    /// The username.
    pub user: Option<String>,
    /// The password (prefer `password_file`).
    pub password: Option<String>,
    /// A file whose first line is the password.
    pub password_file: Option<PathBuf>,
    /// The peer listening port (0: any free port).
    pub listen_port: Option<u16>,
    /// The peer listening address.
    pub listen_addr: Option<String>,
    /// The obfuscated peer listening port.
    pub obfuscated_port: Option<u16>,
    /// JSON lines on stdout.
    pub json: Option<bool>,
    /// Where the search rate limit and the scan cache are kept.
    pub state_dir: Option<PathBuf>,
    /// The search rate limit, `N/SECONDS` or `off`.
    pub search_rate: Option<String>,
}

/// The platform's directories for slsk, if the home folder is known.
pub fn project_dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("", "", "slsk")
}

/// The default configuration file path.
pub fn default_path() -> Option<PathBuf> {
    project_dirs().map(|dirs| dirs.config_dir().join("config.toml"))
}

/// Reads the configuration: `explicit` if given (empty: none), else the
/// default file if it exists.
pub fn load(explicit: Option<&Path>) -> Result<ConfigFile, Failure> {
    let (path, must_exist) = match explicit {
        Some(path) if path.as_os_str().is_empty() => return Ok(ConfigFile::default()),
        Some(path) => (path.to_path_buf(), true),
        None => match default_path() {
            Some(path) => (path, false),
            None => return Ok(ConfigFile::default()),
        },
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !must_exist => {
            return Ok(ConfigFile::default());
        }
        Err(e) => {
            return Err(Failure::Error(format!(
                "reading the config file {}: {e}",
                path.display()
            )));
        }
    };
    parse(&text).map_err(|e| Failure::Error(format!("config file {}: {e}", path.display())))
}

/// Parses the file's text.
pub fn parse(text: &str) -> Result<ConfigFile, String> {
    toml::from_str(text).map_err(|e| e.to_string().trim_end().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_key_and_refuses_unknown_ones() {
        let config = parse(
            "server = \"127.0.0.1:1\"\nuser = \"a\"\npassword = \"p\"\nlisten_port = 7\njson = true\nsearch_rate = \"off\"\n",
        )
        .unwrap();
        assert_eq!(config.server.as_deref(), Some("127.0.0.1:1"));
        assert_eq!(config.listen_port, Some(7));
        assert_eq!(config.json, Some(true));
        assert!(parse("sever = \"typo\"").unwrap_err().contains("sever"));
        assert!(parse("listen_port = 70000").is_err());
        assert_eq!(parse("").unwrap(), ConfigFile::default());
    }

    #[test]
    fn an_empty_path_reads_nothing_and_a_missing_named_file_fails() {
        assert_eq!(load(Some(Path::new(""))).unwrap(), ConfigFile::default());
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.toml");
        assert!(matches!(load(Some(&missing)), Err(Failure::Error(_))));
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "user = \"bob\"").unwrap();
        assert_eq!(load(Some(&file)).unwrap().user.as_deref(), Some("bob"));
        std::fs::write(&file, "user = ").unwrap();
        assert!(matches!(load(Some(&file)), Err(Failure::Error(_))));
    }
}
