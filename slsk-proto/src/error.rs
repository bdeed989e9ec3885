//! The one error type of decoding: what went wrong, in which message and field,
//! at which byte.

use std::fmt;

/// A decoding failure. Names the message, the field path and the byte offset.
///
/// Offsets count from the start of the frame when decoding a frame, from the
/// start of the payload when decoding a payload, and from the start of the
/// inflated payload when the failure is inside a compressed body
/// ([`DecodeError::in_inflated`]).
///
/// Boxed, so that the `Result`s of the hot decoding paths stay two words.
#[derive(Clone, PartialEq, Eq)]
pub struct DecodeError(Box<Details>);

#[derive(Debug, Clone, PartialEq, Eq)]
struct Details {
    message: Option<&'static str>,
    /// Innermost segment first while the error unwinds.
    path: Vec<PathSegment>,
    offset: usize,
    in_inflated: bool,
    kind: DecodeErrorKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PathSegment {
    Field(&'static str),
    Index(usize),
}

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// The input ended inside a value.
    UnexpectedEnd { needed: usize, remaining: usize },
    /// An array count that the remaining bytes cannot possibly hold.
    ArrayTooLong {
        count: u32,
        remaining: usize,
        min_element_size: usize,
    },
    /// An array longer than [`Limits::max_array_len`](crate::Limits::max_array_len).
    ArrayOverLimit { count: u32, limit: usize },
    /// An array nested inside more arrays than
    /// [`Limits::max_array_depth`](crate::Limits::max_array_depth) allows.
    ArrayTooDeep { limit: usize },
    /// Parallel arrays (one per structure field) with different counts.
    ParallelMismatch { lengths: Vec<usize> },
    /// Bytes left over after the last field.
    TrailingBytes { count: usize },
    /// A frame shorter than its header, or whose length field disagrees with its size.
    BadFrame { reason: String },
    /// A frame larger than the limit for its connection kind.
    FrameTooLarge { size: usize, limit: usize },
    /// A compressed body that is not a valid zlib stream.
    Inflate { reason: String },
    /// A compressed body that inflates past
    /// [`Limits::max_inflated_size`](crate::Limits::max_inflated_size).
    InflatedTooLarge {
        /// Bytes inflated when it was refused (at most one past the limit).
        inflated: usize,
        limit: usize,
    },
    /// A compressed body that grows more than
    /// [`Limits::max_inflate_ratio`](crate::Limits::max_inflate_ratio) times
    /// the compressed bytes consumed so far, once past
    /// [`Limits::RATIO_FLOOR`](crate::Limits::RATIO_FLOOR) inflated bytes.
    InflateRatioTooHigh {
        /// Bytes inflated when it was refused.
        inflated: usize,
        /// Compressed bytes consumed by then.
        compressed: usize,
        /// The ratio limit (inflated over compressed).
        limit: usize,
    },
}

impl DecodeError {
    #[cold]
    pub fn new(kind: DecodeErrorKind, offset: usize) -> Self {
        Self(Box::new(Details {
            message: None,
            path: Vec::new(),
            offset,
            in_inflated: false,
            kind,
        }))
    }

    /// The schema name of the message being decoded, if known.
    pub fn message(&self) -> Option<&'static str> {
        self.0.message
    }

