//! The status call reads the bank's clock from the HTTP `Date` header
//! (STK1's status body has no time), against a raw loopback HTTP server so
//! the header is exactly what the test says.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use softtoken_client::BankClient;
use softtoken_core::stk1::messages::TokenState;
use softtoken_core::Serial;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const SERIAL: &str = "K7M3Q9XZ2PD0";

/// Serves one request with a 200 status body and the given extra header
/// lines; returns the base URL.
async fn serve_once(headers: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 1024];
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = sock.read(&mut chunk).await.unwrap();
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let body = format!(r#"{{"v":1,"serial":"{SERIAL}","state":"active"}}"#);
        let resp = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n{headers}\r\n{body}",
            body.len()
        );
        sock.write_all(resp.as_bytes()).await.unwrap();
        let _ = sock.shutdown().await;
    });
    format!("http://{addr}/")
}

async fn status_time(headers: &'static str) -> Option<u64> {
    let url = serve_once(headers).await;
    let serial = Serial::parse_strict(SERIAL).unwrap();
    let t = BankClient::new(&url)
        .unwrap()
        .status_with_time(&serial)
        .await
        .expect("a bad or missing Date header is not an error");
    assert_eq!(t.status.state, TokenState::Active);
    t.server_time
}

#[tokio::test]
async fn date_header_gives_the_bank_time() {
    assert_eq!(
        status_time("date: Wed, 25 Nov 2026 15:00:00 GMT\r\n").await,
        Some(1_795_618_800)
    );
}

#[tokio::test]
async fn missing_or_garbage_date_is_ignored() {
    assert_eq!(status_time("").await, None);
    assert_eq!(status_time("date: not a date\r\n").await, None);
    assert_eq!(status_time("date: 1795618800\r\n").await, None);
}
