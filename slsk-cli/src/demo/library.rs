//! The demo's music library: a few albums of real, tiny WAV files (8 kHz,
//! 8-bit mono PCM, a tone per track) with ID3v2 tags (title, artist, album,
//! track) written by lofty. Everything is computed with integers, so the
//! same bytes come out on every run and every machine.

use std::io;
use std::path::{Path, PathBuf};

use lofty::config::WriteOptions;
use lofty::id3::v2::Id3v2Tag;
use lofty::tag::{Accessor, TagExt};
use sha2::{Digest, Sha256};

/// Samples per second of every track.
pub const SAMPLE_RATE: u32 = 8_000;

/// One album: artist, title, and its tracks (title, length in seconds,
/// tone in Hz).
struct AlbumSpec {
    artist: &'static str,
    title: &'static str,
    tracks: &'static [(&'static str, u32, u32)],
}

/// The library: three albums by two made-up artists.
const ALBUMS: &[AlbumSpec] = &[
    AlbumSpec {
        artist: "Lumen Drift",
        title: "Harbour Lights",
        tracks: &[
            ("First Light", 1, 440),
            ("Tidewater", 2, 494),
            ("Signal Lamps", 1, 523),
            ("Last Ferry Home", 2, 587),
        ],
    },
    AlbumSpec {
        artist: "Lumen Drift",
        title: "Night Ferries",
        tracks: &[("Crossing", 1, 330), ("Fog Horn", 2, 262), ("Pier", 1, 392)],
    },
    AlbumSpec {
        artist: "The Quiet Engines",
        title: "Paper Satellites",
        tracks: &[
            ("Launch", 1, 659),
            ("Low Orbit", 1, 698),
            ("Reentry", 2, 784),
        ],
    },
];

/// The album the demo searches for and downloads.
pub const WANTED_ALBUM: &str = "Harbour Lights";

/// One generated file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Track {
    /// Relative to the library root: `artist/album/NN - title.wav`.
    pub relative: PathBuf,
    pub artist: String,
    pub album: String,
    pub title: String,
    pub number: u32,
    pub seconds: u32,
    /// Size of the file on disk, tags included.
    pub size: u64,
    /// SHA-256 of the file on disk.
    pub sha256: [u8; 32],
}

/// The generated library under `root`.
#[derive(Debug)]
pub struct Library {
    pub root: PathBuf,
    pub tracks: Vec<Track>,
}

impl Library {
    /// Writes every album under `root` (created if missing).
    pub fn generate(root: &Path) -> io::Result<Library> {
        let mut tracks = Vec::new();
        for album in ALBUMS {
            let dir = Path::new(album.artist).join(album.title);
            std::fs::create_dir_all(root.join(&dir))?;
            for (index, &(title, seconds, tone)) in album.tracks.iter().enumerate() {
                let number = index as u32 + 1;
                let relative = dir.join(format!("{number:02} - {title}.wav"));
                let path = root.join(&relative);
                std::fs::write(&path, wav(&tone_samples(tone, seconds)))?;
                write_tags(&path, album.artist, album.title, title, number)?;
                let bytes = std::fs::read(&path)?;
                tracks.push(Track {
                    relative,
                    artist: album.artist.to_owned(),
                    album: album.title.to_owned(),
                    title: title.to_owned(),
                    number,
                    seconds,
                    size: bytes.len() as u64,
                    sha256: Sha256::digest(&bytes).into(),
                });
            }
        }
        Ok(Library {
            root: root.to_owned(),
            tracks,
        })
    }

    /// Albums generated.
    pub fn albums(&self) -> usize {
        ALBUMS.len()
    }

    /// Bytes of every file together.
    pub fn bytes(&self) -> u64 {
        self.tracks.iter().map(|t| t.size).sum()
    }

    /// The track published as `virtual_path` (`Share\artist\album\file`)
    /// when the library is shared under the virtual name `share`.
    pub fn by_virtual_path(&self, share: &str, virtual_path: &str) -> Option<&Track> {
        let rest = virtual_path.strip_prefix(share)?.strip_prefix('\\')?;
        let wanted: Vec<&str> = rest.split('\\').collect();
        self.tracks.iter().find(|track| {
            let parts: Vec<_> = track
                .relative
                .iter()
                .map(|part| part.to_string_lossy())
                .collect();
            parts.len() == wanted.len() && parts.iter().zip(&wanted).all(|(a, b)| a == b)
        })
    }
}

/// `seconds` of a triangle wave at `tone` Hz, 8-bit unsigned, with a short
/// fade in and out so that the track starts and ends without a click.
fn tone_samples(tone: u32, seconds: u32) -> Vec<u8> {
    let count = SAMPLE_RATE * seconds;
    let fade = SAMPLE_RATE / 50; // 20 ms
    (0..count)
        .map(|i| {
            // Position within one period, 0..SAMPLE_RATE.
            let phase = (i * tone) % SAMPLE_RATE;
            let half = SAMPLE_RATE / 2;
            // -96..=96: a triangle that leaves headroom.
            let level = if phase < half {
                (phase * 192 / half) as i32 - 96
            } else {
                96 - ((phase - half) * 192 / half) as i32
            };
            let envelope = i.min(count - 1 - i).min(fade) as i32;
            (128 + level * envelope / fade as i32) as u8
        })
        .collect()
}

