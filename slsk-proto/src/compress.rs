//! zlib (RFC 1950) bodies of the compressed peer messages.

use std::io::Write;

use bytes::BufMut;
use flate2::{Compression, Decompress, FlushDecompress, Status, write::ZlibEncoder};

use crate::error::{DecodeError, DecodeErrorKind};
use crate::limits::Limits;

/// The most bytes one call into the zlib backend may produce: the limits
/// are checked between calls, so this is how far past a limit inflating can
/// get before it is refused.
pub const INFLATE_STEP: usize = 64 << 10;

/// A zlib stream inflated step by step, refusing as soon as the output passes
/// [`Limits::max_inflated_size`] or grows more than
/// [`Limits::max_inflate_ratio`] times the compressed bytes consumed so far.
///
/// [`inflate`] uses it to inflate a whole body; [`crate::stream::BodyStream`]
/// to inflate a window at a time.
pub struct Inflater<'a> {
    input: &'a [u8],
    state: Decompress,
    limits: &'a Limits,
    ended: bool,
}

impl<'a> Inflater<'a> {
    pub fn new(input: &'a [u8], limits: &'a Limits) -> Self {
        Self {
            input,
            state: Decompress::new(true),
            limits,
            ended: false,
        }
    }

    /// Compressed bytes consumed so far.
    pub fn total_in(&self) -> usize {
        self.state.total_in() as usize
    }

    /// Bytes inflated so far.
    pub fn total_out(&self) -> usize {
        self.state.total_out() as usize
    }

    /// True once the zlib stream has ended.
    pub fn is_ended(&self) -> bool {
        self.ended
    }

    /// Inflates into `out` (from its start) until it is full or the stream
    /// ends; returns how many bytes were written. Fewer than `out.len()`
    /// only at the end of the stream.
    pub fn fill(&mut self, out: &mut [u8]) -> Result<usize, DecodeError> {
        let mut filled = 0;
        while filled < out.len() && !self.ended {
            // Never let one call produce more than a step, nor cross the
            // size limit by more than one byte.
            let allowed =
                (self.limits.max_inflated_size.saturating_add(1)).saturating_sub(self.total_out());
            let step = (out.len() - filled).min(INFLATE_STEP).min(allowed.max(1));
            let consumed = self.total_in();
            let produced = self.total_out();
            let status = self
                .state
                .decompress(
                    &self.input[consumed..],
                    &mut out[filled..filled + step],
                    FlushDecompress::None,
                )
                .map_err(|e| inflate_error(e.to_string(), consumed))?;
            let wrote = self.total_out() - produced;
            filled += wrote;
            self.check_limits()?;
            match status {
                Status::StreamEnd => self.ended = true,
                Status::Ok | Status::BufError => {
                    if wrote == 0 && self.total_in() == consumed {
                        return Err(inflate_error(
                            "the stream ends early".into(),
                            self.total_in(),
                        ));
                    }
                }
            }
        }
        Ok(filled)
    }

    /// Inflates up to `max` more bytes onto the end of `out`, growing it a
    /// step at a time; returns how many were added. Fewer than `max` only
    /// at the end of the stream.
    pub fn extend(&mut self, out: &mut Vec<u8>, max: usize) -> Result<usize, DecodeError> {
        let start = out.len();
        while out.len() - start < max && !self.ended {
            let at = out.len();
            let step = (max - (at - start)).min(INFLATE_STEP);
            out.resize(at + step, 0);
            let result = self.fill(&mut out[at..]);
            out.truncate(at + *result.as_ref().unwrap_or(&0));
            result?;
        }
        Ok(out.len() - start)
    }

    /// The size cap first (the hard bound on memory), then the ratio, which
    /// applies only past [`Limits::RATIO_FLOOR`] (see [`Limits`] for why).
    fn check_limits(&self) -> Result<(), DecodeError> {
        let inflated = self.total_out();
        let compressed = self.total_in();
        let kind = if inflated > self.limits.max_inflated_size {
            DecodeErrorKind::InflatedTooLarge {
                inflated,
                limit: self.limits.max_inflated_size,
            }
        } else if inflated > Limits::RATIO_FLOOR
            && inflated > compressed.saturating_mul(self.limits.max_inflate_ratio)
        {
            DecodeErrorKind::InflateRatioTooHigh {
                inflated,
                compressed,
                limit: self.limits.max_inflate_ratio,
            }
        } else {
            return Ok(());
        };
        Err(DecodeError::new(kind, compressed))
    }

    /// Fails unless the stream has ended and used every input byte.
    pub fn finish(&self) -> Result<(), DecodeError> {
        let consumed = self.total_in();
        if !self.ended {
            return Err(inflate_error("the stream ends early".into(), consumed));
        }
        if consumed != self.input.len() {
            return Err(DecodeError::new(
                DecodeErrorKind::TrailingBytes {
                    count: self.input.len() - consumed,
                },
                consumed,
            ));
        }
        Ok(())
    }
}

fn inflate_error(reason: String, offset: usize) -> DecodeError {
    DecodeError::new(DecodeErrorKind::Inflate { reason }, offset)
}

