//! The primitives every generated codec is built from: a bounds-checked
//! [`Reader`] and a few `put_*` helpers for any [`BufMut`].
//!
//! Generated code calls these with the schema's field names, so that errors
//! can say where they happened. Nothing here allocates more than the input can
//! justify: array counts are checked against the bytes that remain before any
//! `Vec` is reserved.

pub use std::net::Ipv4Addr;

pub use bytes::BufMut;

pub use crate::encode_error::EncodeError;
pub use crate::error::{DecodeError, DecodeErrorKind};
pub use crate::limits::{ConnectionKind, Limits};
#[cfg(feature = "arbitrary")]
pub use crate::message::ArbitraryMessage;
pub use crate::message::{CodeWidth, FrameBuffer, FramedMessage, Message, MessageInfo};

/// A type with a fixed place in the schema: a structure or a file value.
pub trait Wire: Sized {
    /// The fewest bytes a value takes on the wire.
    const MIN_SIZE: usize;

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError>;

    /// Writes the value; fails only for a string, byte field or array longer
    /// than its `u32` length field can say.
    fn encode<B: BufMut>(&self, w: &mut B) -> Result<(), EncodeError>;

    /// Decodes a value that must take exactly `bytes`.
    fn decode_exact(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes, &Limits::UNLIMITED_ARRAYS);
        let value = Self::decode(&mut r)?;
        r.finish()?;
        Ok(value)
    }

    fn to_bytes(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::new();
        self.encode(&mut out)?;
        Ok(out)
    }
}

/// A ticket that is usually a `u32` but that some clients send as a `u64`
/// (PeerInit). Keeps the width it travelled with, so re-encoding is exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum U32OrU64 {
    Narrow(u32),
    Wide(u64),
}

impl U32OrU64 {
    pub fn value(self) -> u64 {
        match self {
            Self::Narrow(v) => u64::from(v),
            Self::Wide(v) => v,
        }
    }

    pub fn encode<B: BufMut>(&self, w: &mut B) {
        match *self {
            Self::Narrow(v) => w.put_u32_le(v),
            Self::Wide(v) => w.put_u64_le(v),
        }
    }
}

impl Default for U32OrU64 {
    fn default() -> Self {
        Self::Narrow(0)
    }
}

impl From<u32> for U32OrU64 {
    fn from(v: u32) -> Self {
        Self::Narrow(v)
    }
}

