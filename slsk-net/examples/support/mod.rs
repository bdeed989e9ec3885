//! What the examples share: the login settings, from the arguments or the
//! environment.

use slsk_net::ClientConfig;

/// Takes `--server HOST:PORT`, `--user NAME` and `--password PASSWORD` out
/// of `args` (each falls back to SLSK_SERVER, SLSK_USERNAME, SLSK_PASSWORD)
/// and returns a client configuration with them, and the other arguments.
pub fn login_config(
    args: impl IntoIterator<Item = String>,
) -> Result<(ClientConfig, Vec<String>), String> {
    let mut settings = [
        ("--server", "SLSK_SERVER", None),
        ("--user", "SLSK_USERNAME", None),
        ("--password", "SLSK_PASSWORD", None),
    ];
    let mut rest = Vec::new();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match settings.iter_mut().find(|(flag, ..)| *flag == arg) {
            Some((flag, _, value)) => {
                *value = Some(args.next().ok_or(format!("{flag} needs a value"))?);
            }
            None => rest.push(arg),
        }
    }
    let [server, user, password] = settings.map(|(flag, var, value)| {
        value
            .or_else(|| std::env::var(var).ok())
            .ok_or(format!("give {flag} or set {var}"))
    });
    Ok((ClientConfig::new(server?, user?, password?), rest))
}
