//! Scenarios against the in-process httpbin (hyper): a real HTTP server library on
//! loopback.

use std::io::Read;
use std::time::Duration;

use super::{SendWith, Transport};
use crate::api::{ErrorKind, Session, StatusCode};
use serde_json::Value;
use tidings_httpbin::Server;

fn server() -> Server {
    Server::start().expect("httpbin on loopback")
}

pub fn get_echoes_args_and_headers(t: &dyn Transport) {
    let httpbin = server();
    let session = Session::new();
    let value: Value = session
        .get(&httpbin.url("/get"))
        .query([("key1", "value1"), ("key2", "value2"), ("key2", "value3")])
        .header("X-Custom", "yes")
        .send_with(t)
        .expect("get")
        .json()
        .expect("json");
    assert_eq!(value["args"]["key1"], "value1");
    assert_eq!(value["args"]["key2"], serde_json::json!(["value2", "value3"]));
    assert_eq!(value["headers"]["X-Custom"], "yes");
    assert!(value["headers"]["User-Agent"].as_str().unwrap_or_default().starts_with("tidings/"));
    assert_eq!(value["url"], httpbin.url("/get?key1=value1&key2=value2&key2=value3"));
}

pub fn every_method_and_body_kind(t: &dyn Transport) {
    let httpbin = server();
    let session = Session::new();
    let value: Value =
        session.post(&httpbin.url("/post")).form([("key", "value")]).send_with(t).expect("post").json().expect("json");
    assert_eq!(value["form"]["key"], "value");
    let value: Value = session
        .put(&httpbin.url("/put"))
        .json(&serde_json::json!({"some": "data"}))
        .send_with(t)
        .expect("put")
        .json()
        .expect("json");
    assert_eq!(value["json"]["some"], "data");
    let value: Value =
        session.patch(&httpbin.url("/patch")).body("raw bytes").send_with(t).expect("patch").json().expect("json");
    assert_eq!(value["data"], "raw bytes");
    assert_eq!(session.delete(&httpbin.url("/delete")).send_with(t).expect("delete").status(), StatusCode::OK);
    let head = session.head(&httpbin.url("/get")).send_with(t).expect("head");
    assert_eq!(head.status(), StatusCode::OK);
    let value: Value = session.options(&httpbin.url("/anything")).send_with(t).expect("options").json().expect("json");
    assert_eq!(value["method"], "OPTIONS");
    let streamed: Value = session
        .post(&httpbin.url("/anything"))
        .body_reader(std::io::Cursor::new(b"streamed body".to_vec()), None)
        .send_with(t)
        .expect("chunked upload")
        .json()
        .expect("json");
    assert_eq!(streamed["data"], "streamed body");
    assert_eq!(streamed["headers"]["Transfer-Encoding"], "chunked");
}

pub fn statuses_and_auth(t: &dyn Transport) {
    let httpbin = server();
    let session = Session::new();
    for code in [200u16, 204, 304, 404, 418, 500] {
        let response = session.get(&httpbin.url(&format!("/status/{code}"))).send_with(t).expect("status");
        assert_eq!(response.status().as_u16(), code);
        assert_eq!(response.ok(), code < 400);
    }
    let error =
        session.get(&httpbin.url("/status/503")).send_with(t).expect("503").error_for_status().expect_err("5xx");
    assert_eq!(error.kind(), ErrorKind::HttpStatus);
    let denied = session.get(&httpbin.url("/basic-auth/user/passwd")).send_with(t).expect("401");
    assert_eq!(denied.status(), StatusCode::UNAUTHORIZED);
    let value: Value = session
        .get(&httpbin.url("/basic-auth/user/passwd"))
        .basic_auth("user", Some("passwd"))
        .send_with(t)
        .expect("auth")
        .json()
        .expect("json");
    assert_eq!(value["authenticated"], true);
    let userinfo = httpbin.url("/basic-auth/user/passwd").replace("http://", "http://user:passwd@");
    assert_eq!(
        session.get(&userinfo).send_with(t).expect("userinfo").status(),
        StatusCode::OK,
        "URL userinfo becomes Basic auth"
    );
    let value: Value =
        session.get(&httpbin.url("/bearer")).bearer_auth("t0k3n").send_with(t).expect("bearer").json().expect("json");
    assert_eq!(value["token"], "t0k3n");
}