/// Reads values from a byte slice, tracking the offset for errors.
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    limits: &'a Limits,
    /// How many arrays enclose the value being read.
    depth: usize,
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8], limits: &'a Limits) -> Self {
        Self {
            data,
            pos: 0,
            limits,
            depth: 0,
        }
    }

    /// A reader whose values sit inside `depth` arrays already (for decoding
    /// the elements of an array one at a time).
    pub fn at_depth(data: &'a [u8], limits: &'a Limits, depth: usize) -> Self {
        Self {
            depth,
            ..Self::new(data, limits)
        }
    }

    /// The limits this reader enforces.
    pub fn limits(&self) -> &'a Limits {
        self.limits
    }

    /// Offset of the next byte to read.
    #[inline]
    pub fn offset(&self) -> usize {
        self.pos
    }

    #[inline]
    pub fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    #[inline]
    pub fn has_remaining(&self) -> bool {
        self.pos < self.data.len()
    }

    /// Fails if any byte is left.
    pub fn finish(&self) -> Result<(), DecodeError> {
        match self.remaining() {
            0 => Ok(()),
            count => Err(DecodeError::new(
                DecodeErrorKind::TrailingBytes { count },
                self.pos,
            )),
        }
    }

    #[inline]
    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], DecodeError> {
        let remaining = self.remaining();
        if n > remaining {
            return Err(DecodeError::new(
                DecodeErrorKind::UnexpectedEnd {
                    needed: n,
                    remaining,
                },
                self.pos,
            )
            .within(field));
        }
        let bytes = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(bytes)
    }

    #[inline]
    fn array_of<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], DecodeError> {
        let bytes = self.take(N, field)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    #[inline]
    pub fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        Ok(self.take(1, field)?[0])
    }

    #[inline]
    pub fn u16(&mut self, field: &'static str) -> Result<u16, DecodeError> {
        self.array_of(field).map(u16::from_le_bytes)
    }

    #[inline]
    pub fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        self.array_of(field).map(u32::from_le_bytes)
    }

    #[inline]
    pub fn u64(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        self.array_of(field).map(u64::from_le_bytes)
    }

    #[inline]
    pub fn i32(&mut self, field: &'static str) -> Result<i32, DecodeError> {
        self.array_of(field).map(i32::from_le_bytes)
    }

    /// One byte; any non-zero value reads as true.
    #[inline]
    pub fn bool(&mut self, field: &'static str) -> Result<bool, DecodeError> {
        Ok(self.u8(field)? != 0)
    }

    /// A length-prefixed string: UTF-8, or latin-1 when it is not valid UTF-8.
    #[inline]
    pub fn string(&mut self, field: &'static str) -> Result<String, DecodeError> {
        let len = self.u32(field)? as usize;
        self.take(len, field).map(decode_text)
    }

    /// Length-prefixed bytes.
    #[inline]
    pub fn bytes(&mut self, field: &'static str) -> Result<Vec<u8>, DecodeError> {
        let len = self.u32(field)? as usize;
        self.take(len, field).map(<[u8]>::to_vec)
    }

    /// An IPv4 address: a little-endian `u32` of its numeric value.
    #[inline]
    pub fn ip(&mut self, field: &'static str) -> Result<Ipv4Addr, DecodeError> {
        self.u32(field).map(Ipv4Addr::from)
    }

    /// A `u64` file size; old clients send sizes over 2 GiB as a `u32`
    /// followed by `FF FF FF FF`, so a high half of all ones reads as the low half.
    #[inline]
    pub fn file_size(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        let raw = self.u64(field)?;
        Ok(if raw >> 32 == 0xFFFF_FFFF {
            raw & 0xFFFF_FFFF
        } else {
            raw
        })
    }

    /// A `u64` when exactly 8 bytes remain, else a `u32`.
    #[inline]
    pub fn u32_or_u64(&mut self, field: &'static str) -> Result<U32OrU64, DecodeError> {
        if self.remaining() == 8 {
            self.u64(field).map(U32OrU64::Wide)
        } else {
            self.u32(field).map(U32OrU64::Narrow)
        }
    }

    /// Exactly `N` bytes.
    #[inline]
    pub fn raw<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], DecodeError> {
        self.array_of(field)
    }

    /// `N` zero bytes that some senders leave out: true (and skipped) when
    /// more than `N` bytes remain and the next `N` are all zero, else false
    /// (and nothing is read). Never fails.
    #[inline]
    pub fn zero_padding<const N: usize>(
        &mut self,
        _field: &'static str,
    ) -> Result<bool, DecodeError> {
        let rest = &self.data[self.pos..];
        if rest.len() > N && rest[..N].iter().all(|&b| b == 0) {
            self.pos += N;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    /// Every byte left.
    #[inline]
    pub fn rest(&mut self, field: &'static str) -> Result<Vec<u8>, DecodeError> {
        let n = self.remaining();
        self.take(n, field).map(<[u8]>::to_vec)
    }

    /// A value of a structure; errors inside it get `field` in their path.
    #[inline]
    pub fn nested<T>(
        &mut self,
        field: &'static str,
        decode: impl FnOnce(&mut Self) -> Result<T, DecodeError>,
    ) -> Result<T, DecodeError> {
        decode(self).map_err(|e| e.within(field))
    }

    /// A `u32` count, then that many elements of at least `min_size` bytes.
    ///
    /// The count is checked against the bytes that remain (and the array
    /// limits) before anything is reserved.
    #[inline]
    pub fn array<T>(
        &mut self,
        field: &'static str,
        min_size: usize,
        mut element: impl FnMut(&mut Self) -> Result<T, DecodeError>,
    ) -> Result<Vec<T>, DecodeError> {
        let count = self.array_count(field, min_size)?;
        self.depth += 1;
        let mut out = Vec::with_capacity(count);
        for i in 0..count {
            match element(self) {
                Ok(value) => out.push(value),
                Err(e) => {
                    self.depth -= 1;
                    return Err(e.at_index(i).within(field));
                }
            }
        }
        self.depth -= 1;
        Ok(out)
    }

    /// Reads an array's `u32` count and checks it against the array limits
    /// and the bytes that remain, for elements of at least `min_size` bytes.
    #[inline]
    pub fn array_count(
        &mut self,
        field: &'static str,
        min_size: usize,
    ) -> Result<usize, DecodeError> {
        let count_at = self.pos;
        if self.depth >= self.limits.max_array_depth {
            return Err(DecodeError::new(
                DecodeErrorKind::ArrayTooDeep {
                    limit: self.limits.max_array_depth,
                },
                count_at,
            )
            .within(field));
        }
        let count = self.u32(field)?;
        let remaining = self.remaining();
        if count as usize > self.limits.max_array_len {
            return Err(DecodeError::new(
                DecodeErrorKind::ArrayOverLimit {
                    count,
                    limit: self.limits.max_array_len,
                },
                count_at,
            )
            .within(field));
        }
        if count as usize > remaining / min_size.max(1) {
            return Err(DecodeError::new(
                DecodeErrorKind::ArrayTooLong {
                    count,
                    remaining,
                    min_element_size: min_size,
                },
                count_at,
            )
            .within(field));
        }
        Ok(count as usize)
    }

    /// Fails unless all parallel arrays have the same length.
    pub fn check_parallel(&self, lengths: &[usize]) -> Result<(), DecodeError> {
        if lengths.windows(2).all(|w| w[0] == w[1]) {
            Ok(())
        } else {
            Err(DecodeError::new(
                DecodeErrorKind::ParallelMismatch {
                    lengths: lengths.to_vec(),
                },
                self.pos,
            ))
        }
    }
}

/// UTF-8 if valid, else latin-1 (every byte is one character), so decoding
/// text never fails.
#[inline]
pub fn decode_text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

pub fn put_bool<B: BufMut>(w: &mut B, value: bool) {
    w.put_u8(u8::from(value));
}

/// Writes a `u32` length or count, or fails when `len` does not fit one.
#[inline]
fn put_len<B: BufMut>(w: &mut B, field: &'static str, len: usize) -> Result<(), EncodeError> {
    match u32::try_from(len) {
        Ok(len) => {
            w.put_u32_le(len);
            Ok(())
        }
        Err(_) => Err(EncodeError::field_too_long(field, len)),
    }
}

/// Writes a length-prefixed UTF-8 string; fails (writing nothing) if it is
/// longer than `u32::MAX` bytes, which no frame can carry.
#[inline]
pub fn put_string<B: BufMut>(
    w: &mut B,
    field: &'static str,
    value: &str,
) -> Result<(), EncodeError> {
    put_bytes(w, field, value.as_bytes())
}

/// Writes length-prefixed bytes; fails (writing nothing) if there are more
/// than `u32::MAX`.
#[inline]
pub fn put_bytes<B: BufMut>(
    w: &mut B,
    field: &'static str,
    value: &[u8],
) -> Result<(), EncodeError> {
    put_len(w, field, value.len())?;
    w.put_slice(value);
    Ok(())
}

pub fn put_ip<B: BufMut>(w: &mut B, value: Ipv4Addr) {
    w.put_u32_le(u32::from(value));
}

/// Writes a `u32` count, then each element; fails if there are more than
/// `u32::MAX` elements (writing nothing) or an element fails.
#[inline]
pub fn put_array<B: BufMut, T>(
    w: &mut B,
    field: &'static str,
    items: &[T],
    mut element: impl FnMut(&mut B, &T) -> Result<(), EncodeError>,
) -> Result<(), EncodeError> {
    put_len(w, field, items.len())?;
    for item in items {
        element(w, item)?;
    }
    Ok(())
}

/// How a table value may be written in serde formats: its schema name, or
/// its raw wire value.
#[cfg(feature = "serde")]
#[derive(serde::Deserialize)]
#[serde(untagged)]
pub enum TableValue {
    Name(String),
    Raw(u64),
}

/// How a value of a string table may be written in serde formats: a schema
/// name or a raw wire value that is not one, or tagged as
/// `{"Unknown": raw}` (which is how unknown values are written, since a raw
/// value may spell a listed value's name).
#[cfg(feature = "serde")]
#[derive(serde::Deserialize)]
#[serde(untagged)]
pub enum StringTableValue {
    Text(String),
    Tagged(UnknownStringValue),
}

/// `{"Unknown": raw}`: a string table's raw value, never read as a name.
#[cfg(feature = "serde")]
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnknownStringValue {
    #[serde(rename = "Unknown")]
    pub raw: String,
}

#[cfg(feature = "arbitrary")]
pub use arbitrary_support::*;

#[cfg(feature = "arbitrary")]
mod arbitrary_support {
    use super::U32OrU64;
    use arbitrary::{Arbitrary, Result, Unstructured};

    impl<'a> Arbitrary<'a> for U32OrU64 {
        fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
            Ok(if u.arbitrary()? {
                Self::Wide(u.arbitrary()?)
            } else {
                Self::Narrow(u.arbitrary()?)
            })
        }
    }

    /// A file size that survives the `FF FF FF FF` quirk.
    pub fn arbitrary_file_size(u: &mut Unstructured<'_>) -> Result<u64> {
        let size: u64 = u.arbitrary()?;
        Ok(if size >> 32 == 0xFFFF_FFFF {
            size & 0xFFFF_FFFF
        } else {
            size
        })
    }

    /// A short vector of elements made by `element`.
    pub fn arbitrary_vec<'a, T>(
        u: &mut Unstructured<'a>,
        mut element: impl FnMut(&mut Unstructured<'a>) -> Result<T>,
    ) -> Result<Vec<T>> {
        let len = u.int_in_range(0..=8usize)?;
        (0..len).map(|_| element(u)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(bytes: &[u8]) -> Reader<'_> {
        Reader::new(bytes, &Limits::DEFAULT)
    }

    #[test]
    fn ip_is_little_endian_numeric() {
        assert_eq!(
            reader(&[4, 3, 2, 1]).ip("ip").unwrap(),
            Ipv4Addr::new(1, 2, 3, 4)
        );
        let mut out = Vec::new();
        put_ip(&mut out, Ipv4Addr::new(1, 2, 3, 4));
        assert_eq!(out, [4, 3, 2, 1]);
    }

    #[test]
    fn strings_fall_back_to_latin1() {
        let mut r = reader(&[3, 0, 0, 0, b'a', 0xE9, 0xFF]);
        assert_eq!(r.string("s").unwrap(), "a\u{e9}\u{ff}");
        let mut r = reader(&[2, 0, 0, 0, 0xC3, 0xA9]);
        assert_eq!(r.string("s").unwrap(), "\u{e9}");
    }

    #[test]
    fn file_size_quirk_reads_the_low_half() {
        let mut r = reader(&[0x00, 0x00, 0x00, 0x80, 0xFF, 0xFF, 0xFF, 0xFF]);
        assert_eq!(r.file_size("filesize").unwrap(), 0x8000_0000);
        let mut r = reader(&[1, 0, 0, 0, 1, 0, 0, 0]);
        assert_eq!(r.file_size("filesize").unwrap(), 0x1_0000_0001);
    }

    #[test]
    fn huge_array_count_is_refused_before_allocating() {
        let mut r = reader(&[0xE8, 0x03, 0, 0, 0, 0, 0, 0]);
        let e = r.array("items", 4, |r| r.u32("")).unwrap_err();
        let DecodeErrorKind::ArrayTooLong {
            count, remaining, ..
        } = *e.kind()
        else {
            panic!("{e}");
        };
        assert_eq!((count, remaining), (1000, 4));
        assert_eq!((e.offset(), e.field()), (0, "items".to_string()));

        let mut r = reader(&[0xFF, 0xFF, 0xFF, 0x7F]);
        let e = r.array("items", 4, |r| r.u32("")).unwrap_err();
        assert!(
            matches!(e.kind(), DecodeErrorKind::ArrayOverLimit { .. }),
            "{e}"
        );
    }

    #[test]
    fn array_errors_name_the_element() {
        let mut r = reader(&[2, 0, 0, 0, 1, 0, 0, 0, 9, 0, 0]);
        let e = r.array("items", 1, |r| r.u32("")).unwrap_err();
        assert_eq!(e.field(), "items[1]");
        assert_eq!(e.offset(), 8);
    }
}
