//! The load's HTTP client: HTTP/1.1 over kept-alive loopback connections, a request written in
//! one piece and the answer read by its `Content-Length`. The client shares the two cores with
//! the server, so every microsecond it spends is taken from the server's figures: this one
//! spends about a third of what a general client (reqwest and JSON values) does per request.
//! Setup and checks that are not measured use `tapd_client`.

use std::io;
use std::sync::Mutex;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Largest answer read: the bench's answers are a few kilobytes.
const MAX_ANSWER: usize = 1 << 20;

/// A status and body.
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

struct Conn {
    stream: TcpStream,
    /// Bytes read past the last answer.
    buf: Vec<u8>,
}

/// Kept-alive connections to one server.
pub struct Http {
    /// `host:port`.
    host: String,
    idle: Mutex<Vec<Conn>>,
}

impl Http {
    /// A client of `base` (`http://host:port`).
    pub fn new(base: &str) -> Http {
        Http {
            host: base
                .trim_start_matches("http://")
                .trim_end_matches('/')
                .to_string(),
            idle: Mutex::new(Vec::new()),
        }
    }

    /// POSTs `body` as JSON to `path`, with `token` as bearer if given. A kept-alive connection
    /// the server has closed meanwhile is replaced once, only when it answered nothing.
    pub async fn post(&self, path: &str, token: Option<&str>, body: &[u8]) -> io::Result<Answer> {
        let mut request = Vec::with_capacity(256 + body.len());
        request.extend_from_slice(b"POST ");
        request.extend_from_slice(path.as_bytes());
        request.extend_from_slice(b" HTTP/1.1\r\nHost: ");
        request.extend_from_slice(self.host.as_bytes());
        request.extend_from_slice(b"\r\nContent-Type: application/json\r\n");
        if let Some(token) = token {
            request.extend_from_slice(b"Authorization: Bearer ");
            request.extend_from_slice(token.as_bytes());
            request.extend_from_slice(b"\r\n");
        }
        request.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
        request.extend_from_slice(body);
        let pooled = self.idle.lock().expect("idle connections").pop();
        if let Some(mut conn) = pooled {
            match exchange(&mut conn, &request).await {
                Ok(Some((answer, keep))) => return Ok(self.done(conn, answer, keep)),
                Ok(None) => {}
                Err(e) => return Err(e),
            }
        }
        let mut conn = Conn {
            stream: TcpStream::connect(&self.host).await?,
            buf: Vec::with_capacity(4096),
        };
        conn.stream.set_nodelay(true)?;
        match exchange(&mut conn, &request).await? {
            Some((answer, keep)) => Ok(self.done(conn, answer, keep)),
            None => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "closed before answering",
            )),
        }
    }

    /// `http://host:port`.
    pub fn base(&self) -> String {
        format!("http://{}", self.host)
    }

    fn done(&self, conn: Conn, answer: Answer, keep: bool) -> Answer {
        if keep {
            self.idle.lock().expect("idle connections").push(conn);
        }
        answer
    }
}

/// Sends `request` and reads its answer and whether the connection stays open; `None` when
/// the connection was closed before a byte of the answer came.
async fn exchange(conn: &mut Conn, request: &[u8]) -> io::Result<Option<(Answer, bool)>> {
    if conn.stream.write_all(request).await.is_err() {
        return Ok(None);
    }
    let head_end = loop {
        if let Some(at) = find(&conn.buf, b"\r\n\r\n") {
            break at + 4;
        }
        if conn.buf.len() > MAX_ANSWER {
            return Err(bad("answer head too long"));
        }
        let before = conn.buf.len();
        let read = read_more(conn).await?;
        if read == 0 {
            return match before {
                0 => Ok(None),
                _ => Err(bad("closed in the middle of an answer")),
            };
        }
    };
    let head = std::str::from_utf8(&conn.buf[..head_end]).map_err(|_| bad("head not UTF-8"))?;
    let status = head
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("no status"))?;
    let (mut length, mut keep) = (None, true);
    for line in head.split("\r\n").skip(1) {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = value.parse::<usize>().ok();
        } else if name.eq_ignore_ascii_case("connection") && value.eq_ignore_ascii_case("close") {
            keep = false;
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(bad("chunked answers are not read"));
        }
    }
    let length = length.unwrap_or(0);
    if length > MAX_ANSWER {
        return Err(bad("answer too long"));
    }
    while conn.buf.len() < head_end + length {
        if read_more(conn).await? == 0 {
            return Err(bad("closed in the middle of an answer"));
        }
    }
    let body = conn.buf[head_end..head_end + length].to_vec();
    conn.buf.drain(..head_end + length);
    Ok(Some((Answer { status, body }, keep)))
}

async fn read_more(conn: &mut Conn) -> io::Result<usize> {
    conn.buf.reserve(4096);
    conn.stream.read_buf(&mut conn.buf).await
}

/// Where `needle` first occurs in `haystack`.
pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn answers_are_read_by_length_and_connections_kept() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut seen = Vec::new();
            let mut buf = [0u8; 1024];
            // Two requests on one connection; each answered when its body has come.
            for answer in [&b"{\"a\":1}"[..], b"no"] {
                while !String::from_utf8_lossy(&seen).contains("\r\n\r\nxy") {
                    let n = s.read(&mut buf).await.unwrap();
                    seen.extend_from_slice(&buf[..n]);
                }
                seen.clear();
                let head = format!(
                    "HTTP/1.1 201 Created\r\ncontent-length: {}\r\n\r\n",
                    answer.len()
                );
                s.write_all(head.as_bytes()).await.unwrap();
                s.write_all(answer).await.unwrap();
            }
        });
        let http = Http::new(&format!("http://{addr}"));
        let first = http.post("/x", Some("t"), b"xy").await.unwrap();
        assert_eq!(
            (first.status, first.body.as_slice()),
            (201, &b"{\"a\":1}"[..])
        );
        assert!(first.is_success());
        let second = http.post("/x", None, b"xy").await.unwrap();
        assert_eq!(second.body, b"no");
        assert_eq!(http.idle.lock().unwrap().len(), 1);
    }
}
