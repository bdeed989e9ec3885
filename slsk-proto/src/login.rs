//! The hashes the Login message carries.

use md5::{Digest, Md5};

/// The `md5_hash` of a Login request: the lowercase hex MD5 of the username
/// followed by the password.
pub fn login_hash(username: &str, password: &str) -> String {
    let mut hasher = Md5::new();
    hasher.update(username.as_bytes());
    hasher.update(password.as_bytes());
    hex(&hasher.finalize())
}

/// The `md5_hash` of a successful Login reply: the lowercase hex MD5 of the
/// password, to check the server knows it.
pub fn password_hash(password: &str) -> String {
    hex(&Md5::digest(password.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests() {
        // RFC 1321 test vector for "abc".
        assert_eq!(login_hash("a", "bc"), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(password_hash(""), "d41d8cd98f00b204e9800998ecf8427e");
    }
}