pub fn codings_streams_and_bytes(t: &dyn Transport) {
    let httpbin = server();
    let session = Session::new();
    for (coding, key) in [("gzip", "gzipped"), ("deflate", "deflated"), ("brotli", "brotli")] {
        let value: Value =
            session.get(&httpbin.url(&format!("/{coding}"))).send_with(t).expect(coding).json().expect("decoded json");
        assert_eq!(value[key], true, "{coding}");
    }
    let lines = session.get(&httpbin.url("/stream/5")).send_with(t).expect("stream").lines().expect("lines");
    let ids: Vec<i64> = lines
        .map(|line| serde_json::from_str::<Value>(&line).expect("json line")["id"].as_i64().unwrap_or(-1))
        .collect();
    assert_eq!(ids, vec![0, 1, 2, 3, 4]);
    let mut response = session.get(&httpbin.url("/bytes/100000?seed=7")).send_with(t).expect("bytes");
    let mut first = [0u8; 10];
    response.read_exact(&mut first).expect("streamed read");
    let mut rest = Vec::new();
    response.read_to_end(&mut rest).expect("rest");
    assert_eq!(10 + rest.len(), 100_000);
    let text = session.get(&httpbin.url("/encoding/utf8")).send_with(t).expect("utf8").text().expect("text");
    assert!(text.contains("∮ E⋅da = Q"));
    let response = session
        .get(&httpbin.url("/response-headers"))
        .query([("X-Test", "a"), ("X-Test", "b")])
        .send_with(t)
        .expect("headers");
    assert_eq!(response.headers().get_all("x-test").collect::<Vec<_>>(), vec![&b"a"[..], b"b"]);
}

pub fn timeouts_against_slow_endpoints(t: &dyn Transport) {
    let httpbin = server();
    let session = Session::builder().timeout(Duration::from_millis(500)).build().expect("session");
    let error = session.get(&httpbin.url("/delay/3")).send_with(t).expect_err("whole-call limit");
    assert_eq!(error.kind(), ErrorKind::Timeout, "{error}");
    let session = Session::builder().read_timeout(Duration::from_millis(300)).build().expect("session");
    let response = session.get(&httpbin.url("/drip?numbytes=3&duration=3")).send_with(t).expect("head arrives at once");
    let error = response.bytes().expect_err("bytes stall between drips");
    assert_eq!(error.kind(), ErrorKind::Timeout, "{error}");
    let value: Value = session.get(&httpbin.url("/delay/0.1")).send_with(t).expect("fast enough").json().expect("json");
    assert!(value["url"].is_string());
}

pub fn one_session_reuses_its_connection(t: &dyn Transport) {
    let httpbin = server();
    let session = Session::new();
    for round in 0..5 {
        let response = session.get(&httpbin.url("/get")).send_with(t).expect("get");
        assert_eq!(response.reused_connection(), round > 0, "round {round}");
        response.bytes().expect("body");
    }
    assert_eq!(t.idle_connections(&session), 1);
}

pub fn multipart_forms_stream_files(t: &dyn Transport) {
    let httpbin = server();
    let path = std::env::temp_dir().join(format!("tidings-multipart-{}.txt", std::process::id()));
    std::fs::write(&path, "file contents\nline two").expect("temp file");
    let form = crate::api::Multipart::new()
        .text("title", "holiday \"photos\"")
        .text("we\"ird\r\nname", "x")
        .file("upload", &path)
        .expect("file")
        .part("notes", crate::api::Part::bytes(b"sunny".to_vec()).file_name("notes.txt").mime("text/plain"))
        .part("streamed", crate::api::Part::reader(std::io::Cursor::new(b"from a reader".to_vec()), None));
    let value: Value = Session::new()
        .post(&httpbin.url("/post"))
        .multipart(form)
        .send_with(t)
        .expect("multipart")
        .json()
        .expect("json");
    std::fs::remove_file(&path).ok();
    assert_eq!(value["form"]["title"], "holiday \"photos\"");
    assert_eq!(value["form"]["we%22ird%0D%0Aname"], "x", "quotes and CR/LF in names are escaped");
    assert_eq!(value["form"]["streamed"], "from a reader");
    assert_eq!(value["files"]["upload"], "file contents\nline two");
    assert_eq!(value["files"]["notes"], "sunny");
    assert!(value["headers"]["Content-Type"]
        .as_str()
        .unwrap_or_default()
        .starts_with("multipart/form-data; boundary=tidings-"));
    assert_eq!(value["headers"]["Transfer-Encoding"], "chunked", "a reader of unknown length makes the form chunked");
}

