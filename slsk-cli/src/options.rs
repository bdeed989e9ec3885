//! The options every network command shares, the search filters, and how
//! they resolve: flag, then environment variable, then configuration file,
//! then default.
//!
//! Clap reads a flag or, without one, its environment variable; what is
//! still unset is taken from the [`ConfigFile`], and then from the
//! defaults below.

use std::io::BufRead;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use slsk_net::client::SearchFilters;

use crate::config::{self, ConfigFile};
use crate::exit::Failure;
use crate::ratelimit::{self, Rate};

/// The server used when none is given: `slsk server`'s default address.
pub const DEFAULT_SERVER: &str = "127.0.0.1:2242";

/// Who we are and where we connect: the common options of `search`, `get`,
/// `download`, `browse` and `share`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct CommonArgs {
    /// The server, HOST:PORT [default: 127.0.0.1:2242, what `slsk server`
    /// listens on; the public Soulseek network is server.slsknet.org:2242]
    #[arg(long, env = "SLSK_SERVER", value_name = "HOST:PORT")]
    pub server: Option<String>,
    /// The username (an unknown name is registered by the server at the
    /// first login, with this password).
    #[arg(long, env = "SLSK_USERNAME", value_name = "NAME")]
    pub user: Option<String>,
    /// The password. Visible to other local users in the process list:
    /// prefer --password-file, --password-stdin or SLSK_PASSWORD.
    #[arg(
        long,
        env = "SLSK_PASSWORD",
        hide_env_values = true,
        value_name = "PASSWORD"
    )]
    pub password: Option<String>,
    /// Read the password from the first line of FILE.
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Read the password from the first line of stdin.
    #[arg(long)]
    pub password_stdin: bool,
    /// The port peers connect to (0: any free port) [default: 0]
    #[arg(long, env = "SLSK_LISTEN_PORT", value_name = "PORT")]
    pub listen_port: Option<u16>,
    /// The address the peer listener binds [default: 127.0.0.1, reachable
    /// from this machine only; 0.0.0.0 to be reachable from others]
    #[arg(long, env = "SLSK_LISTEN_ADDR", value_name = "IP")]
    pub listen_addr: Option<IpAddr>,
    /// Also listen for obfuscated peer connections on PORT (0: any free port).
    #[arg(long, env = "SLSK_OBFUSCATED_PORT", value_name = "PORT")]
    pub obfuscated_port: Option<u16>,
    /// Write one JSON object per line on stdout (see the guide for the
    /// types); logs and progress stay on stderr.
    #[arg(long)]
    pub json: bool,
    /// The configuration file (TOML) [default: config.toml in the platform's
    /// configuration folder, ~/.config/slsk/ on Linux; '' reads none]
    #[arg(long, env = "SLSK_CONFIG", value_name = "FILE", value_parser = any_path)]
    pub config: Option<PathBuf>,
    /// Where slsk keeps its state: the search rate limit and the scan cache
    /// [default: the platform's cache folder, ~/.cache/slsk/ on Linux]
    #[arg(long, env = "SLSK_STATE_DIR", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// The search rate limit, N searches per SECONDS, shared by every slsk
    /// process using the same state folder; `off` turns it off. Servers ban
    /// users who flood them with searches. [default: 34/220]
    #[arg(long, env = "SLSK_SEARCH_RATE", value_name = "N/SECONDS")]
    pub search_rate: Option<String>,
}

/// A path, the empty one included (clap's own parser refuses it; `''`
/// means "no config file").
fn any_path(text: &str) -> Result<PathBuf, std::convert::Infallible> {
    Ok(PathBuf::from(text))
}

/// The common options, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub server: String,
    pub user: String,
    pub password: String,
    pub listen: SocketAddr,
    pub obfuscated_listen: Option<SocketAddr>,
    pub json: bool,
    pub state_dir: PathBuf,
    pub search_rate: Option<Rate>,
}

