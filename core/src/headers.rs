//! Header fields that keep their case and order on the wire, with case-insensitive lookup.
//!
//! [`Headers`] is the owned list a caller builds for a request (or trailers).
//! [`HeaderBlock`] is how a received head or trailer section is kept: its raw bytes plus an
//! index of where each name and value lies, so a parsed response borrows from one reusable
//! buffer instead of allocating per field.

use std::ops::Range;

/// An ordered list of header fields that keeps each name's case.
///
/// Lookups ignore ASCII case. Values are bytes: RFC 9110 allows obs-text (0x80–0xFF).
/// Nothing is validated here; a request is validated as a whole before a byte is written.
///
/// ```
/// use tidings_core::Headers;
/// let mut headers = Headers::new();
/// headers.append("X-Trace", "a");
/// headers.append("x-trace", "b");
/// assert_eq!(headers.get("X-TRACE"), Some(&b"a"[..]));
/// assert_eq!(headers.get_all("x-trace").count(), 2);
/// headers.insert("X-Trace", "c");
/// assert_eq!(headers.len(), 1);
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Headers {
    fields: Vec<(String, Vec<u8>)>,
}

/// Prints as a map in wire order, as `http::HeaderMap` does: `{"Content-Type": "text/plain"}`
/// (names as written; a value's octets that are not UTF-8 escaped).
impl std::fmt::Debug for Headers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        debug_fields(f, self.iter())
    }
}

/// Field lines as a map, in order; repeated names stay repeated.
fn debug_fields<'a>(
    f: &mut std::fmt::Formatter<'_>,
    fields: impl Iterator<Item = (&'a str, &'a [u8])>,
) -> std::fmt::Result {
    f.debug_map().entries(fields.map(|(name, value)| (name, DebugValue(value)))).finish()
}

/// A field value in `Debug`: as a string when it is UTF-8, else with its octets escaped.
struct DebugValue<'a>(&'a [u8]);

impl std::fmt::Debug for DebugValue<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match std::str::from_utf8(self.0) {
            Ok(text) => std::fmt::Debug::fmt(text, f),
            Err(_) => write!(f, "\"{}\"", self.0.escape_ascii()),
        }
    }
}

impl Headers {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a field at the end, keeping any others of the same name.
    pub fn append(&mut self, name: impl Into<String>, value: impl AsRef<[u8]>) {
        self.fields.push((name.into(), value.as_ref().to_vec()));
    }

    /// Sets a field: the first field of that name (any case) takes the new name and value in
    /// place, later ones are removed; if there was none it is appended.
    pub fn insert(&mut self, name: impl Into<String>, value: impl AsRef<[u8]>) {
        let name = name.into();
        match self.position(&name) {
            Some(first) => {
                let mut index = 0;
                self.fields.retain(|(other, _)| {
                    let keep = index <= first || !other.eq_ignore_ascii_case(&name);
                    index += 1;
                    keep
                });
                self.fields[first] = (name, value.as_ref().to_vec());
            }
            None => self.append(name, value),
        }
    }

    /// Removes every field of that name; returns how many were removed.
    pub fn remove(&mut self, name: &str) -> usize {
        let before = self.fields.len();
        self.fields.retain(|(other, _)| !other.eq_ignore_ascii_case(name));
        before - self.fields.len()
    }

    /// The first value of that name.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.position(name).map(|index| self.fields[index].1.as_slice())
    }

    /// The first value of that name, if it is UTF-8.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(|value| std::str::from_utf8(value).ok())
    }

    /// Every value of that name, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.fields.iter().filter(move |(other, _)| other.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_slice())
    }

    /// Whether a field of that name is present.
    pub fn contains(&self, name: &str) -> bool {
        self.position(name).is_some()
    }

    /// Every field, in order, with the caller's case.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.fields.iter().map(|(name, value)| (name.as_str(), value.as_slice()))
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|(other, _)| other.eq_ignore_ascii_case(name))
    }
}

impl<N: Into<String>, V: AsRef<[u8]>> FromIterator<(N, V)> for Headers {
    fn from_iter<I: IntoIterator<Item = (N, V)>>(iter: I) -> Self {
        let mut headers = Headers::new();
        for (name, value) in iter {
            headers.append(name, value);
        }
        headers
    }
}

impl From<&http::HeaderMap> for Headers {
    /// Converts from the `http` crate's map (whose names are lowercase).
    fn from(map: &http::HeaderMap) -> Self {
        map.iter().map(|(name, value)| (name.as_str(), value.as_bytes())).collect()
    }
}

/// Received header fields: raw bytes plus an index of each name and value.
///
/// The buffer and index are reused from one response to the next, so parsing allocates only
/// while they grow to the largest head seen.
#[derive(Clone, Default)]
pub struct HeaderBlock {
    pub(crate) raw: Vec<u8>,
    pub(crate) fields: Vec<(Span, Span)>,
}

