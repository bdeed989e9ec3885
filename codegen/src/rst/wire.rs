//! The pages about bytes on the wire rather than message layouts: framing per
//! kind of connection, and the obfuscation of peer connections.

use super::text::{Page, hex_bytes, list_table};
use crate::model::Kind;

pub fn framing_page() -> String {
    let mut page = Page::new("connection-framing", "Framing");
    page.prose(
        "A client keeps one connection to the server, and opens connections to \
         other peers of three types (see :ref:`ConnectionType`): ``P`` for peer \
         messages, ``F`` for file transfers and ``D`` for the distributed search \
         network. Each peer connection starts with one peer-init message, \
         :ref:`PeerInit` or :ref:`PeerPierceFirewall`, which tells its type.\n\n\
         On every connection but ``F``, messages travel in frames: a ``u32`` \
         length, the message code, then the payload. The length counts the code \
         and the payload, not the length itself. The width of the code depends \
         on the connection.",
    );
    let frame = |kind: Kind| {
        format!(
            "``u32`` length, ``u{}`` code, payload",
            8 * kind.code_width()
        )
    };
    let rows = vec![
        vec![
            "Server".to_string(),
            frame(Kind::Server),
            ":ref:`server-messages`".to_string(),
            "Never".to_string(),
        ],
        vec![
            "First message of every peer connection".to_string(),
            frame(Kind::PeerInit),
            ":ref:`peer-init-messages`".to_string(),
            "On a connection to an obfuscated port".to_string(),
        ],
        vec![
            "Peer (``P``)".to_string(),
            frame(Kind::Peer),
            ":ref:`peer-messages`".to_string(),
            "On a connection to an obfuscated port".to_string(),
        ],
        vec![
            "Distributed (``D``)".to_string(),
            frame(Kind::Distributed),
            ":ref:`distributed-messages`".to_string(),
            "Never".to_string(),
        ],
        vec![
            "File (``F``)".to_string(),
            "No frames: raw ``u32`` ticket, raw ``u64`` offset, then the file's bytes".to_string(),
            ":ref:`file-connections`".to_string(),
            "Never".to_string(),
        ],
    ];
    page.lines(&list_table(
        &["Connection", "Frame", "Messages", "Obfuscated"],
        &rows,
    ));

    page.label("framing-examples");
    page.heading("Examples", '-');
    let username = b"bob";
    let mut payload = (username.len() as u32).to_le_bytes().to_vec();
    payload.extend_from_slice(username);
    page.prose(&format!(
        "A :ref:`GetUserStatus` request (code 7) for the user ``bob`` on the \
         server connection: length 11 (4 bytes of code, 7 of payload), code, \
         then the ``string``:\n\n``{}``",
        hex_bytes(&frame_bytes(Kind::Server, 7, &payload))
    ));
    page.prose(&format!(
        "A :ref:`PeerPierceFirewall` (peer-init code 0) with ticket 1: length 5 \
         (1 byte of code, 4 of payload), the ``u8`` code, then the ticket:\n\n``{}``",
        hex_bytes(&frame_bytes(Kind::PeerInit, 0, &1u32.to_le_bytes()))
    ));

    page.label("file-connection-framing");
    page.heading("File connections", '-');
    page.prose(
        "After the peer-init message, a file connection carries no frames. The \
         uploader sends the transfer ticket as a raw little-endian ``u32`` \
         (:ref:`FileTransferTicket`), the downloader answers with the offset to \
         resume from as a raw little-endian ``u64`` (:ref:`FileOffset`), then \
         the uploader sends the file's bytes from that offset to the end.",
    );
    page.finish()
}

/// A frame of `kind` holding `payload`: the bytes the examples show.
fn frame_bytes(kind: Kind, code: u32, payload: &[u8]) -> Vec<u8> {
    let width = kind.code_width();
    let mut frame = ((width + payload.len()) as u32).to_le_bytes().to_vec();
    frame.extend_from_slice(&code.to_le_bytes()[..width]);
    frame.extend_from_slice(payload);
    frame
}

/// The key and plain bytes of the worked example; ERRATA.md gives the result
/// (`5b 32 f7 b3 08`), which the tests compare with `slsk-proto`'s.
const EXAMPLE_KEY: [u8; 4] = [0x99, 0xab, 0xcd, 0xef];
const EXAMPLE_PLAIN: &[u8] = b"hello";

pub fn obfuscation_page() -> String {
    let mut page = Page::new("peer-obfuscation", "Obfuscation");
    page.prose(
        "Obfuscation is optional and applies to peer connections only. A client \
         that supports it advertises a second listening port with \
         :ref:`SetListenPort` (obfuscation type 1, ``Rotated``, see \
         :ref:`ObfuscationType`), and learns the obfuscated ports of others from \
         :ref:`GetPeerAddress` and :ref:`ConnectToPeer`. On a connection made to \
         an obfuscated port, every message, starting with the peer-init message, \
         is scrambled as follows. Distributed (``D``) and file (``F``) \
         connections are never obfuscated.",
    );
    page.heading("The rotated key", '-');
    page.prose(
        "The sender picks a random 4-byte key for each message and sends it \
         first, in the clear. The frame follows, XORed block by block: read the \
         key as a little-endian ``u32`` *K*; block *i* (4 bytes, counting from 0 \
         with the length field included; the last block may be shorter) is \
         XORed with the little-endian bytes of *K* rotated left by (*i* + 1) \
         bits, modulo 32. The receiver reads the key, then undoes the XOR with \
         the same rotated keys.",
    );
    page.heading("Check", '-');
    let key = u32::from_le_bytes(EXAMPLE_KEY);
    let mut rows = Vec::new();
    let mut scrambled = EXAMPLE_KEY.to_vec();
    for (i, block) in EXAMPLE_PLAIN.chunks(4).enumerate() {
        let block_key = key.rotate_left((i as u32 + 1) % 32).to_le_bytes();
        let out: Vec<u8> = block.iter().zip(block_key).map(|(b, k)| b ^ k).collect();
        rows.push(vec![
            i.to_string(),
            format!("``{}``", hex_bytes(block)),
            format!("``{}``", hex_bytes(&block_key)),
            format!("``{}``", hex_bytes(&out)),
        ]);
        scrambled.extend(out);
    }
    page.prose(&format!(
        "With the key ``{}`` and the plain bytes ``{}`` (``hello``), the sender \
         sends ``{}``: the key, then the scrambled bytes ``{}``.",
        hex_bytes(&EXAMPLE_KEY),
        hex_bytes(EXAMPLE_PLAIN),
        hex_bytes(&scrambled),
        hex_bytes(&scrambled[4..]),
    ));
    page.lines(&list_table(
        &["Block", "Plain", "Rotated key", "Sent"],
        &rows,
    ));
    page.finish()
}