/// Inflates a whole zlib stream, refusing as soon as the output passes the
/// size or ratio limits.
pub fn inflate(input: &[u8], limits: &Limits) -> Result<Vec<u8>, DecodeError> {
    let mut inflater = Inflater::new(input, limits);
    // Share lists typically inflate 3-6x; start there and grow geometrically.
    let mut out = Vec::with_capacity(input.len().saturating_mul(4).clamp(4096, 64 << 20));
    while !inflater.is_ended() {
        inflater.extend(&mut out, INFLATE_STEP)?;
    }
    inflater.finish()?;
    Ok(out)
}

/// Deflates `body` as one zlib stream onto `w`.
pub fn deflate_into<B: BufMut>(body: &[u8], w: &mut B) {
    let mut encoder = ZlibEncoder::new(w.writer(), Compression::default());
    // Writing into memory cannot fail.
    encoder.write_all(body).expect("in-memory write");
    encoder.finish().expect("in-memory write");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let body: Vec<u8> = (0..100_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        let mut compressed = Vec::new();
        deflate_into(&body, &mut compressed);
        assert_eq!(&compressed[..1], &[0x78]);
        assert_eq!(inflate(&compressed, &Limits::DEFAULT).unwrap(), body);
    }

    /// 16 MiB of zeros deflate to about 16 KiB: a 1000x bomb.
    fn bomb() -> (usize, Vec<u8>) {
        let body = vec![0u8; 16 << 20];
        let mut compressed = Vec::new();
        deflate_into(&body, &mut compressed);
        assert!(
            body.len() / compressed.len() >= 1000,
            "{}",
            compressed.len()
        );
        (body.len(), compressed)
    }

    #[test]
    fn bomb_is_refused_by_ratio_while_streaming() {
        let (inflated, compressed) = bomb();
        let mut inflater = Inflater::new(&compressed, &Limits::DEFAULT);
        let mut out = vec![0u8; inflated];
        let e = inflater.fill(&mut out).unwrap_err();
        let DecodeErrorKind::InflateRatioTooHigh {
            inflated,
            compressed: consumed,
            limit,
        } = *e.kind()
        else {
            panic!("{e}");
        };
        // Refused at the first check past the 1 MiB floor: the ratio allows
        // no more than 800 times the few bytes consumed by then.
        assert_eq!(limit, Limits::DEFAULT.max_inflate_ratio);
        assert_eq!(
            (inflated, consumed),
            (inflater.total_out(), inflater.total_in())
        );
        assert!(inflated > consumed * 800);
        assert!(inflater.total_out() <= Limits::RATIO_FLOOR + INFLATE_STEP);
        assert!(
            e.to_string().contains("max_inflate_ratio"),
            "the error names the limit: {e}"
        );
        assert!(inflater.total_in() * 8 < compressed.len());
        assert_eq!(e.offset(), inflater.total_in());
    }

    #[test]
    fn bomb_is_refused_by_size_while_streaming() {
        let (_, compressed) = bomb();
        let limits = Limits {
            max_inflated_size: 100_000,
            max_inflate_ratio: usize::MAX,
            ..Limits::DEFAULT
        };
        let mut inflater = Inflater::new(&compressed, &limits);
        let e = inflater
            .extend(&mut Vec::new(), usize::MAX >> 1)
            .unwrap_err();
        assert_eq!(
            e.kind(),
            &DecodeErrorKind::InflatedTooLarge {
                inflated: 100_001,
                limit: 100_000
            }
        );
        assert!(
            e.to_string()
                .contains("max_inflated_size: 100001 bytes, over the limit of 100000"),
            "the error names the limit: {e}"
        );
        // One byte past the limit, never more.
        assert_eq!(inflater.total_out(), 100_001);
        assert!(inflater.total_in() * 100 < compressed.len());

        let e = inflate(&compressed, &limits).unwrap_err();
        assert!(matches!(e.kind(), DecodeErrorKind::InflatedTooLarge { .. }));
        let e = inflate(&compressed, &Limits::DEFAULT).unwrap_err();
        assert!(matches!(
            e.kind(),
            DecodeErrorKind::InflateRatioTooHigh { .. }
        ));
    }

    #[test]
    fn ordinary_ratios_pass() {
        // Text that compresses about 20x, well over the 1 MiB floor.
        let body: Vec<u8> = (0..200_000u32)
            .flat_map(|i| format!("Music\\Artist\\{:03}.mp3 ", i % 1000).into_bytes())
            .collect();
        let mut compressed = Vec::new();
        deflate_into(&body, &mut compressed);
        assert!(body.len() > 2 * Limits::RATIO_FLOOR);
        assert_eq!(inflate(&compressed, &Limits::DEFAULT).unwrap(), body);
        let strict = Limits {
            max_inflate_ratio: 2,
            ..Limits::DEFAULT
        };
        assert!(inflate(&compressed, &strict).is_err());
    }

    #[test]
    fn truncated_and_garbage_streams_fail() {
        let mut compressed = Vec::new();
        deflate_into(b"hello hello hello", &mut compressed);
        assert!(inflate(&compressed[..compressed.len() - 3], &Limits::DEFAULT).is_err());
        assert!(inflate(b"not zlib at all", &Limits::DEFAULT).is_err());
        assert!(inflate(&[], &Limits::DEFAULT).is_err());
        compressed.push(0);
        assert!(matches!(
            inflate(&compressed, &Limits::DEFAULT).unwrap_err().kind(),
            DecodeErrorKind::TrailingBytes { count: 1 }
        ));
    }
}
