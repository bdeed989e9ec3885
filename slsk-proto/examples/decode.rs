//! Decodes a few real frames and prints them: the Login example of the 2003
//! protocol description, a login reply, and a search request embedded in a
//! server message.
//!
//! Run with `cargo run -p slsk-proto --example decode`.

use slsk_proto::FramedMessage;
use slsk_proto::server::{ServerRequest, ServerResponse};

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn main() {
    let login = hex("1e000000 01000000 08000000 4a6f686e47616c74 06000000 736563726574 c8000000");
    println!(
        "client -> server {:02x?}\n  {:#?}",
        login,
        ServerRequest::decode_frame(&login)
    );

    let reply = hex("17000000 01000000 00 0e000000 494e56414c494456455253494f4e");
    println!(
        "server -> client {:02x?}\n  {:#?}",
        reply,
        ServerResponse::decode_frame(&reply)
    );

    let search = hex(
        "26000000 5d000000 03 31000000 05000000 6361726f6c d2040000 0c000000 616d6269656e7420666c6163",
    );
    match ServerResponse::decode_frame(&search) {
        Ok(ServerResponse::ServerSearchRequest(m)) => {
            println!("embedded search: {:#?}", m.embedded())
        }
        other => println!("{other:?}"),
    }
}
