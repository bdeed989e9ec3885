//! zlib (RFC 1950) bodies of the compressed peer messages.

use std::io::Write;

use bytes::BufMut;
use flate2::{Compression, Decompress, FlushDecompress, Status, write::ZlibEncoder};

use crate::error::{DecodeError, DecodeErrorKind};
use crate::limits::Limits;

/// Inflates a whole zlib stream, refusing as soon as the output passes the
/// size or ratio limits.
pub fn inflate(input: &[u8], limits: &Limits) -> Result<Vec<u8>, DecodeError> {
    let ratio_cap = input
        .len()
        .saturating_mul(limits.max_inflate_ratio)
        .max(Limits::RATIO_FLOOR);
    let cap = limits.max_inflated_size.min(ratio_cap);
    let too_large = || DecodeError::new(DecodeErrorKind::InflatedTooLarge { limit: cap }, 0);
    let mut inflater = Decompress::new(true);
    // Share lists typically inflate 3-6x; start there and grow geometrically.
    let mut out = Vec::with_capacity(input.len().saturating_mul(4).clamp(64, cap.max(64)));
    loop {
        if out.len() == out.capacity() {
            if out.len() >= cap {
                return Err(too_large());
            }
            let grow = out.len().max(4096).min(cap - out.len());
            out.reserve_exact(grow);
        }
        let consumed = inflater.total_in() as usize;
        let produced = out.len();
        let status = inflater
            .decompress_vec(&input[consumed..], &mut out, FlushDecompress::None)
            .map_err(|e| inflate_error(e.to_string(), consumed))?;
        match status {
            Status::StreamEnd => break,
            Status::Ok | Status::BufError => {
                let progressed = inflater.total_in() as usize != consumed || out.len() != produced;
                if !progressed && out.len() < out.capacity() {
                    let at = inflater.total_in() as usize;
                    return Err(inflate_error("the stream ends early".into(), at));
                }
            }
        }
    }
    if out.len() > cap {
        return Err(too_large());
    }
    let consumed = inflater.total_in() as usize;
    if consumed != input.len() {
        return Err(DecodeError::new(
            DecodeErrorKind::TrailingBytes {
                count: input.len() - consumed,
            },
            consumed,
        ));
    }
    Ok(out)
}

fn inflate_error(reason: String, offset: usize) -> DecodeError {
    DecodeError::new(DecodeErrorKind::Inflate { reason }, offset)
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

    #[test]
    fn bomb_is_refused_early() {
        let body = vec![0u8; 8 << 20];
        let mut compressed = Vec::new();
        deflate_into(&body, &mut compressed);
        let e = inflate(&compressed, &Limits::DEFAULT).unwrap_err();
        assert!(
            matches!(e.kind(), DecodeErrorKind::InflatedTooLarge { .. }),
            "{e}"
        );
        let small = Limits {
            max_inflated_size: 1000,
            ..Limits::DEFAULT
        };
        let e = inflate(&compressed, &small).unwrap_err();
        assert!(
            matches!(e.kind(), DecodeErrorKind::InflatedTooLarge { limit: 1000 }),
            "{e}"
        );
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
