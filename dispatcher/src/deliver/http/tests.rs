use super::*;

fn client(guard: UrlGuard) -> HttpClient {
    HttpClient::new(
        Arc::new(guard),
        Duration::from_secs(2),
        Duration::from_secs(2),
        16,
    )
}

#[tokio::test]
async fn literal_and_named_private_hosts_are_blocked_before_connecting() {
    let strict = client(UrlGuard::strict());
    for url in [
        "http://127.0.0.1:9/x",
        "http://[::1]:9/",
        "http://localhost:9/",
    ] {
        let url = url::Url::parse(url).expect("url");
        let err = strict.deliver(&url, HeaderMap::new(), Bytes::new()).await;
        assert!(
            matches!(err, Err(DeliveryError::Blocked(_))),
            "{url}: {err:?}"
        );
    }
}

/// A listener that accepts connections, reads a little, answers `reply`
/// (if any) and then holds the socket open.
async fn server(reply: Option<&'static [u8]>) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                let _ = socket.read(&mut buf).await;
                if let Some(reply) = reply {
                    let _ = socket.write_all(reply).await;
                }
                tokio::time::sleep(Duration::from_secs(30)).await;
            });
        }
    });
    port
}

#[tokio::test]
async fn a_silent_endpoint_times_out() {
    let port = server(None).await;
    let c = HttpClient::new(
        Arc::new(UrlGuard::permissive()),
        Duration::from_secs(2),
        Duration::from_millis(200),
        16,
    );
    let url = url::Url::parse(&format!("http://127.0.0.1:{port}/")).expect("url");
    let err = c.deliver(&url, HeaderMap::new(), Bytes::new()).await;
    assert!(matches!(err, Err(DeliveryError::Timeout(_))), "{err:?}");
}

#[tokio::test]
async fn https_to_a_server_that_does_not_speak_tls_is_a_tls_error() {
    let port = server(Some(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")).await;
    let url = url::Url::parse(&format!("https://localhost:{port}/")).expect("url");
    let err = client(UrlGuard::permissive())
        .deliver(&url, HeaderMap::new(), Bytes::new())
        .await;
    assert!(matches!(err, Err(DeliveryError::Tls(_))), "{err:?}");
}

#[tokio::test]
async fn the_kept_body_is_cut_to_the_limit() {
    let reply: &'static [u8] = b"HTTP/1.1 503 Service Unavailable\r\nretry-after: 7\r\ncontent-length: 40\r\n\r\n0123456789012345678901234567890123456789";
    let port = server(Some(reply)).await;
    let url = url::Url::parse(&format!("http://127.0.0.1:{port}/")).expect("url");
    let r = client(UrlGuard::permissive())
        .deliver(&url, HeaderMap::new(), Bytes::new())
        .await
        .expect("a response");
    assert_eq!(r.status, 503);
    assert_eq!(r.retry_after.as_deref(), Some("7"));
    assert_eq!(r.body_excerpt, "0123456789012345");
}

#[tokio::test]
async fn a_refused_connection_is_a_connect_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let url = url::Url::parse(&format!("http://localhost:{port}/")).expect("url");
    let err = client(UrlGuard::permissive())
        .deliver(&url, HeaderMap::new(), Bytes::new())
        .await;
    assert!(matches!(err, Err(DeliveryError::Connect(_))), "{err:?}");
}