impl CommonArgs {
    /// Reads the configuration file and resolves every option (stdin is
    /// read only for `--password-stdin`).
    pub fn resolve(&self) -> Result<Settings, Failure> {
        let file = config::load(self.config.as_deref())?;
        resolve(self, &file, || {
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line).map(|_| line)
        })
    }
}

/// Flag or environment (already merged by clap), then `file`, then the
/// default. `stdin` gives the first line of stdin for `--password-stdin`.
pub fn resolve(
    args: &CommonArgs,
    file: &ConfigFile,
    stdin: impl FnOnce() -> std::io::Result<String>,
) -> Result<Settings, Failure> {
    let user = args
        .user
        .clone()
        .or_else(|| file.user.clone())
        .filter(|u| !u.is_empty())
        .ok_or_else(|| {
            Failure::Usage(
                "no username: give --user NAME, SLSK_USERNAME or `user` in the config file".into(),
            )
        })?;
    let password = if args.password_stdin {
        first_line(stdin().map_err(|e| Failure::Error(format!("reading the password: {e}")))?)
    } else if let Some(path) = &args.password_file {
        read_password_file(path)?
    } else if let Some(password) = &args.password {
        password.clone()
    } else if let Some(path) = &file.password_file {
        read_password_file(path)?
    } else if let Some(password) = &file.password {
        password.clone()
    } else {
        return Err(Failure::Usage(
            "no password: give --password-file FILE, --password-stdin, SLSK_PASSWORD or `password_file` in the config file".into(),
        ));
    };
    let listen_ip = match (&args.listen_addr, &file.listen_addr) {
        (Some(ip), _) => *ip,
        (None, Some(text)) => text.parse().map_err(|_| {
            Failure::Error(format!(
                "config file: listen_addr {text:?} is not an IP address"
            ))
        })?,
        (None, None) => IpAddr::V4(Ipv4Addr::LOCALHOST),
    };
    let listen_port = args.listen_port.or(file.listen_port).unwrap_or(0);
    let obfuscated_port = args.obfuscated_port.or(file.obfuscated_port);
    let search_rate = match args.search_rate.as_ref().or(file.search_rate.as_ref()) {
        Some(text) => ratelimit::parse_rate(text).map_err(Failure::Usage)?,
        None => ratelimit::parse_rate(ratelimit::DEFAULT_RATE).map_err(Failure::Error)?,
    };
    let state_dir = args
        .state_dir
        .clone()
        .or_else(|| file.state_dir.clone())
        .or_else(|| config::project_dirs().map(|dirs| dirs.cache_dir().to_path_buf()))
        .ok_or_else(|| {
            Failure::Usage("no state folder known: give --state-dir or SLSK_STATE_DIR".into())
        })?;
    Ok(Settings {
        server: args
            .server
            .clone()
            .or_else(|| file.server.clone())
            .unwrap_or_else(|| DEFAULT_SERVER.to_owned()),
        user,
        password,
        listen: SocketAddr::new(listen_ip, listen_port),
        obfuscated_listen: obfuscated_port.map(|port| SocketAddr::new(listen_ip, port)),
        json: args.json || file.json.unwrap_or(false),
        state_dir,
        search_rate,
    })
}

fn first_line(text: String) -> String {
    text.lines().next().unwrap_or("").to_owned()
}

fn read_password_file(path: &Path) -> Result<String, Failure> {
    std::fs::read_to_string(path)
        .map(first_line)
        .map_err(|e| Failure::Error(format!("reading the password file {}: {e}", path.display())))
}