pub fn redirects_are_followed_with_the_core_rules(t: &dyn Transport) {
    let httpbin = server();
    let session = Session::new();
    let response = session.get(&httpbin.url("/redirect/3")).send_with(t).expect("chain");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.url().path(), "/get");
    let history: Vec<&str> = response.history().iter().map(|url| url.path()).collect();
    assert_eq!(history, ["/redirect/3", "/relative-redirect/2", "/relative-redirect/1"]);
    if t.streams_bodies() {
        assert_eq!(t.idle_connections(&session), 0, "the response body is still unread");
    }
    response.bytes().expect("body");
    assert_eq!(t.idle_connections(&session), 1, "drained redirects kept one connection");

    let response = session.get(&httpbin.url("/absolute-redirect/2")).send_with(t).expect("absolute");
    assert_eq!((response.url().path(), response.history().len()), ("/get", 2));

    // 303 turns POST into GET and drops the body; 307 replays it.
    let target = httpbin.url("/anything");
    let value: Value = session
        .post(&httpbin.url("/redirect-to"))
        .query([("url", target.as_str()), ("status_code", "303")])
        .body("payload")
        .send_with(t)
        .expect("303")
        .json()
        .expect("json");
    assert_eq!((value["method"].as_str(), value["data"].as_str()), (Some("GET"), Some("")));
    assert!(value["headers"].get("Content-Length").is_none_or(|length| length == "0"));
    let value: Value = session
        .post(&httpbin.url("/redirect-to"))
        .query([("url", target.as_str()), ("status_code", "307")])
        .body("payload")
        .send_with(t)
        .expect("307")
        .json()
        .expect("json");
    assert_eq!((value["method"].as_str(), value["data"].as_str()), (Some("POST"), Some("payload")));
    // A seekable body (a file, here a cursor past a prefix) is rewound and sent again.
    let mut file = std::io::Cursor::new(b"skip:seekable payload".to_vec());
    file.set_position(5);
    let value: Value = session
        .put(&httpbin.url("/redirect-to"))
        .query([("url", httpbin.url("/anything").as_str()), ("status_code", "308")])
        .body_seekable(file)
        .send_with(t)
        .expect("308")
        .json()
        .expect("json");
    assert_eq!((value["method"].as_str(), value["data"].as_str()), (Some("PUT"), Some("seekable payload")));

    let error = session
        .post(&httpbin.url("/redirect-to"))
        .query([("url", target.as_str()), ("status_code", "307")])
        .body_reader(std::io::Cursor::new(b"streamed".to_vec()), None)
        .send_with(t)
        .expect_err("a streamed body cannot be replayed");
    assert_eq!(error.kind(), ErrorKind::InvalidRequest, "{error}");
    // 301 and 302 keep a PUT a PUT, with its body: a streamed one was used up by the first
    // hop, so the chain stops there rather than send it again empty (or short).
    for (status, length) in [("301", None), ("302", Some(8))] {
        let error = session
            .put(&httpbin.url("/redirect-to"))
            .query([("url", target.as_str()), ("status_code", status)])
            .body_reader(std::io::Cursor::new(b"streamed".to_vec()), length)
            .send_with(t)
            .expect_err("a streamed body cannot be replayed");
        assert_eq!(error.kind(), ErrorKind::InvalidRequest, "{status}: {error}");
    }

    let limited = Session::builder().redirect_limit(2).build().expect("session");
    let error = limited.get(&httpbin.url("/redirect/5")).send_with(t).expect_err("too many");
    assert_eq!(error.kind(), ErrorKind::RedirectLimit, "{error}");
    let last = error.response().expect("the last response is kept");
    assert_eq!((last.status(), last.history().len()), (StatusCode::FOUND, 2));
    assert_eq!(last.headers().get_str("location"), Some("/relative-redirect/2"));
    let manual = Session::builder().no_redirects().build().expect("session");
    let response = manual.get(&httpbin.url("/redirect/1")).send_with(t).expect("not followed");
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(response.headers().get_str("location"), Some("/get"));
}

pub fn credentials_never_follow_a_redirect_to_another_origin(t: &dyn Transport) {
    let first = server();
    let second = server();
    let session = Session::new();
    let same_origin: Value = session
        .get(&first.url("/redirect-to"))
        .query([("url", "/headers")])
        .basic_auth("user", Some("secret"))
        .header("Cookie", "session=1")
        .send_with(t)
        .expect("same origin")
        .json()
        .expect("json");
    assert!(same_origin["headers"]["Authorization"].is_string(), "kept on the same origin");
    let other = second.url("/headers");
    let cross_origin: Value = session
        .get(&first.url("/redirect-to"))
        .query([("url", other.as_str())])
        .basic_auth("user", Some("secret"))
        .header("cookie", "session=1")
        .header("PROXY-AUTHORIZATION", "Basic x")
        .send_with(t)
        .expect("cross origin")
        .json()
        .expect("json");
    for name in ["Authorization", "Cookie", "Proxy-Authorization"] {
        assert!(cross_origin["headers"].get(name).is_none(), "{name} leaked to another origin: {cross_origin}");
    }
}