/// A PCM WAV file (8-bit mono at [`SAMPLE_RATE`]) holding `samples`.
fn wav(samples: &[u8]) -> Vec<u8> {
    let data_len = samples.len() as u32;
    let mut file = Vec::with_capacity(44 + samples.len());
    file.extend_from_slice(b"RIFF");
    file.extend_from_slice(&(36 + data_len).to_le_bytes());
    file.extend_from_slice(b"WAVEfmt ");
    file.extend_from_slice(&16u32.to_le_bytes()); // format chunk size
    file.extend_from_slice(&1u16.to_le_bytes()); // PCM
    file.extend_from_slice(&1u16.to_le_bytes()); // mono
    file.extend_from_slice(&SAMPLE_RATE.to_le_bytes());
    file.extend_from_slice(&SAMPLE_RATE.to_le_bytes()); // bytes per second
    file.extend_from_slice(&1u16.to_le_bytes()); // bytes per sample frame
    file.extend_from_slice(&8u16.to_le_bytes()); // bits per sample
    file.extend_from_slice(b"data");
    file.extend_from_slice(&data_len.to_le_bytes());
    file.extend_from_slice(samples);
    file
}

/// Adds an ID3v2 tag (WAV's usual tag, an `ID3 ` chunk) with lofty. The
/// ID3v2 type itself keeps its frames in the order set; lofty's generic
/// `Tag` converts through a hash map, in a different order every run.
fn write_tags(path: &Path, artist: &str, album: &str, title: &str, number: u32) -> io::Result<()> {
    let mut tag = Id3v2Tag::new();
    tag.set_artist(artist.to_owned());
    tag.set_album(album.to_owned());
    tag.set_title(title.to_owned());
    tag.set_track(number);
    tag.save_to_path(path, WriteOptions::default())
        .map_err(io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lofty::file::{AudioFile, TaggedFileExt};
    use lofty::tag::TagType;

    #[test]
    fn tracks_are_real_tagged_audio_that_lofty_reads() {
        let dir = tempfile::tempdir().unwrap();
        let library = Library::generate(dir.path()).unwrap();
        assert_eq!(library.tracks.len(), 10);
        assert_eq!(library.albums(), 3);
        for track in &library.tracks {
            let path = dir.path().join(&track.relative);
            let file = lofty::read_from_path(&path).unwrap();
            let properties = file.properties();
            assert_eq!(properties.sample_rate(), Some(SAMPLE_RATE));
            assert_eq!(properties.audio_bitrate(), Some(64));
            assert_eq!(properties.duration().as_secs(), u64::from(track.seconds));
            let tag = file.tag(TagType::Id3v2).expect("an ID3v2 tag");
            assert_eq!(tag.title().as_deref(), Some(track.title.as_str()));
            assert_eq!(tag.artist().as_deref(), Some(track.artist.as_str()));
            assert_eq!(tag.album().as_deref(), Some(track.album.as_str()));
            assert_eq!(tag.track(), Some(track.number));
            assert!(track.size < 20_000, "a few KB: {}", track.size);
        }
    }

    #[test]
    fn the_same_bytes_every_time() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let first = Library::generate(a.path()).unwrap();
        let second = Library::generate(b.path()).unwrap();
        assert_eq!(first.tracks, second.tracks);
        // And across runs and machines (with lofty 0.24's tag layout).
        let digest: String = first.tracks[0]
            .sha256
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            digest,
            "5c7815d9b8be75b70151586d1a18fcb3fbdf4e85f437ab385ca539995c557606"
        );
    }

    #[test]
    fn virtual_paths_map_back_to_tracks() {
        let dir = tempfile::tempdir().unwrap();
        let library = Library::generate(dir.path()).unwrap();
        let track = library
            .by_virtual_path(
                "Music",
                "Music\\Lumen Drift\\Harbour Lights\\02 - Tidewater.wav",
            )
            .unwrap();
        assert_eq!(track.title, "Tidewater");
        assert!(
            library
                .by_virtual_path(
                    "Music",
                    "Other\\Lumen Drift\\Harbour Lights\\02 - Tidewater.wav"
                )
                .is_none()
        );
        assert!(
            library
                .by_virtual_path("Music", "Music\\Lumen Drift")
                .is_none()
        );
    }

    #[test]
    fn tones_fade_in_and_out() {
        let samples = tone_samples(440, 1);
        assert_eq!(samples.len(), SAMPLE_RATE as usize);
        assert_eq!((samples[0], samples[samples.len() - 1]), (128, 128));
        assert!(samples.iter().any(|&s| s > 200) && samples.iter().any(|&s| s < 56));
    }
}
