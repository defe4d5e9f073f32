//! Body text: the charset `Content-Type` names, else a byte-order mark, else UTF-8; bytes
//! that do not decode become U+FFFD, never an error (as Requests' `Response.text`).

use std::borrow::Cow;

use crate::headers::trim_whitespace;

/// The `charset` parameter of a `Content-Type` value (RFC 9110 §8.3.2), unquoted.
///
/// ```
/// use tidings_core::text::charset;
/// assert_eq!(charset(b"text/html; Charset=\"ISO-8859-1\""), Some(&b"ISO-8859-1"[..]));
/// assert_eq!(charset(b"application/json"), None);
/// ```
pub fn charset(content_type: &[u8]) -> Option<&[u8]> {
    content_type.split(|&byte| byte == b';').skip(1).find_map(|parameter| {
        let parameter = trim_whitespace(parameter);
        let (name, value) = parameter.split_at(parameter.iter().position(|&byte| byte == b'=')?);
        if !trim_whitespace(name).eq_ignore_ascii_case(b"charset") {
            return None;
        }
        let value = trim_whitespace(&value[1..]);
        let value = value.strip_prefix(b"\"").and_then(|inner| inner.strip_suffix(b"\"")).unwrap_or(value);
        (!value.is_empty()).then_some(value)
    })
}

/// Decodes `body` as text: with the charset `content_type` names when it is known, else by
/// its byte-order mark, else as UTF-8. Never fails: undecodable bytes become U+FFFD.
pub fn decode_text<'a>(content_type: Option<&[u8]>, body: &'a [u8]) -> Cow<'a, str> {
    #[cfg(feature = "charset")]
    {
        let named = content_type.and_then(charset).and_then(encoding_rs::Encoding::for_label);
        if let Some(encoding) = named {
            return encoding.decode_with_bom_removal(body).0;
        }
        if let Some((encoding, bom)) = encoding_rs::Encoding::for_bom(body) {
            return encoding.decode_without_bom_handling(&body[bom..]).0;
        }
    }
    #[cfg(not(feature = "charset"))]
    let _ = content_type;
    String::from_utf8_lossy(body.strip_prefix(b"\xef\xbb\xbf").unwrap_or(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charset_parameter_forms() {
        assert_eq!(charset(b"text/plain;charset=utf-8"), Some(&b"utf-8"[..]));
        assert_eq!(charset(b"text/plain ; foo=bar ; CHARSET = latin1 "), Some(&b"latin1"[..]));
        assert_eq!(charset(b"text/plain; charset=\"\""), None);
        assert_eq!(charset(b"text/plain; charset"), None);
        assert_eq!(charset(b"charset=utf-8"), None, "the media type itself is not a parameter");
    }

    #[test]
    #[cfg(feature = "charset")]
    fn header_then_bom_then_utf8() {
        assert_eq!(decode_text(Some(b"text/plain; charset=iso-8859-1"), b"caf\xe9"), "café");
        assert_eq!(decode_text(Some(b"text/plain; charset=windows-1252"), b"\x80"), "€");
        // The header wins over a BOM for another encoding; a matching BOM is dropped.
        assert_eq!(decode_text(Some(b"text/plain; charset=utf-8"), b"\xef\xbb\xbfhi"), "hi");
        assert_eq!(decode_text(None, b"\xff\xfeh\x00i\x00"), "hi");
        assert_eq!(decode_text(None, b"caf\xc3\xa9"), "café");
        assert_eq!(decode_text(None, b"bad \xff byte"), "bad \u{fffd} byte");
        assert_eq!(decode_text(Some(b"text/plain; charset=no-such-charset"), b"ok"), "ok");
    }

    #[test]
    #[cfg(not(feature = "charset"))]
    fn without_the_charset_feature_text_is_utf8() {
        assert_eq!(decode_text(Some(b"text/plain; charset=iso-8859-1"), b"caf\xc3\xa9"), "café");
        assert_eq!(decode_text(None, b"bad \xff byte"), "bad \u{fffd} byte");
    }
}
