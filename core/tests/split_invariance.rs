//! Split invariance, by property: any split of the input yields exactly the events of the
//! whole input — for whole responses (valid, with damaged line endings, and garbage), for
//! content codings, and the decoders agree with reference encoders.
#![allow(clippy::disallowed_methods)] // tests pick a base instant; the core never reads the clock

mod common;

#[cfg(all(feature = "gzip", feature = "brotli", feature = "zstd"))]
use std::io::Write;

use common::run;
use proptest::prelude::*;
use tidings_core::{Chunk, ChunkedDecoder, Config, HeaderBlock, Leniency};
#[cfg(all(feature = "gzip", feature = "brotli", feature = "zstd"))]
use tidings_core::{Coding, ContentDecoder};

/// A response built from a grammar: interim responses, a head, and a body framed one of
/// several ways.
#[derive(Debug, Clone)]
struct Spec {
    informational: Vec<u16>,
    status: u16,
    http10: bool,
    fields: Vec<(String, String)>,
    body: Vec<u8>,
    framing: Framing,
    trailers: Vec<(String, String)>,
}

#[derive(Debug, Clone, Copy)]
enum Framing {
    Length,
    Chunked { size: usize },
    Close,
}

impl Spec {
    fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for status in &self.informational {
            out.extend_from_slice(format!("HTTP/1.1 {status} Interim\r\nX-Hint: {status}\r\n\r\n").as_bytes());
        }
        let version = if self.http10 { "HTTP/1.0" } else { "HTTP/1.1" };
        out.extend_from_slice(format!("{version} {} Reason Phrase\r\n", self.status).as_bytes());
        for (name, value) in &self.fields {
            out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
        match self.framing {
            Framing::Length => out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", self.body.len()).as_bytes()),
            Framing::Chunked { .. } => out.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n"),
            Framing::Close => out.extend_from_slice(b"\r\n"),
        }
        match self.framing {
            Framing::Chunked { size } => {
                for piece in self.body.chunks(size.max(1)) {
                    out.extend_from_slice(format!("{:X};ext=1\r\n", piece.len()).as_bytes());
                    out.extend_from_slice(piece);
                    out.extend_from_slice(b"\r\n");
                }
                out.extend_from_slice(b"0\r\n");
                for (name, value) in &self.trailers {
                    out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
                }
                out.extend_from_slice(b"\r\n");
            }
            _ => out.extend_from_slice(&self.body),
        }
        out
    }
}

fn spec() -> impl Strategy<Value = Spec> {
    let field = ("X-[A-Za-z0-9-]{1,10}", "[ -~]{0,20}").prop_map(|(name, value)| (name, value.trim().to_owned()));
    (
        proptest::collection::vec(prop_oneof![Just(100u16), Just(102), Just(103)], 0..3),
        prop_oneof![Just(200u16), Just(201), Just(204), Just(304), Just(404), Just(500), 200u16..600],
        any::<bool>(),
        proptest::collection::vec(field.clone(), 0..6),
        proptest::collection::vec(any::<u8>(), 0..600),
        prop_oneof![
            Just(Framing::Length),
            (1usize..200).prop_map(|size| Framing::Chunked { size }),
            Just(Framing::Close)
        ],
        proptest::collection::vec(field, 0..3),
    )
        .prop_map(|(informational, status, http10, fields, body, framing, trailers)| Spec {
            informational,
            status,
            http10,
            fields,
            body,
            framing,
            trailers,
        })
}

