//! Decoding a compressed body a piece at a time, in bounded memory.
//!
//! [`Message::decode_payload`] inflates the
//! whole body, then builds the whole message: for a share list of a million
//! files that is the inflated body plus every decoded file at once.
//! [`BodyStream`] instead inflates into a small window and decodes one value
//! at a time from it, so memory stays near the size of the largest single
//! value (one directory of a share list), whatever the size of the message.
//! [`PeerSharesReply::decode_streaming`] uses it to hand a share list over
//! directory by directory.

use crate::compress::Inflater;
use crate::error::{DecodeError, DecodeErrorKind};
use crate::limits::Limits;
use crate::message::Message;
use crate::peer::PeerSharesReply;
use crate::structures::DirectoryData;
use crate::wire::{Reader, Wire};

/// The window starts this large and doubles while a single value needs more.
const INITIAL_WINDOW: usize = 64 << 10;

/// A compressed body, inflated a window at a time and decoded value by value.
///
/// ```
/// use slsk_proto::{Limits, Message, Wire};
/// use slsk_proto::peer::PeerSharesReply;
/// use slsk_proto::stream::BodyStream;
/// use slsk_proto::structures::DirectoryData;
///
/// let reply = PeerSharesReply { directories: vec![], unknown: 0, locked_directories: None };
/// let mut payload = Vec::new();
/// reply.encode_payload(&mut payload).unwrap();
///
/// let mut body = BodyStream::new(&payload, &Limits::DEFAULT);
/// let count = body.each("directories", DirectoryData::decode, |_dir| {}).unwrap();
/// let unknown = body.read(|r| r.u32("unknown")).unwrap();
/// assert!(!body.has_remaining().unwrap());
/// body.finish().unwrap();
/// assert_eq!((count, unknown), (0, 0));
/// ```
pub struct BodyStream<'a> {
    inflater: Inflater<'a>,
    limits: &'a Limits,
    /// Inflated bytes; those before `start` have been decoded.
    window: Vec<u8>,
    start: usize,
    /// Offset of `window[0]` in the inflated body, for errors.
    base: usize,
    /// How full a refill makes the window.
    target: usize,
    peak: usize,
}

impl<'a> BodyStream<'a> {
    /// A stream over `payload`, a zlib body as it travels.
    pub fn new(payload: &'a [u8], limits: &'a Limits) -> Self {
        Self {
            inflater: Inflater::new(payload, limits),
            limits,
            window: Vec::new(),
            start: 0,
            base: 0,
            target: INITIAL_WINDOW,
            peak: 0,
        }
    }

