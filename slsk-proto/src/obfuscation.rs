//! The "rotated" obfuscation of peer connections made to an obfuscated port.
//!
//! Every message travels with a random 4-byte key in front of it. With the key
//! read as a little-endian `u32` K, block i of the message (4 bytes, counting
//! from 0 and from the length field, the last block possibly shorter) is XORed
//! with the little-endian bytes of K rotated left by i + 1 bits. Applying the
//! same transform again restores the plain bytes.

/// XORs `data` in place with the key stream of `key`.
pub fn apply(key: [u8; 4], data: &mut [u8]) {
    let k = u32::from_le_bytes(key);
    for (i, block) in data.chunks_mut(4).enumerate() {
        let mask = k.rotate_left(((i + 1) % 32) as u32).to_le_bytes();
        for (byte, m) in block.iter_mut().zip(mask) {
            *byte ^= m;
        }
    }
}

/// The obfuscated form of a message: the key, then the scrambled bytes.
pub fn obfuscate(key: [u8; 4], message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + message.len());
    out.extend_from_slice(&key);
    out.extend_from_slice(message);
    apply(key, &mut out[4..]);
    out
}

/// The plain message inside an obfuscated one (key first); `None` if fewer
/// than 4 bytes are given.
pub fn deobfuscate(obfuscated: &[u8]) -> Option<Vec<u8>> {
    let (key, body) = obfuscated.split_first_chunk::<4>()?;
    let mut out = body.to_vec();
    apply(*key, &mut out);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errata_example() {
        let out = obfuscate([0x99, 0xab, 0xcd, 0xef], b"hello");
        assert_eq!(out[4..], [0x5b, 0x32, 0xf7, 0xb3, 0x08]);
        assert_eq!(deobfuscate(&out).unwrap(), b"hello");
    }

    #[test]
    fn rotation_wraps_after_32_blocks() {
        let key = [1, 2, 3, 4];
        let plain = vec![0u8; 40 * 4];
        let out = obfuscate(key, &plain);
        // Block 31 is rotated by 32 bits = the key itself; block 32 by 1 again.
        assert_eq!(out[4 + 31 * 4..4 + 32 * 4], key);
        assert_eq!(out[4 + 32 * 4..4 + 33 * 4], out[4..8]);
        assert_eq!(deobfuscate(&out).unwrap(), plain);
    }
}
