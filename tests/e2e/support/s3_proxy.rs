//! A fault-injecting HTTP proxy between the product and the S3 server: one request per
//! connection (it asks the server to close after each), and for a share of requests a fault —
//! a 503 SlowDown, a slow answer, a connection dropped before forwarding, or one dropped after
//! the server did the work but before the answer reached the client (the nastiest: a create
//! that landed looks failed).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy did, counted.
#[derive(Debug, Default)]
pub struct Counts {
    pub forwarded: AtomicUsize,
    pub faults: AtomicUsize,
    /// Every request answered 503 while set: a store that stays down.
    pub down: AtomicBool,
}

pub struct FaultProxy {
    pub port: u16,
    pub counts: Arc<Counts>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FaultProxy {
    /// Proxies to `upstream_port`, faulting `rate` of the requests.
    pub async fn start(upstream_port: u16, rate: f64) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let counts = Arc::new(Counts::default());
        let shared = Arc::clone(&counts);
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let counts = Arc::clone(&shared);
                tokio::spawn(async move {
                    let _ = serve(client, upstream_port, rate, &counts).await;
                });
            }
        });
        Self { port, counts, task }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

async fn serve(
    mut client: TcpStream,
    upstream_port: u16,
    rate: f64,
    counts: &Counts,
) -> std::io::Result<()> {
    let request = read_request(&mut client).await?;
    let fault = if counts.down.load(Ordering::Relaxed) {
        Some(0)
    } else {
        (fastrand::f64() < rate).then(|| fastrand::u8(0..4))
    };
    if fault.is_some() {
        counts.faults.fetch_add(1, Ordering::Relaxed);
    }
    match fault {
        Some(0) => {
            let body = "<?xml version=\"1.0\"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>";
            let answer = format!(
                "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/xml\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            client.write_all(answer.as_bytes()).await?;
            return client.shutdown().await;
        }
        Some(1) => tokio::time::sleep(Duration::from_millis(700)).await,
        Some(2) => return Ok(()), // dropped before the server saw it
        _ => {}
    }
    let mut upstream = TcpStream::connect(("127.0.0.1", upstream_port)).await?;
    upstream.write_all(&request).await?;
    let mut answer = Vec::new();
    upstream.read_to_end(&mut answer).await?;
    counts.forwarded.fetch_add(1, Ordering::Relaxed);
    if fault == Some(3) {
        return Ok(()); // the server did it; the client never hears
    }
    client.write_all(&answer).await?;
    client.shutdown().await
}

/// One request, head and body, with `Connection: close` so that the server ends the answer by
/// closing.
async fn read_request(client: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        let n = client.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = client.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let mut out: Vec<u8> = head
        .split("\r\n")
        .filter(|l| !l.is_empty() && !l.to_ascii_lowercase().starts_with("connection:"))
        .flat_map(|l| format!("{l}\r\n").into_bytes())
        .collect();
    out.extend_from_slice(b"connection: close\r\n\r\n");
    out.extend_from_slice(&buf[head_end..]);
    Ok(out)
}