    /// The path of the field, such as `directories[3].files[0].filename`.
    pub fn field(&self) -> String {
        let mut out = String::new();
        for segment in self.0.path.iter().rev() {
            match segment {
                PathSegment::Field(name) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(name);
                }
                PathSegment::Index(i) => {
                    out.push('[');
                    out.push_str(&i.to_string());
                    out.push(']');
                }
            }
        }
        out
    }

    /// The byte offset where the failure was found.
    pub fn offset(&self) -> usize {
        self.0.offset
    }

    /// True when [`offset`](Self::offset) counts within an inflated body.
    pub fn in_inflated(&self) -> bool {
        self.0.in_inflated
    }

    pub fn kind(&self) -> &DecodeErrorKind {
        &self.0.kind
    }

    /// Adds an enclosing field to the path (used while unwinding).
    pub fn within(mut self, field: &'static str) -> Self {
        if !field.is_empty() {
            self.0.path.push(PathSegment::Field(field));
        }
        self
    }

    /// Adds an enclosing array index to the path (used while unwinding).
    pub fn at_index(mut self, index: usize) -> Self {
        self.0.path.push(PathSegment::Index(index));
        self
    }

    /// Names the message, unless an inner decoder already did.
    pub fn in_message(mut self, name: &'static str) -> Self {
        self.0.message.get_or_insert(name);
        self
    }

    /// Marks the offset as counting within an inflated body.
    pub fn inflated(mut self) -> Self {
        self.0.in_inflated = true;
        self
    }

    /// Moves the offset by `by` bytes (a payload error seen from its frame).
    /// Offsets within an inflated body stay as they are.
    pub fn shifted(mut self, by: usize) -> Self {
        if !self.0.in_inflated {
            self.0.offset += by;
        }
        self
    }
}

impl fmt::Display for DecodeErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnexpectedEnd { needed, remaining } => {
                write!(f, "needs {needed} byte(s) but only {remaining} remain")
            }
            Self::ArrayTooLong {
                count,
                remaining,
                min_element_size,
            } => write!(
                f,
                "array count {count} cannot fit in the {remaining} remaining byte(s) (each element takes at least {min_element_size})"
            ),
            Self::ArrayOverLimit { count, limit } => {
                write!(f, "array count {count} is over the limit of {limit}")
            }
            Self::ArrayTooDeep { limit } => {
                write!(f, "array nested deeper than the limit of {limit} arrays")
            }
            Self::ParallelMismatch { lengths } => {
                write!(f, "parallel arrays have different lengths {lengths:?}")
            }
            Self::TrailingBytes { count } => {
                write!(f, "{count} unexpected byte(s) after the last field")
            }
            Self::BadFrame { reason } => write!(f, "bad frame: {reason}"),
            Self::FrameTooLarge { size, limit } => {
                write!(f, "frame of {size} bytes is over the limit of {limit}")
            }
            Self::Inflate { reason } => write!(f, "invalid zlib body: {reason}"),
            Self::InflatedTooLarge { inflated, limit } => write!(
                f,
                "compressed body inflates past max_inflated_size: {inflated} bytes, over the limit of {limit}"
            ),
            Self::InflateRatioTooHigh {
                inflated,
                compressed,
                limit,
            } => write!(
                f,
                "compressed body inflates over max_inflate_ratio: {inflated} bytes from {compressed} compressed ({}x, over the limit of {limit}x)",
                inflated / (*compressed).max(1)
            ),
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.message.unwrap_or("message"))?;
        let field = self.field();
        if !field.is_empty() {
            write!(f, ", field `{field}`")?;
        }
        let inflated = if self.0.in_inflated {
            " of the inflated body"
        } else {
            ""
        };
        write!(f, ", at byte {}{inflated}: {}", self.0.offset, self.0.kind)
    }
}

impl fmt::Debug for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DecodeError")
            .field("message", &self.0.message)
            .field("field", &self.field())
            .field("offset", &self.0.offset)
            .field("in_inflated", &self.0.in_inflated)
            .field("kind", &self.0.kind)
            .finish()
    }
}

impl std::error::Error for DecodeError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_message_field_and_offset() {
        let e = DecodeError::new(
            DecodeErrorKind::UnexpectedEnd {
                needed: 4,
                remaining: 1,
            },
            17,
        )
        .within("filename")
        .at_index(2)
        .within("files")
        .at_index(0)
        .within("directories")
        .in_message("PeerSharesReply")
        .inflated();
        assert_eq!(e.field(), "directories[0].files[2].filename");
        assert_eq!(
            e.to_string(),
            "PeerSharesReply, field `directories[0].files[2].filename`, at byte 17 of the inflated body: needs 4 byte(s) but only 1 remain"
        );
        assert_eq!(e.shifted(8).offset(), 17);
    }
}
