//! The shapes query parameters and form fields come in, as Rust code holds them: pairs by
//! value or by reference, in arrays, slices, `Vec`s, maps or any iterator — and, with the
//! `serde` feature, any `Serialize` value (a struct, say), as reqwest takes them.
//!

/// One name and value: a pair `(K, V)` or a reference to one, of anything that reads as a
/// string.
///
/// ```
/// use std::collections::BTreeMap;
/// let session = tidings_client::Session::new();
/// let owned = vec![("q".to_owned(), "rust".to_owned())];
/// let map = BTreeMap::from([("page", "2")]);
/// let request = session
///     .get("http://127.0.0.1:8080/search")
///     .query(&[("lang", "en")]) // a slice of borrowed pairs
///     .query([("sort", "new")]) // an array
///     .query(&owned) // a Vec, by reference
///     .query(&map) // a map
///     .build()?;
/// assert_eq!(request.url().query(), Some("lang=en&sort=new&q=rust&page=2"));
/// # Ok::<(), tidings_client::Error>(())
/// ```
pub trait Param {
    /// The name and value, owned.
    fn into_param(self) -> (String, String);
}

impl<K: AsRef<str>, V: AsRef<str>> Param for (K, V) {
    fn into_param(self) -> (String, String) {
        (self.0.as_ref().to_owned(), self.1.as_ref().to_owned())
    }
}

impl<K: AsRef<str>, V: AsRef<str>> Param for &(K, V) {
    fn into_param(self) -> (String, String) {
        (self.0.as_ref().to_owned(), self.1.as_ref().to_owned())
    }
}

/// The pairs of any iterable of [`Param`]s.
pub(crate) fn collect(params: impl IntoIterator<Item = impl Param>) -> impl Iterator<Item = (String, String)> {
    params.into_iter().map(Param::into_param)
}

/// The pairs a `Serialize` value makes as `application/x-www-form-urlencoded` (a struct's
/// fields in order, a map's entries, a sequence of pairs), decoded again so they are encoded
/// once, where they go.
#[cfg(feature = "serde")]
pub(crate) fn serialized<T: serde::Serialize + ?Sized>(value: &T) -> Result<Vec<(String, String)>, crate::Error> {
    let encoded = serde_urlencoded::to_string(value).map_err(|error| {
        crate::Error::new(crate::ErrorKind::InvalidRequest, format!("cannot encode the parameters: {error}"))
            .caused_by(error)
    })?;
    Ok(url::form_urlencoded::parse(encoded.as_bytes()).into_owned().collect())
}