pub fn digest_auth_answers_one_challenge_for_every_algorithm(t: &dyn Transport) {
    let httpbin = server();
    for algorithm in ["MD5", "SHA-256", "MD5-sess", "SHA-256-sess"] {
        let url = httpbin.url(&format!("/digest-auth/auth/user/passwd/{algorithm}?q=1"));
        let response = Session::new().get(&url).digest_auth("user", "passwd").send_with(t).expect("digest");
        assert_eq!(response.status(), StatusCode::OK, "{algorithm}");
        let value: Value = response.json().expect("json");
        assert_eq!(value["authenticated"], true);

        // A wrong password: one answer, then the second 401 is the result.
        let response = Session::new().get(&url).digest_auth("user", "wrong").send_with(t).expect("digest");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{algorithm}");
    }

    // A replayable body is sent again with the answer.
    let url = httpbin.url("/digest-auth/auth/user/passwd/SHA-256");
    let response = Session::new().post(&url).body("payload").digest_auth("user", "passwd").send_with(t).expect("post");
    assert_eq!(response.status(), StatusCode::OK);
    // A streamed body cannot be, so the challenge is returned as it is.
    let reader = std::io::Cursor::new(b"payload".to_vec());
    let response =
        Session::new().post(&url).body_reader(reader, None).digest_auth("user", "passwd").send_with(t).expect("post");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

pub fn cookies_follow_hops_and_persist_per_session(t: &dyn Transport) {
    let httpbin = server();
    let cookies =
        |response: crate::api::Response| -> Value { response.json::<Value>().expect("json")["cookies"].clone() };

    // Set on a redirect hop, sent on the next one, kept by the session.
    let session = Session::new();
    let value =
        cookies(session.get(&httpbin.url("/cookies/set")).query([("a", "1"), ("b", "2")]).send_with(t).expect("set"));
    assert_eq!(value, serde_json::json!({"a": "1", "b": "2"}));
    assert_eq!(
        cookies(session.get(&httpbin.url("/cookies")).send_with(t).expect("again")),
        serde_json::json!({"a": "1", "b": "2"})
    );
    assert_eq!(session.cookies().get("a"), Some("1"));
    // A request's own cookie wins by name and is not kept.
    let value = cookies(
        session.get(&httpbin.url("/cookies")).cookie("a", "override").cookie("c", "3").send_with(t).expect("own"),
    );
    assert_eq!(value, serde_json::json!({"a": "override", "b": "2", "c": "3"}));
    assert_eq!(session.cookies().get("c"), None);
    // A Cookie header the caller writes is sent as written.
    let value =
        cookies(session.get(&httpbin.url("/cookies")).header("Cookie", "only=me").send_with(t).expect("header"));
    assert_eq!(value, serde_json::json!({"only": "me"}));
    session.clear_cookies();
    assert_eq!(cookies(session.get(&httpbin.url("/cookies")).send_with(t).expect("cleared")), serde_json::json!({}));
    let now = std::time::SystemTime::now();
    assert!(session.add_cookie_at(&httpbin.url("/"), "manual=1; Path=/", now).is_ok());
    assert_eq!(
        cookies(session.get(&httpbin.url("/cookies")).send_with(t).expect("added")),
        serde_json::json!({"manual": "1"})
    );
    let refused = session.add_cookie_at(&httpbin.url("/"), "s=1; Secure", now).expect_err("secure over http");
    assert_eq!(refused.kind(), ErrorKind::InvalidRequest);

    // Without a session jar (and through the module functions) cookies last one call.
    let session = Session::builder().cookie_store(false).build().expect("session");
    let value = cookies(session.get(&httpbin.url("/cookies/set?k=v")).send_with(t).expect("set"));
    assert_eq!(value, serde_json::json!({"k": "v"}));
    assert_eq!(cookies(session.get(&httpbin.url("/cookies")).send_with(t).expect("none kept")), serde_json::json!({}));
    let value = cookies(t.get(&httpbin.url("/cookies/set?m=n")).expect("module get"));
    assert_eq!(value, serde_json::json!({"m": "n"}));
    assert_eq!(cookies(t.get(&httpbin.url("/cookies")).expect("module get")), serde_json::json!({}));

    let no_redirects = Session::builder().no_redirects().build().expect("session");
    let response = no_redirects.get(&httpbin.url("/cookies/set?r=s")).send_with(t).expect("302");
    assert_eq!(response.cookies().get("r"), Some("s"), "Response::cookies is what this response set");
}
