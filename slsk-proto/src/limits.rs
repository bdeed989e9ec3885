//! How much a decoder will accept from the network.

/// The four framed connection kinds. Each has its own frame size limit:
/// server and peer-init frames are small, peer frames carry whole share lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnectionKind {
    Server,
    PeerInit,
    Peer,
    Distributed,
}

/// The largest frame (length field included) accepted on each connection kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameLimits {
    /// Server messages, both directions: room lists and large rooms are the
    /// biggest, well under a megabyte in practice.
    pub server: usize,
    /// The first message on a peer connection: a username, a type and a token.
    pub peer_init: usize,
    /// Peer messages: share lists of hundreds of thousands of files.
    pub peer: usize,
    /// Distributed messages: search requests and branch information.
    pub distributed: usize,
}

impl FrameLimits {
    pub const DEFAULT: Self = Self {
        server: 16 << 20,
        peer_init: 64 << 10,
        peer: 64 << 20,
        distributed: 1 << 20,
    };

    /// The limit for `kind`.
    pub fn get(&self, kind: ConnectionKind) -> usize {
        match kind {
            ConnectionKind::Server => self.server,
            ConnectionKind::PeerInit => self.peer_init,
            ConnectionKind::Peer => self.peer,
            ConnectionKind::Distributed => self.distributed,
        }
    }
}

impl Default for FrameLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Bounds on what one decode may read or allocate. The defaults are safe for
/// a client talking to strangers; raise them for trusted input.
///
/// ```
/// use slsk_proto::{FrameLimits, Limits};
///
/// // Accept share lists of up to 128 MiB compressed, 1 GiB inflated.
/// let limits = Limits {
///     max_frame_size: FrameLimits { peer: 128 << 20, ..FrameLimits::DEFAULT },
///     max_inflated_size: 1 << 30,
///     ..Limits::DEFAULT
/// };
/// # let _ = limits;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// The largest frame (length field included) accepted, per connection kind.
    pub max_frame_size: FrameLimits,
    /// The most bytes a compressed body may inflate to: the hard bound on
    /// what one body costs. Checked while inflating (every 64 KiB), so a
    /// zlib bomb is refused as soon as it crosses the limit, whatever its
    /// ratio.
    pub max_inflated_size: usize,
    /// The most a compressed body may grow, as inflated size over the
    /// compressed bytes consumed so far. Checked while inflating, once the
    /// inflated size passes [`Self::RATIO_FLOOR`]: it stops the cheapest
    /// bombs early, long before [`Self::max_inflated_size`].
    ///
    /// Why 800. Deflate peaks at about 1030:1, and only on runs whose
    /// repeating unit is 1 to 4 bytes long (zeros: 1028:1 measured): that is
    /// what a bomb is made of. A unit of 5 to 8 bytes reaches at most 686:1,
    /// 17 to 32 bytes 412:1, since a longer match distance costs more bits.
    /// Every array element of a compressed message takes at least 5 bytes
    /// (an attribute 8, a directory 8, a file 21), so even a body of one
    /// element repeated a million times stays under 690:1: 30,000 or
    /// 1,000,000 identical files in a share list reach 398:1 and 412:1 with
    /// zlib at level 9 (170:1 at level 6). 800 leaves room above real data
    /// and refuses a 1-4 byte run after 1 MiB of output. A body built to
    /// stay under the ratio is still stopped by [`Self::max_inflated_size`].
    pub max_inflate_ratio: usize,
    /// The most elements any one array may declare.
    pub max_array_len: usize,
    /// The most arrays a value may sit inside, counting its own: in a share
    /// list an attribute is at depth 3 (`directories[i].files[j].attributes[k]`).
    /// The schema has no recursive types, so its deepest nesting is fixed;
    /// this bounds hand-written decoders and any future schema alike.
    pub max_array_depth: usize,
}

impl Limits {
    /// Inflated sizes up to this many bytes are never refused for their ratio:
    /// small bodies (an empty share list) legitimately compress very well.
    /// It is also how far a bomb gets before its ratio is checked.
    pub const RATIO_FLOOR: usize = 1 << 20;

    pub const DEFAULT: Self = Self {
        max_frame_size: FrameLimits::DEFAULT,
        max_inflated_size: 256 << 20,
        max_inflate_ratio: 800,
        max_array_len: 4_000_000,
        max_array_depth: 8,
    };

    /// Like [`Self::DEFAULT`] but with no array length limit beyond what the
    /// remaining bytes can hold.
    pub const UNLIMITED_ARRAYS: Self = Self {
        max_array_len: usize::MAX,
        ..Self::DEFAULT
    };
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}