/// The search filters, as the library's [`SearchFilters`] has them.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct FilterArgs {
    /// Keep only these extensions (repeat, or separate with commas: flac,mp3).
    #[arg(long = "ext", value_name = "EXT", value_delimiter = ',')]
    pub extensions: Vec<String>,
    /// Minimum bitrate, kbps.
    #[arg(long, value_name = "KBPS")]
    pub min_bitrate: Option<u32>,
    /// Minimum sample rate, Hz.
    #[arg(long, value_name = "HZ")]
    pub min_sample_rate: Option<u32>,
    /// Minimum bit depth.
    #[arg(long, value_name = "BITS")]
    pub min_bit_depth: Option<u32>,
    /// Minimum length, seconds.
    #[arg(long, value_name = "SECONDS")]
    pub min_length: Option<u32>,
    /// Maximum length, seconds.
    #[arg(long, value_name = "SECONDS")]
    pub max_length: Option<u32>,
    /// Minimum size in bytes (suffixes K, M, G: powers of 1024).
    #[arg(long, value_name = "BYTES", value_parser = parse_size)]
    pub min_size: Option<u64>,
    /// Maximum size in bytes (suffixes K, M, G: powers of 1024).
    #[arg(long, value_name = "BYTES", value_parser = parse_size)]
    pub max_size: Option<u64>,
    /// Keep only results from peers with a free upload slot.
    #[arg(long)]
    pub free_slot: bool,
    /// Keep only results from peers whose upload queue is at most N long.
    #[arg(long, value_name = "N")]
    pub max_queue: Option<u32>,
    /// A result that lacks a filtered attribute (no bitrate, say) fails the
    /// filter; by default it passes.
    #[arg(long)]
    pub strict: bool,
}

impl FilterArgs {
    /// The library's filters.
    pub fn to_filters(&self) -> SearchFilters {
        let length = (self.min_length.is_some() || self.max_length.is_some())
            .then(|| self.min_length.unwrap_or(0)..=self.max_length.unwrap_or(u32::MAX));
        let size = (self.min_size.is_some() || self.max_size.is_some())
            .then(|| self.min_size.unwrap_or(0)..=self.max_size.unwrap_or(u64::MAX));
        SearchFilters {
            extensions: self
                .extensions
                .iter()
                .map(|e| e.trim().trim_start_matches('.').to_lowercase())
                .filter(|e| !e.is_empty())
                .collect(),
            min_bitrate: self.min_bitrate,
            min_sample_rate: self.min_sample_rate,
            min_bit_depth: self.min_bit_depth,
            length,
            size,
            free_slot_only: self.free_slot,
            max_queue: self.max_queue,
            missing_passes: !self.strict,
        }
    }
}

