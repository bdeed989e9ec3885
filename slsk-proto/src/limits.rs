//! How much a decoder will accept from the network.

/// Bounds on what one decode may read or allocate. The defaults are safe for
/// a client talking to strangers; raise them for trusted input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// The largest frame (length field included) accepted.
    pub max_frame_size: usize,
    /// The most bytes a compressed body may inflate to. Checked while
    /// inflating, so a zlib bomb is refused as soon as it crosses the limit.
    pub max_inflated_size: usize,
    /// The most a compressed body may grow, as inflated size over compressed
    /// size. Enforced once the inflated size passes [`Self::RATIO_FLOOR`].
    pub max_inflate_ratio: usize,
    /// The most elements any one array may declare.
    pub max_array_len: usize,
}

impl Limits {
    /// Inflated sizes up to this many bytes are never refused for their ratio:
    /// tiny bodies (an empty share list) legitimately compress very well.
    pub const RATIO_FLOOR: usize = 1 << 20;

    pub const DEFAULT: Self = Self {
        max_frame_size: 64 << 20,
        max_inflated_size: 256 << 20,
        max_inflate_ratio: 200,
        max_array_len: 4_000_000,
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
