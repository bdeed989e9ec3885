//! Reading a file's audio attributes with `lofty` (and the MPEG VBR flag,
//! which lofty does not expose, from the Xing/VBRI header).

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use lofty::config::ParseOptions;
use lofty::file::{AudioFile, FileType};
use lofty::probe::Probe;

use crate::attributes::AudioAttributes;

/// Reads what the scanner needs from one file. The scanner calls it from
/// several threads for new and changed files only.
pub trait FileProbe: Send + Sync {
    /// `Err` means the file cannot be read: it is not shared. A file that can
    /// be opened but whose metadata is broken is `Ok` with no attributes.
    fn probe(&self, path: &Path) -> io::Result<AudioAttributes>;
}

/// The real probe: opens the file (so unreadable files are found), and for
/// the extensions lofty knows (mp3, flac, ogg, opus, m4a, wav, aiff, ape,
/// wv, mpc, aac, spx...) reads the audio properties, skipping tags and cover
/// art.
#[derive(Debug, Clone, Copy, Default)]
pub struct AudioProbe;

impl FileProbe for AudioProbe {
    fn probe(&self, path: &Path) -> io::Result<AudioAttributes> {
        let mut file = File::open(path)?;
        let Some(file_type) = path.extension().and_then(FileType::from_ext) else {
            return Ok(AudioAttributes::default());
        };
        // Files from the network can be hostile: a parser bug must cost one
        // file's attributes, not the scan.
        let read = catch_unwind(AssertUnwindSafe(|| read_audio(&mut file, file_type)));
        match read {
            Ok(Ok(attributes)) => Ok(attributes),
            Ok(Err(error)) => {
                tracing::debug!(path = %path.display(), %error, "no audio attributes");
                Ok(AudioAttributes::default())
            }
            Err(_) => {
                tracing::warn!(path = %path.display(), "audio parser panicked; shared without attributes");
                Ok(AudioAttributes::default())
            }
        }
    }
}

fn read_audio(file: &mut File, file_type: FileType) -> lofty::error::Result<AudioAttributes> {
    let options = ParseOptions::new().read_tags(false).read_cover_art(false);
    let tagged = Probe::with_file_type(io::BufReader::new(&mut *file), file_type)
        .options(options)
        .read()?;
    let p = tagged.properties();
    let secs = p.duration().as_secs();
    let mut attributes = AudioAttributes {
        bitrate: p.audio_bitrate().or(p.overall_bitrate()).filter(|&b| b > 0),
        duration: (!p.duration().is_zero()).then(|| u32::try_from(secs).unwrap_or(u32::MAX)),
        vbr: None,
        sample_rate: p.sample_rate().filter(|&r| r > 0),
        bit_depth: p.bit_depth().filter(|&d| d > 0).map(u32::from),
    };
    if file_type == FileType::Mpeg && attributes.bitrate.is_some() {
        attributes.vbr = mpeg_is_vbr(file).ok();
    }
    Ok(attributes)
}

/// True when the first MPEG frame carries a Xing or VBRI header (an "Info"
/// header, or none, means constant bitrate).
fn mpeg_is_vbr(file: &mut File) -> io::Result<bool> {
    let mut head = [0u8; 10];
    file.seek(SeekFrom::Start(0))?;
    file.read_exact(&mut head)?;
    let mut start = 0u64;
    if &head[..3] == b"ID3" {
        // ID3v2: 10-byte header, syncsafe size, optional 10-byte footer.
        let size = head[6..10]
            .iter()
            .fold(0u64, |acc, &b| (acc << 7) | u64::from(b & 0x7f));
        let footer = if head[5] & 0x10 != 0 { 10 } else { 0 };
        start = 10 + size + footer;
    }
    let mut window = Vec::with_capacity(4096);
    file.seek(SeekFrom::Start(start))?;
    file.take(4096).read_to_end(&mut window)?;
    let Some(sync) = window
        .windows(2)
        .position(|w| w[0] == 0xff && w[1] & 0xe0 == 0xe0)
    else {
        return Ok(false);
    };
    // The Xing header sits after the side information (at most 32 bytes),
    // VBRI at a fixed 32 bytes: both within the first 40 bytes of data.
    let frame = &window[sync..window.len().min(sync + 4 + 40)];
    let has = |tag: &[u8]| frame.windows(4).any(|w| w == tag);
    Ok(has(b"Xing") || has(b"VBRI"))
}