    /// Decodes one value with `decode` (such as a structure's
    /// [`Wire::decode`]), inflating more of the body while it needs more.
    ///
    /// The value's encoding must not depend on where the body ends: any
    /// structure or fixed-size value. For an optional trailing field, ask
    /// [`has_remaining`](Self::has_remaining) first.
    pub fn read<T>(
        &mut self,
        decode: impl FnMut(&mut Reader<'_>) -> Result<T, DecodeError>,
    ) -> Result<T, DecodeError> {
        self.read_at_depth(0, decode)
    }

    fn read_at_depth<T>(
        &mut self,
        depth: usize,
        mut decode: impl FnMut(&mut Reader<'_>) -> Result<T, DecodeError>,
    ) -> Result<T, DecodeError> {
        loop {
            let mut r = Reader::at_depth(&self.window[self.start..], self.limits, depth);
            let result = decode(&mut r);
            let read = r.offset();
            match result {
                Ok(value) => {
                    self.start += read;
                    return Ok(value);
                }
                Err(e) if needs_more(&e) && !self.inflater.is_ended() => self.refill()?,
                Err(e) => return Err(e.shifted(self.base + self.start).inflated()),
            }
        }
    }

    /// Reads an array: its `u32` count, then each element with `decode`,
    /// handing it to `visit` before the next is read. Returns the count.
    ///
    /// The elements are at array depth 1 for [`Limits::max_array_depth`].
    pub fn each<T>(
        &mut self,
        field: &'static str,
        mut decode: impl FnMut(&mut Reader<'_>) -> Result<T, DecodeError>,
        mut visit: impl FnMut(T),
    ) -> Result<usize, DecodeError> {
        let count_at = self.position();
        let count = self.read(|r| r.u32(field))?;
        if count as usize > self.limits.max_array_len {
            let kind = DecodeErrorKind::ArrayOverLimit {
                count,
                limit: self.limits.max_array_len,
            };
            return Err(DecodeError::new(kind, count_at).within(field).inflated());
        }
        for i in 0..count as usize {
            let element = self
                .read_at_depth(1, &mut decode)
                .map_err(|e| e.at_index(i).within(field))?;
            visit(element);
        }
        Ok(count as usize)
    }

    /// True if any inflated byte is left to decode (inflating more to find out).
    pub fn has_remaining(&mut self) -> Result<bool, DecodeError> {
        if self.start == self.window.len() && !self.inflater.is_ended() {
            self.refill()?;
        }
        Ok(self.start < self.window.len())
    }

    /// Offset of the next byte to decode, in the inflated body.
    pub fn position(&self) -> usize {
        self.base + self.start
    }

    /// The largest the window has been, in bytes: the memory this stream
    /// needed beyond the decoded values.
    pub fn peak_window(&self) -> usize {
        self.peak
    }

    /// Fails unless every inflated byte was decoded and the zlib stream
    /// ended with the payload.
    pub fn finish(mut self) -> Result<(), DecodeError> {
        if self.has_remaining()? {
            let count = self.window.len() - self.start;
            return Err(DecodeError::new(
                DecodeErrorKind::TrailingBytes { count },
                self.position(),
            )
            .inflated());
        }
        self.inflater.finish()
    }

    /// Drops the decoded bytes and inflates more, growing the window when the
    /// value being decoded fills half of it.
    fn refill(&mut self) -> Result<(), DecodeError> {
        if self.start > 0 {
            self.window.drain(..self.start);
            self.base += self.start;
            self.start = 0;
        }
        if self.window.len() >= self.target / 2 {
            self.target = self.target.saturating_mul(2);
        }
        let want = self.target - self.window.len();
        self.inflater.extend(&mut self.window, want)?;
        self.peak = self.peak.max(self.window.capacity());
        Ok(())
    }
}

/// Whether a decode failed only because the window ended too soon: ran out
/// of bytes, or saw an array count the bytes so far cannot hold.
fn needs_more(e: &DecodeError) -> bool {
    matches!(
        e.kind(),
        DecodeErrorKind::UnexpectedEnd { .. } | DecodeErrorKind::ArrayTooLong { .. }
    )
}

/// Which list of a share list a directory comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShareSection {
    /// `directories`: the requester may download from these.
    Public,
    /// `locked_directories`: visible but not downloadable.
    Locked,
}

/// What is left of a [`PeerSharesReply`] once its directories have been
/// handed over by [`PeerSharesReply::decode_streaming`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SharesReplyRest {
    pub unknown: u32,
    /// Whether the optional `locked_directories` list was sent (possibly empty).
    pub has_locked_directories: bool,
}

impl PeerSharesReply {
    /// Decodes a compressed payload one directory at a time, handing each to
    /// `visit`; memory stays near the size of the largest directory instead
    /// of the whole list.
    ///
    /// On an error the directories already visited were well-formed, but the
    /// message as a whole is not: treat the list as refused.
    pub fn decode_streaming(
        payload: &[u8],
        limits: &Limits,
        mut visit: impl FnMut(ShareSection, DirectoryData),
    ) -> Result<SharesReplyRest, DecodeError> {
        let mut decode = || -> Result<SharesReplyRest, DecodeError> {
            let mut body = BodyStream::new(payload, limits);
            body.each("directories", DirectoryData::decode, |d| {
                visit(ShareSection::Public, d)
            })?;
            let unknown = body.read(|r| r.u32("unknown"))?;
            let has_locked_directories = body.has_remaining()?;
            if has_locked_directories {
                body.each("locked_directories", DirectoryData::decode, |d| {
                    visit(ShareSection::Locked, d)
                })?;
            }
            body.finish()?;
            Ok(SharesReplyRest {
                unknown,
                has_locked_directories,
            })
        };
        decode().map_err(|e| e.in_message(Self::NAME))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::structures::{Attribute, FileData};
    use crate::tables::FileAttributeKind;

    fn shares(directories: usize, files: usize) -> PeerSharesReply {
        let dir = |d: usize| DirectoryData {
            name: format!("Music\\Artist {d}\\Album {d}"),
            files: (0..files)
                .map(|f| FileData {
                    code: 1,
                    filename: format!("{f:02} - Track number {f} of album {d}.mp3"),
                    filesize: (d * 7919 + f * 104_729) as u64,
                    extension: "mp3".into(),
                    attributes: vec![
                        Attribute {
                            key: FileAttributeKind::Bitrate,
                            value: 320,
                        },
                        Attribute {
                            key: FileAttributeKind::Duration,
                            value: f as u32,
                        },
                    ],
                })
                .collect(),
        };
        PeerSharesReply {
            directories: (0..directories).map(dir).collect(),
            unknown: 0,
            locked_directories: Some((0..3).map(dir).collect()),
        }
    }

    fn streamed(payload: &[u8], limits: &Limits) -> Result<PeerSharesReply, DecodeError> {
        let mut public = Vec::new();
        let mut locked = Vec::new();
        let rest =
            PeerSharesReply::decode_streaming(payload, limits, |section, d| match section {
                ShareSection::Public => public.push(d),
                ShareSection::Locked => locked.push(d),
            })?;
        Ok(PeerSharesReply {
            directories: public,
            unknown: rest.unknown,
            locked_directories: rest.has_locked_directories.then_some(locked),
        })
    }

    #[test]
    fn streaming_matches_whole_decode_in_a_small_window() {
        let reply = shares(2000, 10);
        let mut payload = Vec::new();
        reply.encode_payload(&mut payload).unwrap();
        let mut body = Vec::new();
        reply.encode_body(&mut body).unwrap();
        assert!(body.len() > 1 << 20, "{}", body.len());

        assert_eq!(streamed(&payload, &Limits::DEFAULT).unwrap(), reply);

        let mut stream = BodyStream::new(&payload, &Limits::DEFAULT);
        stream
            .each("directories", DirectoryData::decode, drop)
            .unwrap();
        assert!(
            stream.peak_window() <= 2 * INITIAL_WINDOW,
            "window {} for a body of {}",
            stream.peak_window(),
            body.len()
        );
    }

    #[test]
    fn a_directory_larger_than_the_window_grows_it() {
        let reply = shares(3, 5000);
        let mut payload = Vec::new();
        reply.encode_payload(&mut payload).unwrap();
        assert_eq!(streamed(&payload, &Limits::DEFAULT).unwrap(), reply);
    }

    #[test]
    fn errors_are_the_whole_decoders_errors() {
        let reply = shares(50, 3);
        let mut body = Vec::new();
        reply.encode_body(&mut body).unwrap();
        for cut in [0, 3, 4, 100, body.len() / 2, body.len() - 1] {
            let mut payload = Vec::new();
            crate::compress::deflate_into(&body[..cut], &mut payload);
            let whole = PeerSharesReply::decode_payload(&payload, &Limits::DEFAULT);
            let stream = streamed(&payload, &Limits::DEFAULT);
            assert!(whole.is_err() && stream.is_err(), "cut at {cut}");
        }
        let mut payload = Vec::new();
        crate::compress::deflate_into(&body, &mut payload);
        payload.push(0);
        assert!(streamed(&payload, &Limits::DEFAULT).is_err());
        let e = streamed(&payload[..payload.len() - 5], &Limits::DEFAULT).unwrap_err();
        assert_eq!(e.message(), Some("PeerSharesReply"));
    }
}