/// Where a name or a value lies in a [`HeaderBlock`]'s buffer: its start and its length,
/// which is what indexing a parsed head gives without arithmetic and what a lookup by name
/// compares first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) start: u32,
    pub(crate) len: u32,
}

impl Span {
    pub(crate) fn new(start: u32, len: u32) -> Span {
        Span { start, len }
    }

    /// The span from `start` up to (not including) `end`.
    pub(crate) fn between(start: u32, end: u32) -> Span {
        Span { start, len: end - start }
    }

    pub(crate) fn start(self) -> usize {
        self.start as usize
    }

    pub(crate) fn end(self) -> usize {
        self.start as usize + self.len as usize
    }

    pub(crate) fn range(self) -> Range<usize> {
        self.start()..self.end()
    }
}

/// Prints as a map in wire order, like [`Headers`].
impl std::fmt::Debug for HeaderBlock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        debug_fields(f, self.iter())
    }
}

impl HeaderBlock {
    /// The number of field lines.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Every field in wire order, with the case the peer sent; values trimmed of
    /// surrounding whitespace. Repeated fields stay separate.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> + '_ {
        self.fields.iter().map(move |(name, value)| (self.name(name), self.slice(value)))
    }

    /// The first value of that name (ASCII case-insensitive).
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        let name = name.as_bytes();
        let named = |(field, _): &&(Span, Span)| {
            field.len as usize == name.len() && self.slice(field).eq_ignore_ascii_case(name)
        };
        self.fields.iter().find(named).map(|(_, value)| self.slice(value))
    }

    /// The first value of that name, if it is UTF-8.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(|value| std::str::from_utf8(value).ok())
    }

    /// Every value of that name, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.values_named(name.as_bytes())
    }

    /// The values of the fields named `name`. Here and in [`get`](Self::get) a name of
    /// another length is passed over on its index alone: a response is looked up several
    /// times per request, by names that are mostly absent.
    fn values_named<'a>(&'a self, name: &'a [u8]) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.fields
            .iter()
            .filter(move |(field, _)| field.len as usize == name.len() && self.slice(field).eq_ignore_ascii_case(name))
            .map(|(_, value)| self.slice(value))
    }

    /// Every field as bytes, without checking names are UTF-8 (they are tokens).
    pub(crate) fn raw_fields(&self) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        self.fields.iter().map(move |(name, value)| (self.slice(name), self.slice(value)))
    }

    /// Whether a field of that name is present.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Copies the fields into an owned [`Headers`].
    pub fn to_headers(&self) -> Headers {
        self.iter().collect()
    }

    /// Converts to the `http` crate's map. Fields `http` cannot represent are skipped.
    pub fn to_http(&self) -> http::HeaderMap {
        let mut map = http::HeaderMap::with_capacity(self.len());
        for (name, value) in self.iter() {
            if let (Ok(name), Ok(value)) =
                (http::HeaderName::from_bytes(name.as_bytes()), http::HeaderValue::from_bytes(value))
            {
                map.append(name, value);
            }
        }
        map
    }

    pub(crate) fn clear(&mut self) {
        self.raw.clear();
        self.fields.clear();
    }

    pub(crate) fn slice(&self, span: &Span) -> &[u8] {
        &self.raw[span.range()]
    }

    fn name(&self, span: &Span) -> &str {
        // httparse only accepts token characters in names, which are ASCII.
        std::str::from_utf8(self.slice(span)).unwrap_or("")
    }
}

impl From<&Headers> for HeaderBlock {
    /// Builds a block from owned fields (useful for tests and for trailers a driver made).
    fn from(headers: &Headers) -> Self {
        let mut block = HeaderBlock::default();
        for (name, value) in headers.iter() {
            let name_start = block.raw.len() as u32;
            block.raw.extend_from_slice(name.as_bytes());
            let value_start = block.raw.len() as u32;
            block.raw.extend_from_slice(value);
            block
                .fields
                .push((Span::between(name_start, value_start), Span::between(value_start, block.raw.len() as u32)));
        }
        block
    }
}

