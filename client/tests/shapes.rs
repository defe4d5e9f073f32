//! The shapes Rust users already type compile and mean what they say: query parameters and
//! form fields as borrowed or owned pairs, arrays, slices, `Vec`s, maps, iterators and
//! `Serialize` values; `basic_auth` with a password, `Some`, or a bare `None`.

use std::collections::{BTreeMap, HashMap};

use tidings_client::{PreparedRequest, Session};

fn query(request: &PreparedRequest) -> &str {
    request.url().query().unwrap_or_default()
}

#[test]
#[allow(clippy::needless_borrows_for_generic_args)] // the borrowed shapes are what is tested
fn query_parameters_come_in_every_shape() {
    let session = Session::new();
    let base = "http://127.0.0.1:1/";
    let owned: Vec<(String, String)> = vec![("a".into(), "1".into())];
    let hash = HashMap::from([("h", "x")]);
    let tree = BTreeMap::from([("t", "y".to_owned())]);
    let request = session
        .get(base)
        .query(&[("s", "slice")]) // &[(&str, &str); 1]
        .query([("arr", "ay")]) // by value
        .query(&owned[..]) // &[(String, String)]
        .query(&owned) // &Vec
        .query(owned.clone()) // Vec
        .query(&hash) // &HashMap
        .query(tree) // BTreeMap, by value
        .query(["x", "y"].iter().map(|name| (*name, name.to_uppercase()))) // an iterator
        .build()
        .expect("built");
    assert_eq!(query(&request), "s=slice&arr=ay&a=1&a=1&a=1&h=x&t=y&x=X&y=Y");
}

#[test]
#[cfg(feature = "serde")]
#[allow(clippy::needless_borrows_for_generic_args)] // the borrowed shapes are what is tested
fn a_serialize_value_makes_query_and_form() {
    #[derive(serde::Serialize)]
    struct Search<'a> {
        q: &'a str,
        page: u32,
        exact: Option<bool>,
    }
    let session = Session::new();
    let search = Search { q: "rust lang", page: 2, exact: None };
    let request = session.get("http://127.0.0.1:1/").query_serialize(&search).build().expect("built");
    assert_eq!(query(&request), "q=rust+lang&page=2");
    let request = session.post("http://127.0.0.1:1/").form_serialize(&search).build().expect("built");
    assert_eq!(request.body(), Some(&b"q=rust+lang&page=2"[..]));
    assert_eq!(request.headers().get_str("content-type"), Some("application/x-www-form-urlencoded"));
    let request = session.post("http://127.0.0.1:1/").form(&[("k", "v w")]).build().expect("built");
    assert_eq!(request.body(), Some(&b"k=v+w"[..]));
    // What cannot be flattened into pairs is refused when built.
    let nested = serde_json::json!({"a": {"b": 1}});
    assert!(session.get("http://127.0.0.1:1/").query_serialize(&nested).build().is_err());
}

#[test]
fn basic_auth_takes_a_password_some_or_none() {
    let session = Session::new();
    let authorization = |request: PreparedRequest| request.headers().get_str("authorization").map(str::to_owned);
    let url = "http://127.0.0.1:1/";
    let owned = Some("pass".to_owned());
    assert_eq!(
        authorization(session.get(url).basic_auth("user", "pass").build().expect("built")).as_deref(),
        Some("Basic dXNlcjpwYXNz")
    );
    assert_eq!(
        authorization(session.get(url).basic_auth("user", Some("pass")).build().expect("built")).as_deref(),
        Some("Basic dXNlcjpwYXNz")
    );
    assert_eq!(
        authorization(session.get(url).basic_auth("user", owned.as_deref()).build().expect("built")).as_deref(),
        Some("Basic dXNlcjpwYXNz")
    );
    assert_eq!(
        authorization(session.get(url).basic_auth("user", None).build().expect("built")).as_deref(),
        Some("Basic dXNlcjo=")
    );
}
