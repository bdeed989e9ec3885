//! Password hashing with argon2id. Slow on purpose, so the state machine never
//! calls it: it emits a [`PasswordJob`], the driver runs [`PasswordJob::run`]
//! on a blocking thread and feeds the [`PasswordOutcome`] back.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::config::PasswordCost;
use crate::state::ConnId;

/// Why a password is being hashed or checked; the state machine uses it to
/// resume the right flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordPurpose {
    /// A login with a new name: hash the password to register it.
    Register,
    /// A login with a registered name: check the password against its hash.
    Verify {
        /// The stored PHC string.
        stored_hash: String,
    },
    /// NewPassword(142): hash the new password of `username`.
    Change { username: String },
}

/// Work for a blocking thread.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordJob {
    pub conn: ConnId,
    pub purpose: PasswordPurpose,
    pub password: String,
    pub cost: PasswordCost,
}

impl std::fmt::Debug for PasswordJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never log a password.
        f.debug_struct("PasswordJob")
            .field("conn", &self.conn)
            .field("purpose", &self.purpose)
            .finish_non_exhaustive()
    }
}

/// The result of a [`PasswordJob`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordOutcome {
    /// `Register` or `Change`: the new PHC string.
    Hashed(String),
    /// `Verify`: whether the password matched.
    Verified(bool),
    /// Hashing failed (bad cost settings, or a stored hash that does not
    /// parse, which then counts as a wrong password).
    Failed(String),
}

impl PasswordJob {
    /// Does the work; slow (argon2id). Call from a blocking thread.
    pub fn run(&self) -> PasswordOutcome {
        match &self.purpose {
            PasswordPurpose::Register | PasswordPurpose::Change { .. } => {
                match hash_password(&self.password, self.cost) {
                    Ok(phc) => PasswordOutcome::Hashed(phc),
                    Err(e) => PasswordOutcome::Failed(e),
                }
            }
            PasswordPurpose::Verify { stored_hash } => {
                match verify_password(&self.password, stored_hash) {
                    Ok(matched) => PasswordOutcome::Verified(matched),
                    Err(e) => PasswordOutcome::Failed(e),
                }
            }
        }
    }
}

/// Hashes `password` with argon2id at `cost` and a random 16-byte salt, as a
/// PHC string (`$argon2id$v=19$m=...,t=...,p=...$salt$hash`).
pub fn hash_password(password: &str, cost: PasswordCost) -> Result<String, String> {
    let params = Params::new(cost.memory_kib, cost.iterations, cost.parallelism, None)
        .map_err(|e| format!("argon2 cost: {e}"))?;
    let hasher = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let salt =
        SaltString::encode_b64(&rand::random::<[u8; 16]>()).map_err(|e| format!("salt: {e}"))?;
    hasher
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| format!("argon2: {e}"))
}

/// Checks `password` against a PHC string, with the cost stored in it.
pub fn verify_password(password: &str, stored_hash: &str) -> Result<bool, String> {
    let parsed = PasswordHash::new(stored_hash).map_err(|e| format!("stored hash: {e}"))?;
    Ok(Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_then_verify() {
        let phc = hash_password("secret", PasswordCost::TEST).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=8,t=1,p=1$"), "{phc}");
        assert_eq!(verify_password("secret", &phc), Ok(true));
        assert_eq!(verify_password("Secret", &phc), Ok(false));
        assert!(verify_password("secret", "not a hash").is_err());
        let other = hash_password("secret", PasswordCost::TEST).unwrap();
        assert_ne!(phc, other, "salted");
    }

    #[test]
    fn bad_cost_is_an_error_not_a_panic() {
        let cost = PasswordCost {
            memory_kib: 0,
            ..PasswordCost::TEST
        };
        assert!(hash_password("x", cost).is_err());
    }
}
