//! File (`F`) connections: no frames, a raw ticket and offset, then bytes.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;

/// An `F` connection after its peer-init message: the socket and whatever
/// was read past the peer-init message already (the ticket, and maybe file
/// bytes, often arrive in the same TCP segment as the init).
///
/// Reading goes through those buffered bytes first, then the socket, so none
/// are lost. The uploader writes the ticket ([`write_ticket`](Self::write_ticket)),
/// the downloader reads it ([`read_ticket`](Self::read_ticket)) and answers with
/// the offset; then the file's bytes follow.
///
/// ```no_run
/// # async fn run(mut conn: slsk_net::FileConnection) -> std::io::Result<()> {
/// // Downloader side of an incoming F connection.
/// let ticket = conn.read_ticket().await?;
/// conn.write_offset(0).await?;
/// let mut file = Vec::new();
/// tokio::io::AsyncReadExt::read_to_end(&mut conn, &mut file).await?;
/// # let _ = ticket; Ok(()) }
/// ```
#[derive(Debug)]
pub struct FileConnection {
    stream: TcpStream,
    buffered: BytesMut,
}

impl FileConnection {
    /// A file connection over `stream`, with `buffered` bytes read from it
    /// already.
    pub fn new(stream: TcpStream, buffered: BytesMut) -> Self {
        Self { stream, buffered }
    }

    /// The bytes read from the socket but not consumed yet.
    pub fn buffered(&self) -> &[u8] {
        &self.buffered
    }

    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.stream.peer_addr()
    }

    /// The socket and the bytes read from it but not consumed.
    pub fn into_parts(self) -> (TcpStream, BytesMut) {
        (self.stream, self.buffered)
    }

    /// Reads the transfer ticket (a raw little-endian `u32`), downloader side.
    pub async fn read_ticket(&mut self) -> io::Result<u32> {
        self.read_u32_le().await
    }

    /// Reads the offset to start from (a raw little-endian `u64`), uploader side.
    pub async fn read_offset(&mut self) -> io::Result<u64> {
        self.read_u64_le().await
    }

    /// Sends the transfer ticket, uploader side.
    pub async fn write_ticket(&mut self, ticket: u32) -> io::Result<()> {
        self.stream.write_all(&ticket.to_le_bytes()).await
    }

    /// Sends the offset to start from, downloader side.
    pub async fn write_offset(&mut self, offset: u64) -> io::Result<()> {
        self.stream.write_all(&offset.to_le_bytes()).await
    }
}

impl AsyncRead for FileConnection {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.buffered.is_empty() {
            let n = self.buffered.len().min(buf.remaining());
            buf.put_slice(&self.buffered[..n]);
            self.buffered.advance(n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for FileConnection {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    #[tokio::test]
    async fn buffered_bytes_come_before_the_socket() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (client, server) = tokio::join!(TcpStream::connect(addr), listener.accept());
        let mut client = client.unwrap();
        // Two bytes of the ticket were buffered; the rest, then the offset,
        // come from the socket.
        let ticket = 0x0403_0201u32.to_le_bytes();
        let mut conn = FileConnection::new(server.unwrap().0, BytesMut::from(&ticket[..2]));
        client.write_all(&ticket[2..]).await.unwrap();
        client.write_all(&77u64.to_le_bytes()).await.unwrap();
        assert_eq!(conn.read_ticket().await.unwrap(), 0x0403_0201);
        assert_eq!(conn.read_offset().await.unwrap(), 77);
        assert!(conn.buffered().is_empty());
    }
}