/// Strips optional whitespace (SP / HTAB) from both ends (RFC 9110 §5.5).
pub(crate) fn trim_whitespace(mut value: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = value {
        value = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = value {
        value = rest;
    }
    value
}

/// Whether `bytes` equals `lower`, a lowercase ASCII constant, ignoring ASCII case — the
/// same answer as `eq_ignore_ascii_case`, without a branch per byte: a letter of `lower`
/// matches either case (`byte | 0x20`), every other byte only itself. With `lower` a
/// constant, the loop unrolls into a few word operations.
#[inline(always)]
pub(crate) fn eq_lowercase<const N: usize>(bytes: &[u8], lower: &[u8; N]) -> bool {
    let Ok(bytes) = <&[u8; N]>::try_from(bytes) else {
        return false;
    };
    let mut difference = 0;
    for (byte, expected) in bytes.iter().zip(lower) {
        let fold = if expected.is_ascii_lowercase() { 0x20 } else { 0 };
        difference |= (byte | fold) ^ expected;
    }
    difference == 0
}

/// `tchar` from RFC 9110 §5.6.2:
/// `"!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA`
pub(crate) fn is_tchar(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

/// `token = 1*tchar` (RFC 9110 §5.6.2).
pub(crate) fn is_token(bytes: &[u8]) -> bool {
    !bytes.is_empty() && bytes.iter().all(|&byte| is_tchar(byte))
}

/// A field value as a sender may write it (RFC 9110 §5.5): VCHAR, obs-text, SP and HTAB.
/// CR, LF, NUL and every other control byte are refused so nothing can be smuggled.
pub(crate) fn is_valid_value(bytes: &[u8]) -> bool {
    bytes.iter().all(|&byte| byte == b'\t' || (byte >= 0x20 && byte != 0x7f))
}

/// Iterates the comma-separated elements of one or more field values (RFC 9110 §5.6.1),
/// trimmed, skipping empty elements.
pub(crate) fn list_elements<'a>(values: impl Iterator<Item = &'a [u8]> + 'a) -> impl Iterator<Item = &'a [u8]> + 'a {
    values
        .flat_map(|value| value.split(|&byte| byte == b','))
        .map(trim_whitespace)
        .filter(|element| !element.is_empty())
}

#[cfg(test)]
mod tests {

    #[test]
    fn headers_print_as_a_map_in_wire_order() {
        let mut headers = Headers::new();
        headers.append("Content-Type", "application/json");
        headers.append("X-Raw", b"caf\xe9");
        headers.append("X-Text", "café");
        headers.append("content-type", "text/plain");
        let expected = r#"{"Content-Type": "application/json", "X-Raw": "caf\xe9", "X-Text": "café", "content-type": "text/plain"}"#;
        assert_eq!(format!("{headers:?}"), expected);
        assert_eq!(format!("{:?}", HeaderBlock::from(&headers)), expected);
    }
    use super::*;

    #[test]
    fn insert_replaces_first_and_drops_later_duplicates() {
        let mut headers: Headers = [("A", "1"), ("b", "2"), ("a", "3")].into_iter().collect();
        headers.insert("A", "9");
        assert_eq!(headers.iter().collect::<Vec<_>>(), vec![("A", &b"9"[..]), ("b", &b"2"[..])]);
    }

    #[test]
    fn trims_optional_whitespace_only() {
        assert_eq!(trim_whitespace(b" \t a b \t"), b"a b");
        assert_eq!(trim_whitespace(b"   "), b"");
    }

    #[test]
    fn tokens_and_values() {
        assert!(is_token(b"X-Custom_1!"));
        assert!(!is_token(b""));
        assert!(!is_token(b"a b"));
        assert!(!is_token(b"a:b"));
        assert!(is_valid_value(b"text/html; q=0.9\t\xff"));
        assert!(!is_valid_value(b"a\r\nb"));
        assert!(!is_valid_value(b"a\0"));
        assert!(!is_valid_value(b"\x7f"));
    }

    #[test]
    fn list_elements_split_and_trim() {
        let values: [&[u8]; 2] = [b" gzip ,, chunked", b"br"];
        let elements: Vec<&[u8]> = list_elements(values.into_iter()).collect();
        assert_eq!(elements, vec![&b"gzip"[..], b"chunked", b"br"]);
    }

    #[test]
    fn eq_lowercase_agrees_with_eq_ignore_ascii_case_on_every_single_byte_change() {
        fn check<const N: usize>(lower: &[u8; N]) {
            let upper = lower.to_ascii_uppercase();
            for base in [&lower[..], &upper[..]] {
                assert!(eq_lowercase(base, lower));
                for position in 0..N {
                    for byte in 0..=255u8 {
                        let mut changed = base.to_vec();
                        changed[position] = byte;
                        let expected = changed.eq_ignore_ascii_case(lower);
                        assert_eq!(eq_lowercase(&changed, lower), expected, "{:?}", String::from_utf8_lossy(&changed));
                    }
                }
            }
            // Other lengths never match.
            assert!(!eq_lowercase(&lower[..N - 1], lower));
            assert!(!eq_lowercase(&[lower.as_slice(), b"x"].concat(), lower));
        }
        check(b"transfer-encoding");
        check(b"content-length");
        check(b"connection");
        check(b"keep-alive");
        check(b"chunked");
        check(b"close");
        // The byte a plain `| 0x20` would confuse with '-'.
        assert!(!eq_lowercase(b"content\rlength", b"content-length"));
    }
}