fn cuts(length: usize) -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::vec(0..length.max(1) + 1, 0..24)
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::with_cases(300) })]

    #[test]
    fn responses_decode_the_same_under_any_split((spec, cuts, eof) in spec().prop_flat_map(|spec| {
        let length = spec.bytes().len();
        (Just(spec), cuts(length), any::<bool>())
    })) {
        let bytes = spec.bytes();
        let config = Config::default();
        let whole = run(&config, "GET", &bytes, &[], eof);
        let split = run(&config, "GET", &bytes, &cuts, eof);
        prop_assert_eq!(&whole, &split);
        // And the decoded body is the one that was framed, when the framing carries one.
        let has_body = !(spec.status == 204 || spec.status == 304);
        let complete = !matches!(spec.framing, Framing::Close) || eof;
        let framing_ok = !(spec.http10 && matches!(spec.framing, Framing::Chunked { .. }));
        if has_body && complete && framing_ok {
            prop_assert_eq!(whole.body(), spec.body.clone(), "{:?}", whole);
        }
    }

    #[test]
    fn arbitrary_bytes_decode_the_same_under_any_split(
        bytes in proptest::collection::vec(any::<u8>(), 0..300),
        cuts in cuts(300),
        eof in any::<bool>(),
        lenient in any::<bool>(),
    ) {
        let mut config = Config::default();
        if lenient {
            config.leniency = Leniency::permissive();
        }
        let mut response = b"HTTP/1.1 200 OK\r\n".to_vec();
        response.extend_from_slice(&bytes);
        prop_assert_eq!(run(&config, "GET", &response, &[], eof), run(&config, "GET", &response, &cuts, eof));
        prop_assert_eq!(run(&config, "GET", &bytes, &[], eof), run(&config, "GET", &bytes, &cuts, eof));
    }

    /// The whole-input fast path checks line endings its own way (httparse accepts a bare
    /// LF); it must give the resumable path's answer for every damaged line ending.
    #[test]
    fn damaged_line_endings_decode_the_same_under_any_split(
        (spec, damage, cuts, lenient) in spec().prop_flat_map(|spec| {
            let length = spec.bytes().len();
            (Just(spec), proptest::collection::vec((any::<prop::sample::Index>(), 0u8..4), 1..4), cuts(length), any::<bool>())
        })
    ) {
        let mut bytes = spec.bytes();
        for (index, how) in damage {
            let endings: Vec<usize> = bytes.windows(2).enumerate().filter(|(_, pair)| pair == b"\r\n").map(|(at, _)| at).collect();
            if endings.is_empty() {
                break;
            }
            let at = endings[index.index(endings.len())];
            match how {
                0 => drop(bytes.remove(at)),                  // a bare LF
                1 => bytes.insert(at, b' '),                   // a blank before CR LF
                2 => bytes.splice(at..at + 2, *b" \n").for_each(drop), // a blank, then a bare LF
                _ => bytes.insert(at + 1, b'\r'),              // CR CR LF
            }
        }
        let mut config = Config::default();
        if lenient {
            config.leniency = Leniency::permissive();
        }
        let whole = run(&config, "GET", &bytes, &[], true);
        prop_assert_eq!(&whole, &run(&config, "GET", &bytes, &cuts, true));
        prop_assert_eq!(&whole, &run(&config, "GET", &bytes, &(1..bytes.len()).collect::<Vec<_>>(), true));
    }

    #[test]
    #[cfg(all(feature = "gzip", feature = "brotli", feature = "zstd"))]
    fn codings_decode_the_same_under_any_split(
        body in proptest::collection::vec(prop_oneof![Just(b'a'), any::<u8>()], 0..3000),
        chain in proptest::collection::vec(prop_oneof![Just(Coding::Gzip), Just(Coding::Deflate), Just(Coding::Brotli), Just(Coding::Zstd)], 1..4),
        piece in 1usize..700,
        output in 1usize..5000,
    ) {
        let encoded = encode(&body, &chain);
        prop_assert_eq!(decode(&chain, &encoded, encoded.len().max(1), 64 * 1024).expect("valid"), body.clone());
        prop_assert_eq!(decode(&chain, &encoded, piece, output).expect("valid"), body);
    }
}

/// Data, trailers and the count of bytes left after the body.
type Dechunked = (Vec<u8>, Vec<(String, Vec<u8>)>, usize);

/// The chunked decoder alone: what it yields under a split of the input.
fn dechunk(bytes: &[u8], cuts: &[usize]) -> Result<Dechunked, tidings_core::Error> {
    let (limits, leniency) = (tidings_core::Limits::default(), Leniency::default());
    let mut decoder = ChunkedDecoder::new();
    let mut trailers = HeaderBlock::default();
    let mut data = Vec::new();
    let mut pending = Vec::new();
    let mut bounds: Vec<usize> = cuts.iter().copied().filter(|&cut| cut < bytes.len()).collect();
    bounds.sort_unstable();
    bounds.push(bytes.len());
    let mut start = 0;
    for end in bounds {
        pending.extend_from_slice(&bytes[start..end.max(start)]);
        start = end.max(start);
        loop {
            let (used, item) = decoder.decode(&pending, &mut trailers, &limits, &leniency)?;
            let item = item.map(|item| match item {
                Chunk::Data(chunk) => {
                    data.extend_from_slice(chunk);
                    false
                }
                Chunk::End => true,
            });
            pending.drain(..used);
            match item {
                Some(true) => {
                    let fields = trailers.iter().map(|(name, value)| (name.to_owned(), value.to_vec())).collect();
                    return Ok((data, fields, pending.len() + bytes.len() - start));
                }
                Some(false) => {}
                None => break,
            }
        }
    }
    Err(tidings_core::IncompleteMessage::Chunked { received: decoder.data_received() }.into())
}

