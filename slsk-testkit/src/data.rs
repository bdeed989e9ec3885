//! Realistic messages, built deterministically: the same call gives the same
//! bytes on every machine, so benchmark numbers compare across runs.

use slsk_proto::distributed::{DistributedMessage, DistributedSearchRequest};
use slsk_proto::peer::{PeerSearchReply, PeerSharesReply};
use slsk_proto::server::JoinRoomResponse;
use slsk_proto::structures::{Attribute, DirectoryData, FileData, RoomUser, UserStats};
use slsk_proto::tables::{FileAttributeKind, UserStatus};

/// A small xorshift generator: deterministic and dependency-free.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }
}

const WORDS: &[&str] = &[
    "Blue",
    "Night",
    "River",
    "Echo",
    "Silver",
    "Garden",
    "Storm",
    "Velvet",
    "Northern",
    "Light",
    "Paper",
    "Moon",
    "Electric",
    "Dream",
    "Hollow",
    "Crystal",
    "Summer",
    "Ghost",
    "Radio",
    "Fire",
    "Golden",
    "Ocean",
    "Winter",
    "Shadow",
    "Wild",
    "Heart",
    "Machine",
    "Glass",
    "Desert",
    "Rain",
    "Midnight",
    "静かな",
    "Café",
    "Señor",
    "Über",
    "Årstid",
];

const GENRES: &[&str] = &[
    "Rock",
    "Jazz",
    "Electronic",
    "Classical",
    "Hip-Hop",
    "Folk",
    "Metal",
    "Ambient",
    "Soul",
];

const USERS: &[&str] = &[
    "vinyl", "lossless", "dj", "crate", "digger", "audio", "phile", "tape", "wave", "bass",
];

const COUNTRIES: &[&str] = &["US", "DE", "FR", "GB", "NL", "SE", "JP", "BR", "PL", "ES"];

/// One to `max_words` words.
fn title(rng: &mut Rng, max_words: usize) -> String {
    let words = 1 + rng.below(max_words);
    let mut out = String::new();
    for i in 0..words {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(rng.pick(WORDS));
    }
    out
}

/// One audio file: a track name, a size, and 2-4 attributes as real
/// clients send them (MP3: bitrate, duration, VBR; FLAC: duration, sample
/// rate, bit depth, sometimes bitrate).
fn file(rng: &mut Rng, track: usize, name: String) -> FileData {
    let flac = rng.below(3) == 0;
    let duration = 120 + rng.below(360) as u32;
    let (extension, bytes_per_second, attributes) = if flac {
        let mut attributes = vec![
            attribute(FileAttributeKind::Duration, duration),
            attribute(FileAttributeKind::SampleRate, 44_100),
            attribute(FileAttributeKind::BitDepth, 16),
        ];
        if rng.below(2) == 0 {
            attributes.insert(
                0,
                attribute(FileAttributeKind::Bitrate, 900 + rng.below(300) as u32),
            );
        }
        ("flac", 110_000, attributes)
    } else {
        let bitrate = [192, 256, 320][rng.below(3)];
        let mut attributes = vec![
            attribute(FileAttributeKind::Bitrate, bitrate),
            attribute(FileAttributeKind::Duration, duration),
        ];
        if rng.below(2) == 0 {
            attributes.push(attribute(FileAttributeKind::Vbr, 0));
        }
        ("mp3", bitrate as u64 * 125, attributes)
    };
    FileData {
        code: 1,
        filename: format!("{name}{track:02} - {}.{extension}", title(rng, 4)),
        filesize: duration as u64 * bytes_per_second + rng.below(4096) as u64,
        extension: extension.to_string(),
        attributes,
    }
}

fn attribute(key: FileAttributeKind, value: u32) -> Attribute {
    Attribute { key, value }
}

fn album_path(rng: &mut Rng) -> String {
    format!(
        "@@{}\\Music\\{}\\{}\\{} ({})",
        rng.pick(USERS),
        rng.pick(GENRES),
        title(rng, 3),
        title(rng, 4),
        1960 + rng.below(65)
    )
}

/// A share list of `folders` album folders with `files_per_folder` tracks each.
pub fn share_list(folders: usize, files_per_folder: usize) -> PeerSharesReply {
    let mut rng = Rng::new(1);
    let directories = (0..folders)
        .map(|_| DirectoryData {
            name: album_path(&mut rng),
            files: (1..=files_per_folder)
                .map(|t| file(&mut rng, t, String::new()))
                .collect(),
        })
        .collect();
    PeerSharesReply {
        directories,
        unknown: 0,
        locked_directories: Some(Vec::new()),
    }
}

/// The benchmark's share list: 200,000 files in 10,000 folders.
pub fn large_share_list() -> PeerSharesReply {
    share_list(10_000, 20)
}

/// A search reply of `results` files, each named by its full path.
pub fn search_reply(results: usize) -> PeerSearchReply {
    let mut rng = Rng::new(2);
    PeerSearchReply {
        username: "crate_digger".into(),
        ticket: 0x1234_5678,
        results: (0..results)
            .map(|i| {
                let folder = format!("{}\\", album_path(&mut rng));
                file(&mut rng, i % 20 + 1, folder)
            })
            .collect(),
        has_slots_free: true,
        avg_speed: 1_250_000,
        queue_size: 3,
        unknown: Some(0),
        locked_results: Some(Vec::new()),
    }
}

/// A room with `users` members.
pub fn join_room(users: usize) -> JoinRoomResponse {
    let mut rng = Rng::new(3);
    JoinRoomResponse {
        room_name: "indie".into(),
        users: (0..users)
            .map(|i| RoomUser {
                username: format!("{}_{}{i}", rng.pick(USERS), rng.pick(WORDS).to_lowercase()),
                status: [UserStatus::Online, UserStatus::Away][rng.below(2)],
                stats: UserStats {
                    avg_speed: rng.below(5_000_000) as u32,
                    uploads: rng.below(100_000) as u64,
                    shared_file_count: rng.below(200_000) as u32,
                    shared_folder_count: rng.below(10_000) as u32,
                },
                slots_free: rng.below(2) as u32,
                country_code: rng.pick(COUNTRIES).into(),
            })
            .collect(),
        owner: None,
        operators: None,
    }
}

/// `count` distributed search requests, as a parent sends them down the tree.
pub fn search_requests(count: usize) -> impl Iterator<Item = DistributedMessage> {
    let mut rng = Rng::new(4);
    (0..count).map(move |i| {
        DistributedMessage::from(DistributedSearchRequest {
            unknown: 0x31,
            username: format!("{}{}", rng.pick(USERS), rng.below(10_000)),
            ticket: i as u32,
            query: title(&mut rng, 3).to_lowercase(),
        })
    })
}
