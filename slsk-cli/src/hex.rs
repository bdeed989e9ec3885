//! Hexadecimal text to bytes and back.

/// Parses hex digits, ignoring whitespace (so `1e000000 01000000` works).
pub fn parse(text: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let pairs = digits.chunks_exact(2);
    if !pairs.remainder().is_empty() {
        return Err(format!(
            "odd number of hex digits ({}): every byte takes two",
            digits.len()
        ));
    }
    pairs
        .enumerate()
        .map(|(i, pair)| match (digit(pair[0]), digit(pair[1])) {
            (Some(hi), Some(lo)) => Ok(hi << 4 | lo),
            _ => Err(format!(
                "not a hex byte at byte {i}: {:?}",
                String::from_utf8_lossy(pair)
            )),
        })
        .collect()
}

fn digit(c: u8) -> Option<u8> {
    char::from(c).to_digit(16).map(|d| d as u8)
}

/// Lower-case hex, no separators.
pub fn format(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_whitespace() {
        assert_eq!(parse("1e00 00ff\n").unwrap(), [0x1e, 0, 0, 0xff]);
        assert_eq!(format(&[0x1e, 0, 0xff]), "1e00ff");
        assert!(parse("abc").unwrap_err().contains("odd"));
        assert!(parse("zz").unwrap_err().contains("byte 0"));
    }
}