/// `1234`, `10K`, `5M`, `1G` (powers of 1024).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (digits, unit) = match text.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((at, _)) => text.split_at(at),
        None => (text, ""),
    };
    let multiplier: u64 = match unit.to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KB" | "KIB" => 1 << 10,
        "M" | "MB" | "MIB" => 1 << 20,
        "G" | "GB" | "GIB" => 1 << 30,
        _ => {
            return Err(format!(
                "{text:?}: expected a number of bytes, like 500K or 20M"
            ));
        }
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(multiplier))
        .ok_or_else(|| format!("{text:?}: expected a number of bytes, like 500K or 20M"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> CommonArgs {
        CommonArgs {
            user: Some("flag-user".into()),
            password: Some("flag-pw".into()),
            state_dir: Some("/state".into()),
            ..CommonArgs::default()
        }
    }

    fn no_stdin() -> std::io::Result<String> {
        panic!("stdin read without --password-stdin")
    }

    #[test]
    fn flags_beat_the_config_file_which_beats_the_defaults() {
        let file = ConfigFile {
            server: Some("127.0.0.9:1".into()),
            user: Some("file-user".into()),
            password: Some("file-pw".into()),
            listen_port: Some(5000),
            json: Some(true),
            search_rate: Some("off".into()),
            ..ConfigFile::default()
        };
        let s = resolve(&args(), &file, no_stdin).unwrap();
        assert_eq!(s.server, "127.0.0.9:1");
        assert_eq!(
            (s.user.as_str(), s.password.as_str()),
            ("flag-user", "flag-pw")
        );
        assert_eq!(s.listen, "127.0.0.1:5000".parse().unwrap());
        assert!(s.json);
        assert_eq!(s.search_rate, None);

        let defaults = resolve(&args(), &ConfigFile::default(), no_stdin).unwrap();
        assert_eq!(defaults.server, DEFAULT_SERVER);
        assert_eq!(defaults.listen, "127.0.0.1:0".parse().unwrap());
        assert_eq!(defaults.obfuscated_listen, None);
        assert!(!defaults.json);
        assert_eq!(defaults.search_rate.unwrap().count, 34);

        let only_file = CommonArgs {
            state_dir: Some("/s".into()),
            ..CommonArgs::default()
        };
        let s = resolve(&only_file, &file, no_stdin).unwrap();
        assert_eq!(
            (s.user.as_str(), s.password.as_str()),
            ("file-user", "file-pw")
        );
    }

    #[test]
    fn password_sources_in_order_and_missing_ones_are_usage_errors() {
        let dir = tempfile::tempdir().unwrap();
        let pw_file = dir.path().join("pw");
        std::fs::write(&pw_file, "from-file\nignored\n").unwrap();
        let from_stdin = CommonArgs {
            password_stdin: true,
            password_file: Some(pw_file.clone()),
            ..args()
        };
        let s = resolve(&from_stdin, &ConfigFile::default(), || Ok("typed\n".into())).unwrap();
        assert_eq!(s.password, "typed");
        let from_file = CommonArgs {
            password_file: Some(pw_file.clone()),
            ..args()
        };
        let s = resolve(&from_file, &ConfigFile::default(), no_stdin).unwrap();
        assert_eq!(s.password, "from-file");

        let nothing = CommonArgs {
            state_dir: Some("/s".into()),
            ..CommonArgs::default()
        };
        assert!(matches!(
            resolve(&nothing, &ConfigFile::default(), no_stdin),
            Err(Failure::Usage(m)) if m.contains("username")
        ));
        let no_password = CommonArgs {
            user: Some("u".into()),
            ..nothing
        };
        assert!(matches!(
            resolve(&no_password, &ConfigFile::default(), no_stdin),
            Err(Failure::Usage(m)) if m.contains("password")
        ));
        let missing_file = CommonArgs {
            password_file: Some(dir.path().join("none")),
            ..args()
        };
        assert!(matches!(
            resolve(&missing_file, &ConfigFile::default(), no_stdin),
            Err(Failure::Error(_))
        ));
    }

    #[test]
    fn obfuscated_port_and_listen_address_combine() {
        let a = CommonArgs {
            listen_addr: Some("127.0.0.2".parse().unwrap()),
            obfuscated_port: Some(0),
            ..args()
        };
        let s = resolve(&a, &ConfigFile::default(), no_stdin).unwrap();
        assert_eq!(s.obfuscated_listen, Some("127.0.0.2:0".parse().unwrap()));
        let bad = ConfigFile {
            listen_addr: Some("nowhere".into()),
            ..ConfigFile::default()
        };
        assert!(resolve(&args(), &bad, no_stdin).is_err());
        let bad_rate = CommonArgs {
            search_rate: Some("lots".into()),
            ..args()
        };
        assert!(matches!(
            resolve(&bad_rate, &ConfigFile::default(), no_stdin),
            Err(Failure::Usage(_))
        ));
    }

    #[test]
    fn filters_map_to_the_library() {
        let f = FilterArgs {
            extensions: vec![".FLAC".into(), "mp3".into()],
            min_length: Some(60),
            max_size: Some(10),
            strict: true,
            ..FilterArgs::default()
        }
        .to_filters();
        assert_eq!(f.extensions, ["flac", "mp3"]);
        assert_eq!(f.length, Some(60..=u32::MAX));
        assert_eq!(f.size, Some(0..=10));
        assert!(!f.missing_passes);
        assert!(FilterArgs::default().to_filters().missing_passes);
        assert_eq!(parse_size("5M"), Ok(5 << 20));
        assert_eq!(parse_size("12"), Ok(12));
        assert!(parse_size("5X").is_err());
        assert!(parse_size("99999999999G").is_err());
    }
}
