//! `rewriter health [--live] [--addr HOST:PORT]`: ask a worker's operations endpoint whether it
//! is ready (`GET /readyz`) or alive (`GET /healthz`), for Docker health checks in an image
//! that has no curl. Exit 0 on HTTP 200 (the body goes to standard output); 1 on any other
//! answer or none, with the reason on standard error; 2 when no address is configured.
//!
//! The address is `--addr` or else `REWRITER_METRICS_ADDR`, the one the worker listens on. An
//! unspecified IP there (`0.0.0.0`, `[::]`) means the loopback of the same family, so one
//! setting serves both the worker and its health check in the same container. The request is
//! one plain HTTP/1.1 exchange ([`crate::health::get`], `Connection: close`), within 3 s in
//! all: connect, send, read to the end.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use crate::cli::HealthArgs;
use crate::config::Settings;
use crate::health;

/// The whole exchange, connect to last byte.
const TIMEOUT: Duration = Duration::from_secs(3);
/// How much of a failing answer's body the reason quotes.
const MAX_REASON: usize = 300;

pub async fn run(settings: &Settings, args: HealthArgs) -> ExitCode {
    let target = match (args.addr, settings.metrics_addr) {
        (Some(addr), _) => local_target(&addr),
        (None, Some(addr)) if addr.port() == 0 => {
            eprintln!(
                "error: REWRITER_METRICS_ADDR is {addr}: port 0 lets the worker pick any free \
                 port; pass --addr HOST:PORT with the port it bound"
            );
            return ExitCode::from(2);
        }
        (None, Some(addr)) => loopback_if_unspecified(addr).to_string(),
        (None, None) => {
            eprintln!(
                "error: no address to check: set REWRITER_METRICS_ADDR (as the worker has it) \
                 or pass --addr HOST:PORT"
            );
            return ExitCode::from(2);
        }
    };
    let path = if args.live { "/healthz" } else { "/readyz" };
    match check(&target, path).await {
        Ok(body) => {
            print!("{body}");
            ExitCode::SUCCESS
        }
        Err(reason) => {
            eprintln!("unhealthy: http://{target}{path}: {reason}");
            ExitCode::from(1)
        }
    }
}

/// Checks that `HOST:PORT` names a port to connect to, for `--addr`.
pub(super) fn parse_addr(s: &str) -> Result<String, String> {
    let s = s.trim();
    let (host, port) = s
        .rsplit_once(':')
        .ok_or_else(|| format!("{s:?} is not HOST:PORT, such as 127.0.0.1:9100"))?;
    if host.is_empty() || host == "[]" {
        return Err(format!("{s:?} has no host"));
    }
    if host.contains(':') && !(host.starts_with('[') && host.ends_with(']')) {
        return Err(format!(
            "{s:?}: write an IPv6 address in brackets, as [::1]:9100"
        ));
    }
    match port.parse::<u16>() {
        Ok(0) | Err(_) => Err(format!("{s:?} has no port between 1 and 65535")),
        Ok(_) => Ok(s.to_owned()),
    }
}

/// `--addr` as something to connect to: an IP address with its unspecified form replaced by the
/// loopback, or a host name as given.
fn local_target(addr: &str) -> String {
    match addr.parse::<SocketAddr>() {
        Ok(addr) => loopback_if_unspecified(addr).to_string(),
        Err(_) => addr.to_owned(),
    }
}

/// `0.0.0.0:P` → `127.0.0.1:P`, `[::]:P` → `[::1]:P`: where a server listening on every
/// address of a family can be reached from the same host.
fn loopback_if_unspecified(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), addr.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), addr.port())
        }
        _ => addr,
    }
}

/// `GET path` on `target`: the body of a 200, or why there was none.
async fn check(target: &str, path: &str) -> Result<String, String> {
    let response = match tokio::time::timeout(TIMEOUT, health::get(target, path)).await {
        Err(_) => return Err(format!("no answer within {} s", TIMEOUT.as_secs())),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            return Err(format!(
                "{e} (is a worker running with REWRITER_METRICS_ADDR set?)"
            ));
        }
        Ok(Err(e)) => return Err(e.to_string()),
        Ok(Ok(response)) => response,
    };
    match response {
        (200, body) => Ok(body),
        (status, body) => Err(format!("HTTP {status}: {}", reason(&body))),
    }
}

/// A failing answer's body on one line: `not ready; broker: not connected`.
fn reason(body: &str) -> String {
    let line = body
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    if line.is_empty() {
        return "(no reason given)".to_owned();
    }
    match line.char_indices().nth(MAX_REASON) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use tokio::net::TcpListener;

    use crate::health::tests::answering;

    #[test]
    fn an_unspecified_address_means_the_loopback_of_its_family() {
        assert_eq!(local_target("0.0.0.0:9100"), "127.0.0.1:9100");
        assert_eq!(local_target("[::]:9100"), "[::1]:9100");
        assert_eq!(local_target("10.0.0.7:9100"), "10.0.0.7:9100");
        assert_eq!(local_target("worker:9100"), "worker:9100");
    }

    #[test]
    fn addr_must_be_a_host_and_a_port() {
        assert_eq!(parse_addr("worker:9100").unwrap(), "worker:9100");
        assert_eq!(parse_addr("[::1]:9100").unwrap(), "[::1]:9100");
        for bad in [
            "9100",
            "localhost",
            ":9100",
            "host:0",
            "host:http",
            "[]:1",
            "::1:9100",
        ] {
            assert!(parse_addr(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_reason_is_the_body_on_one_line() {
        assert_eq!(
            reason("not ready\nbroker: not connected\n"),
            "not ready; broker: not connected"
        );
        assert_eq!(reason("\n"), "(no reason given)");
        assert_eq!(reason(&"x".repeat(1000)).chars().count(), MAX_REASON + 1);
    }

    #[tokio::test]
    async fn a_200_is_healthy_and_the_request_closes_the_connection() {
        let (addr, served) =
            answering("HTTP/1.1 200 OK\r\ncontent-length: 6\r\nconnection: close\r\n\r\nready\n")
                .await;

        let result = check(&addr, "/readyz").await;

        assert_eq!(result, Ok("ready\n".to_owned()));
        let request = served.await.unwrap();
        assert!(request.starts_with("GET /readyz HTTP/1.1\r\n"), "{request}");
        assert!(request.contains(&format!("Host: {addr}\r\n")), "{request}");
        assert!(request.contains("Connection: close\r\n"), "{request}");
    }

    #[tokio::test]
    async fn another_status_is_unhealthy_with_the_bodys_reason() {
        let (addr, _served) =
            answering("HTTP/1.1 503 Service Unavailable\r\n\r\nnot ready\nbroker: not connected\n")
                .await;

        let result = check(&addr, "/readyz").await;

        assert_eq!(
            result,
            Err("HTTP 503: not ready; broker: not connected".to_owned())
        );
    }

    #[tokio::test]
    async fn nothing_listening_is_unhealthy() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        drop(listener);

        let result = check(&addr, "/healthz").await;

        let reason = result.unwrap_err();
        assert!(reason.contains("REWRITER_METRICS_ADDR"), "{reason}");
    }

    #[tokio::test]
    async fn a_server_that_never_answers_times_out() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();

        let result = check(&addr, "/readyz").await;

        assert_eq!(result, Err("no answer within 3 s".to_owned()));
        drop(listener);
    }
}
