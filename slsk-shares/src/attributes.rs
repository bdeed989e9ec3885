//! Audio attributes of a shared file and their wire form (ERRATA: 0 bitrate
//! kbps, 1 duration s, 2 VBR, 4 sample rate Hz, 5 bit depth).

use slsk_proto::structures::Attribute;
use slsk_proto::tables::FileAttributeKind;

/// What is known about a file's audio; every field is optional (a plain file
/// or one whose metadata cannot be read has none).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct AudioAttributes {
    /// Audio bitrate in kbps.
    pub bitrate: Option<u32>,
    /// Length in whole seconds (rounded down).
    pub duration: Option<u32>,
    /// Whether the bitrate varies; known for MPEG audio only.
    pub vbr: Option<bool>,
    /// Sample rate in Hz.
    pub sample_rate: Option<u32>,
    /// Bits per sample; known for lossless formats only.
    pub bit_depth: Option<u32>,
}

impl AudioAttributes {
    /// True when nothing is known.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The attributes as they travel, in the order Nicotine+ sends them:
    /// lossless files (bit depth known) carry duration, sample rate and bit
    /// depth; lossy ones bitrate, duration and VBR.
    pub fn to_wire(&self) -> Vec<Attribute> {
        let attr = |key, value: Option<u32>| value.map(|value| Attribute { key, value });
        let list = if self.bit_depth.is_some() {
            [
                attr(FileAttributeKind::Duration, self.duration),
                attr(FileAttributeKind::SampleRate, self.sample_rate),
                attr(FileAttributeKind::BitDepth, self.bit_depth),
            ]
        } else {
            [
                attr(FileAttributeKind::Bitrate, self.bitrate),
                attr(FileAttributeKind::Duration, self.duration),
                attr(FileAttributeKind::Vbr, self.vbr.map(u32::from)),
            ]
        };
        list.into_iter().flatten().collect()
    }
}

/// [`AudioAttributes`] in 12 bytes, for the index's per-file table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct PackedAttributes {
    duration: u32,
    sample_rate: u32,
    bitrate: u16,
    bit_depth: u8,
    flags: u8,
}

const HAS_BITRATE: u8 = 1;
const HAS_DURATION: u8 = 2;
const HAS_VBR: u8 = 4;
const IS_VBR: u8 = 8;
const HAS_SAMPLE_RATE: u8 = 16;
const HAS_BIT_DEPTH: u8 = 32;

impl PackedAttributes {
    /// Bitrates above 65,535 kbps and bit depths above 255 do not exist in
    /// real audio; they saturate.
    pub(crate) fn pack(a: &AudioAttributes) -> Self {
        let mut flags = 0;
        let mut set = |present: bool, flag: u8| {
            if present {
                flags |= flag;
            }
        };
        set(a.bitrate.is_some(), HAS_BITRATE);
        set(a.duration.is_some(), HAS_DURATION);
        set(a.vbr.is_some(), HAS_VBR);
        set(a.vbr == Some(true), IS_VBR);
        set(a.sample_rate.is_some(), HAS_SAMPLE_RATE);
        set(a.bit_depth.is_some(), HAS_BIT_DEPTH);
        Self {
            duration: a.duration.unwrap_or(0),
            sample_rate: a.sample_rate.unwrap_or(0),
            bitrate: a.bitrate.unwrap_or(0).min(u32::from(u16::MAX)) as u16,
            bit_depth: a.bit_depth.unwrap_or(0).min(255) as u8,
            flags,
        }
    }

    pub(crate) fn unpack(self) -> AudioAttributes {
        let has = |flag: u8| self.flags & flag != 0;
        AudioAttributes {
            bitrate: has(HAS_BITRATE).then_some(u32::from(self.bitrate)),
            duration: has(HAS_DURATION).then_some(self.duration),
            vbr: has(HAS_VBR).then_some(has(IS_VBR)),
            sample_rate: has(HAS_SAMPLE_RATE).then_some(self.sample_rate),
            bit_depth: has(HAS_BIT_DEPTH).then_some(u32::from(self.bit_depth)),
        }
    }

    /// The 12 bytes stored in an index snapshot.
    pub(crate) fn to_bytes(self) -> [u8; 12] {
        let mut bytes = [0u8; 12];
        bytes[0..4].copy_from_slice(&self.duration.to_le_bytes());
        bytes[4..8].copy_from_slice(&self.sample_rate.to_le_bytes());
        bytes[8..10].copy_from_slice(&self.bitrate.to_le_bytes());
        bytes[10] = self.bit_depth;
        bytes[11] = self.flags;
        bytes
    }

    /// The inverse of [`PackedAttributes::to_bytes`]; every bit pattern is
    /// a valid value.
    pub(crate) fn from_bytes(bytes: [u8; 12]) -> Self {
        Self {
            duration: u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]),
            sample_rate: u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]),
            bitrate: u16::from_le_bytes([bytes[8], bytes[9]]),
            bit_depth: bytes[10],
            flags: bytes[11],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lossless_and_lossy_wire_order() {
        let flac = AudioAttributes {
            bitrate: Some(900),
            duration: Some(215),
            sample_rate: Some(44_100),
            bit_depth: Some(16),
            vbr: None,
        };
        let keys: Vec<_> = flac.to_wire().iter().map(|a| (a.key, a.value)).collect();
        assert_eq!(
            keys,
            [
                (FileAttributeKind::Duration, 215),
                (FileAttributeKind::SampleRate, 44_100),
                (FileAttributeKind::BitDepth, 16)
            ]
        );
        let mp3 = AudioAttributes {
            bitrate: Some(320),
            duration: Some(10),
            vbr: Some(false),
            sample_rate: Some(44_100),
            bit_depth: None,
        };
        let keys: Vec<_> = mp3.to_wire().iter().map(|a| (a.key, a.value)).collect();
        assert_eq!(
            keys,
            [
                (FileAttributeKind::Bitrate, 320),
                (FileAttributeKind::Duration, 10),
                (FileAttributeKind::Vbr, 0)
            ]
        );
        assert!(AudioAttributes::default().to_wire().is_empty());
    }

    #[test]
    fn packing_round_trips() {
        let all = AudioAttributes {
            bitrate: Some(1411),
            duration: Some(u32::MAX),
            vbr: Some(true),
            sample_rate: Some(192_000),
            bit_depth: Some(24),
        };
        for a in [
            all,
            AudioAttributes::default(),
            AudioAttributes {
                vbr: Some(false),
                ..Default::default()
            },
        ] {
            assert_eq!(PackedAttributes::pack(&a).unpack(), a);
        }
        assert_eq!(std::mem::size_of::<PackedAttributes>(), 12);
    }
}
