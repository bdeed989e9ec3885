//! Minimal but real audio files (valid headers lofty parses), for tests and
//! the benchmark.
#![allow(dead_code)]

/// A PCM WAV file with `data_len` bytes of silence.
pub fn wav(sample_rate: u32, bits: u16, channels: u16, data_len: u32) -> Vec<u8> {
    let block_align = channels * bits / 8;
    let byte_rate = sample_rate * u32::from(block_align);
    let mut f = Vec::with_capacity(44 + data_len as usize);
    f.extend_from_slice(b"RIFF");
    f.extend_from_slice(&(36 + data_len).to_le_bytes());
    f.extend_from_slice(b"WAVEfmt ");
    f.extend_from_slice(&16u32.to_le_bytes());
    f.extend_from_slice(&1u16.to_le_bytes()); // PCM
    f.extend_from_slice(&channels.to_le_bytes());
    f.extend_from_slice(&sample_rate.to_le_bytes());
    f.extend_from_slice(&byte_rate.to_le_bytes());
    f.extend_from_slice(&block_align.to_le_bytes());
    f.extend_from_slice(&bits.to_le_bytes());
    f.extend_from_slice(b"data");
    f.extend_from_slice(&data_len.to_le_bytes());
    f.resize(44 + data_len as usize, 0);
    f
}

/// A FLAC file: the marker, a STREAMINFO block saying `total_samples`, and
/// a few bytes standing in for frames.
pub fn flac(sample_rate: u32, channels: u8, bits: u8, total_samples: u64) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(b"fLaC");
    f.extend_from_slice(&[0x80, 0, 0, 34]); // last block, STREAMINFO, 34 bytes
    f.extend_from_slice(&4096u16.to_be_bytes()); // min block size
    f.extend_from_slice(&4096u16.to_be_bytes()); // max block size
    f.extend_from_slice(&[0, 0, 0, 0, 0, 0]); // min/max frame size unknown
    let packed = (u64::from(sample_rate) << 44)
        | (u64::from(channels - 1) << 41)
        | (u64::from(bits - 1) << 36)
        | total_samples;
    f.extend_from_slice(&packed.to_be_bytes());
    f.extend_from_slice(&[0; 16]); // MD5 unknown
    f.extend_from_slice(&[0xff, 0xf8, 0x69, 0x08, 0, 0, 0, 0]);
    f
}

/// MPEG-1 layer III, 128 kbps, 44.1 kHz, mono: frames of 417 bytes.
const MP3_HEADER: [u8; 4] = [0xff, 0xfb, 0x90, 0xc0];
const MP3_FRAME: usize = 417;

/// An MP3 whose first frame carries a Xing (`vbr`) or Info (constant
/// bitrate) header claiming `frames` frames, followed by `extra` frames.
pub fn mp3(vbr: bool, frames: u32, extra: usize) -> Vec<u8> {
    let mut first = vec![0u8; MP3_FRAME];
    first[..4].copy_from_slice(&MP3_HEADER);
    // The tag follows the 17 bytes of mono side information.
    first[21..25].copy_from_slice(if vbr { b"Xing" } else { b"Info" });
    first[25..29].copy_from_slice(&3u32.to_be_bytes()); // frames and bytes present
    first[29..33].copy_from_slice(&frames.to_be_bytes());
    first[33..37].copy_from_slice(&(frames * MP3_FRAME as u32).to_be_bytes());
    let mut f = first;
    for _ in 0..extra {
        let mut frame = vec![0u8; MP3_FRAME];
        frame[..4].copy_from_slice(&MP3_HEADER);
        f.extend_from_slice(&frame);
    }
    f
}
