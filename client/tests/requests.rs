//! What the request builder refuses before anything could be sent.

use tidings_client::{ErrorKind, Session};

#[test]
fn urls_with_control_characters_are_refused() {
    let session = Session::new();
    for url in ["http://a.test/\r\nX-Injected: 1", "http://a.test/a\nb", "http://a.test/\0", "http://a.test/\ttab"] {
        let error = session.get(url).build().expect_err(url);
        assert_eq!(error.kind(), ErrorKind::InvalidRequest, "{url:?}");
        assert!(error.to_string().contains("control character"), "{error}");
    }
    assert!(session.get("http://a.test/fine?q=a%0D%0A").build().is_ok(), "percent-encoded is data");
}

#[test]
fn only_http_and_https_urls_are_requested() {
    let session = Session::new();
    for url in ["file:///etc/passwd", "ftp://a.test/", "data:text/plain,x", "javascript:alert(1)"] {
        assert_eq!(session.get(url).build().expect_err(url).kind(), ErrorKind::InvalidRequest, "{url}");
    }
}