proptest! {
    #[test]
    fn chunked_bodies_decode_the_same_under_any_split(
        body in proptest::collection::vec(any::<u8>(), 0..400),
        sizes in proptest::collection::vec(1usize..64, 1..8),
        extension in proptest::option::of("[a-z]{1,8}(=[a-z0-9]{1,8})?"),
        trailers in proptest::collection::vec(("X-[A-Za-z]{1,8}", "[!-~]{0,12}"), 0..3),
        tail in proptest::collection::vec(any::<u8>(), 0..8),
        cuts in proptest::collection::vec(0usize..600, 0..16),
    ) {
        let mut bytes = Vec::new();
        let mut rest = &body[..];
        for size in sizes.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let take = (*size).min(rest.len());
            bytes.extend_from_slice(format!("{take:x}").as_bytes());
            if let Some(extension) = &extension {
                bytes.extend_from_slice(format!(";{extension}").as_bytes());
            }
            bytes.extend_from_slice(b"\r\n");
            bytes.extend_from_slice(&rest[..take]);
            bytes.extend_from_slice(b"\r\n");
            rest = &rest[take..];
        }
        bytes.extend_from_slice(b"0\r\n");
        for (name, value) in &trailers {
            bytes.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
        bytes.extend_from_slice(b"\r\n");
        bytes.extend_from_slice(&tail);
        let whole = dechunk(&bytes, &[]).expect("valid chunked body");
        prop_assert_eq!(&whole.0, &body);
        prop_assert_eq!(whole.1.len(), trailers.len());
        prop_assert_eq!(whole.2, tail.len());
        prop_assert_eq!(dechunk(&bytes, &cuts).expect("valid under a split"), whole);
    }
}

proptest! {
    /// The decoder reads a whole size line at once when it can and byte by byte otherwise;
    /// on damaged input the two must still agree exactly (same data, same error). Fed whole,
    /// nearly every line takes the fast path; fed a byte at a time, none does.
    #[test]
    fn damaged_chunked_bodies_decode_the_same_whole_and_byte_by_byte(
        sizes in proptest::collection::vec((1usize..40, 0usize..3, any::<bool>()), 1..6),
        damage in proptest::collection::vec((any::<prop::sample::Index>(), prop::sample::select(
            &b"\r\n; \t0fFgG\x00=\"x"[..]), any::<bool>()), 0..4),
    ) {
        let mut bytes = Vec::new();
        for (size, zeros, upper) in &sizes {
            let digits = if *upper { format!("{size:X}") } else { format!("{size:x}") };
            bytes.extend_from_slice(format!("{}{digits}\r\n", "0".repeat(*zeros)).as_bytes());
            bytes.extend(std::iter::repeat_n(b'd', *size));
            bytes.extend_from_slice(b"\r\n");
        }
        bytes.extend_from_slice(b"0\r\nX-T: 1\r\n\r\n");
        for (at, byte, insert) in &damage {
            let at = at.index(bytes.len());
            if *insert {
                bytes.insert(at, *byte);
            } else {
                bytes[at] = *byte;
            }
        }
        let every_byte: Vec<usize> = (1..bytes.len()).collect();
        prop_assert_eq!(dechunk(&bytes, &[]), dechunk(&bytes, &every_byte));
    }
}

/// Applies `chain` in order, as a server would list it in Content-Encoding.
#[cfg(all(feature = "gzip", feature = "brotli", feature = "zstd"))]
fn encode(body: &[u8], chain: &[Coding]) -> Vec<u8> {
    let mut data = body.to_vec();
    for coding in chain {
        data = match coding {
            Coding::Gzip => {
                let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                encoder.write_all(&data).expect("in memory");
                encoder.finish().expect("in memory")
            }
            Coding::Deflate => {
                let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
                encoder.write_all(&data).expect("in memory");
                encoder.finish().expect("in memory")
            }
            Coding::Brotli => {
                let mut out = Vec::new();
                let mut encoder = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
                encoder.write_all(&data).expect("in memory");
                drop(encoder);
                out
            }
            Coding::Zstd => zstd::encode_all(&data[..], 3).expect("in memory"),
            _ => unreachable!("every coding is compiled in for tests"),
        };
    }
    data
}

/// Decodes `encoded` fed in pieces, with an output buffer of `output` bytes.
#[cfg(all(feature = "gzip", feature = "brotli", feature = "zstd"))]
fn decode(chain: &[Coding], encoded: &[u8], piece: usize, output: usize) -> Result<Vec<u8>, tidings_core::Error> {
    common::decode_in_pieces(&mut ContentDecoder::new(chain, 1 << 30)?, encoded, piece, output)
}
