//! The one error type of encoding: a value the wire format cannot carry.

use std::fmt;

/// Why a message cannot be encoded. Nothing is left half-written: the
/// encoders that return it leave their output as it was before the call.
///
/// ```
/// use slsk_proto::{EncodeError, FramedMessage};
/// use slsk_proto::distributed::DistributedMessage;
///
/// // Distributed codes travel as one byte.
/// let message = DistributedMessage::Unknown { code: 300, payload: vec![] };
/// let mut out = vec![1, 2, 3];
/// let e = message.encode_frame(&mut out).unwrap_err();
/// assert_eq!(e, EncodeError::CodeOutOfRange { kind: "distributed message", code: 300, max: 255 });
/// assert_eq!(out, [1, 2, 3]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EncodeError {
    /// An `Unknown` message whose code does not fit the code field of its
    /// connection kind (one byte for peer-init and distributed messages).
    CodeOutOfRange {
        /// What the enum carries, e.g. "distributed message".
        kind: &'static str,
        code: u32,
        /// The largest code the field holds.
        max: u32,
    },
    /// A string, byte field or array longer than its `u32` length or count
    /// can say.
    FieldTooLong {
        /// The schema name of the field (empty for an array element).
        field: &'static str,
        /// Its length in bytes (strings and bytes) or elements (arrays).
        len: usize,
    },
    /// A frame whose code and payload take more bytes than its `u32`
    /// length field can say (4 GiB).
    FrameTooLarge {
        /// What the enum carries, e.g. "peer message".
        kind: &'static str,
        /// The bytes after the length field.
        len: usize,
    },
}

impl EncodeError {
    /// A field longer than a `u32` can count.
    #[cold]
    pub fn field_too_long(field: &'static str, len: usize) -> Self {
        Self::FieldTooLong { field, len }
    }
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CodeOutOfRange { kind, code, max } => write!(
                f,
                "{kind} code {code} does not fit the code field (at most {max})"
            ),
            Self::FieldTooLong { field, len } => {
                if field.is_empty() {
                    f.write_str("a value")?;
                } else {
                    write!(f, "field `{field}`")?;
                }
                write!(
                    f,
                    " has a length of {len}, more than its u32 length field can hold"
                )
            }
            Self::FrameTooLarge { kind, len } => write!(
                f,
                "{kind} of {len} bytes after the length field is over the 4 GiB a frame can hold"
            ),
        }
    }
}

impl std::error::Error for EncodeError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_says_what_does_not_fit() {
        assert_eq!(
            EncodeError::field_too_long("filename", 1 << 33).to_string(),
            "field `filename` has a length of 8589934592, more than its u32 length field can hold"
        );
        assert_eq!(
            EncodeError::FrameTooLarge {
                kind: "peer message",
                len: 1 << 32
            }
            .to_string(),
            "peer message of 4294967296 bytes after the length field is over the 4 GiB a frame can hold"
        );
    }
}
