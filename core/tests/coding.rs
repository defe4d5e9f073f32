//! Content decoding cases: every coding, the fallbacks real servers need, and every bound.
#![cfg(all(feature = "gzip", feature = "brotli", feature = "zstd"))] // every coding compiled in

mod common;

use std::io::Write;

use common::decode_in_pieces;

use tidings_core::{Coding, ContentDecoder, Error, ErrorKind, HeaderBlock, Headers};

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).expect("in memory");
    encoder.finish().expect("in memory")
}

fn raw_deflate(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).expect("in memory");
    encoder.finish().expect("in memory")
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).expect("in memory");
    encoder.finish().expect("in memory")
}

fn brotli(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = brotli::CompressorWriter::new(&mut out, 4096, 9, 22);
    encoder.write_all(data).expect("in memory");
    drop(encoder);
    out
}

/// Decodes with a small output buffer, one byte of input at a time when `bytewise`.
fn decode_with(decoder: &mut ContentDecoder, encoded: &[u8], bytewise: bool) -> Result<Vec<u8>, Error> {
    decode_in_pieces(decoder, encoded, if bytewise { 1 } else { encoded.len() }, 100)
}

fn decode(chain: &[Coding], encoded: &[u8], limit: u64) -> Result<Vec<u8>, Error> {
    let whole = decode_with(&mut ContentDecoder::new(chain, limit)?, encoded, false);
    let bytewise = decode_with(&mut ContentDecoder::new(chain, limit)?, encoded, true);
    assert_eq!(whole, bytewise, "split invariance");
    whole
}

fn block(fields: &[(&str, &str)]) -> HeaderBlock {
    let headers: Headers = fields.iter().copied().collect();
    HeaderBlock::from(&headers)
}

const TEXT: &[u8] = b"The quick brown fox jumps over the lazy dog. The quick brown fox jumps over the lazy dog.";

#[test]
fn each_coding_decodes() {
    assert_eq!(decode(&[Coding::Gzip], &gzip(TEXT), 1 << 20).expect("gzip"), TEXT);
    assert_eq!(decode(&[Coding::Deflate], &zlib(TEXT), 1 << 20).expect("zlib deflate"), TEXT);
    assert_eq!(decode(&[Coding::Brotli], &brotli(TEXT), 1 << 20).expect("br"), TEXT);
    assert_eq!(decode(&[Coding::Zstd], &zstd::encode_all(TEXT, 3).expect("zstd"), 1 << 20).expect("zstd"), TEXT);
}

#[test]
fn gzip_members_are_concatenated() {
    let mut members = gzip(b"first member, ");
    members.extend(gzip(b"second member"));
    assert_eq!(decode(&[Coding::Gzip], &members, 1 << 20).expect("multi-member"), b"first member, second member");
}

#[test]
fn deflate_falls_back_to_raw_deflate() {
    assert_eq!(decode(&[Coding::Deflate], &raw_deflate(TEXT), 1 << 20).expect("raw deflate"), TEXT);
}

#[test]
fn chains_decode_in_reverse_order_of_application() {
    // Content-Encoding: gzip, br  — gzip applied first, then br.
    let encoded = brotli(&gzip(TEXT));
    let headers = block(&[("Content-Encoding", "gzip, br")]);
    let mut decoder = ContentDecoder::for_response(&headers, 1 << 20).expect("known codings");
    assert_eq!(decode_with(&mut decoder, &encoded, true).expect("chain"), TEXT);
    // x-gzip is gzip; identity is nothing; transfer codings before chunked are decoded too.
    let headers = block(&[("Content-Encoding", "identity, X-GZIP"), ("Transfer-Encoding", "br, chunked")]);
    let mut decoder = ContentDecoder::for_response(&headers, 1 << 20).expect("known codings");
    assert_eq!(decode_with(&mut decoder, &encoded, false).expect("chain"), TEXT);
}

#[test]
fn unknown_codings_pass_through_and_say_so() {
    let headers = block(&[("Content-Encoding", "gzip, compress")]);
    let mut decoder = ContentDecoder::for_response(&headers, 1 << 20).expect("pass-through");
    assert_eq!(decoder.undecoded(), Some("compress"));
    assert!(decoder.is_identity());
    assert_eq!(decode_with(&mut decoder, b"as received", false).expect("identity"), b"as received");
}

#[test]
fn truncated_and_corrupt_streams_are_errors() {
    let encoded = gzip(TEXT);
    let error = decode(&[Coding::Gzip], &encoded[..encoded.len() - 4], 1 << 20).expect_err("truncated");
    assert_eq!(error.kind(), ErrorKind::Decode, "{error}");
    let mut corrupt = encoded.clone();
    let middle = corrupt.len() / 2;
    corrupt[middle] ^= 0xff;
    corrupt[middle + 1] ^= 0xff;
    let error = decode(&[Coding::Gzip], &corrupt, 1 << 20).expect_err("corrupt");
    assert!(matches!(error.kind(), ErrorKind::Decode | ErrorKind::Eof), "{error}");
    let error = decode(&[Coding::Brotli], b"definitely not brotli", 1 << 20).expect_err("not brotli");
    assert_eq!(error.kind(), ErrorKind::Decode);
    let error = decode(&[Coding::Zstd], b"definitely not zstd", 1 << 20).expect_err("not zstd");
    assert_eq!(error.kind(), ErrorKind::Decode);
    let mut trailing = zlib(TEXT);
    trailing.extend_from_slice(b"junk");
    assert_eq!(decode(&[Coding::Deflate], &trailing, 1 << 20).expect_err("trailing junk").kind(), ErrorKind::Decode);
}

/// A coded stream cut short while the HTTP framing completed is the content's fault: kind
/// `decode`, not `eof` (the connection did not end early; the coded content did).
#[test]
fn truncated_codings_are_decode_errors_for_every_coding() {
    let text: Vec<u8> = (0..20_000u32).flat_map(|n| n.to_le_bytes()).collect();
    let zstd = zstd::encode_all(&text[..], 3).expect("zstd");
    let encoded = [
        (Coding::Gzip, gzip(&text)),
        (Coding::Deflate, zlib(&text)),
        (Coding::Deflate, raw_deflate(&text)),
        (Coding::Brotli, brotli(&text)),
        (Coding::Zstd, zstd),
    ];
    for (coding, stream) in encoded {
        for cut in [stream.len() - 1, stream.len() / 2, 10] {
            let error = decode(&[coding], &stream[..cut], 1 << 24).expect_err("truncated");
            assert_eq!(error.kind(), ErrorKind::Decode, "{coding:?} cut at {cut}: {error}");
        }
        assert_eq!(decode(&[coding], &stream, 1 << 24).expect("whole"), text, "{coding:?}");
    }
    // gzip without its 8-byte trailer (CRC-32 and size).
    let whole = gzip(&text);
    let error = decode(&[Coding::Gzip], &whole[..whole.len() - 8], 1 << 24).expect_err("no trailer");
    assert_eq!(error.kind(), ErrorKind::Decode, "{error}");
}

/// HTTP's `br` is RFC 7932 brotli (a window of at most 16 MiB); a stream asking for the
/// large-window extension is refused before the decoder allocates its 1 GiB ring buffer.
#[test]
fn a_large_window_brotli_stream_is_a_decode_error() {
    let large_window = [0x11, 0x9e, 0x2c, 0xc5, 0x02, 0x10, 0x44, 0x1a, 0x11, 0x25, 0x25];
    let error = decode(&[Coding::Brotli], &large_window, 1 << 20).expect_err("large window");
    assert_eq!(error.kind(), ErrorKind::Decode, "{error}");
}

#[test]
fn a_bomb_stops_at_the_cap_with_exactly_the_cap_delivered() {
    let bomb = gzip(&vec![0u8; 10 << 20]);
    assert!(bomb.len() < 64 * 1024, "10 MiB of zeros compresses to {} bytes", bomb.len());
    let mut decoder = ContentDecoder::new(&[Coding::Gzip], 1 << 20).expect("gzip");
    let mut out = [0u8; 8192];
    let mut delivered = 0u64;
    let mut input = &bomb[..];
    let error = loop {
        match decoder.decode(input, &mut out) {
            Ok((used, written)) => {
                delivered += written as u64;
                input = &input[used..];
            }
            Err(error) => break error,
        }
    };
    assert_eq!(error.kind(), ErrorKind::TooLarge);
    assert_eq!(delivered, 1 << 20);
    assert_eq!(decoder.decoded(), 1 << 20);
}

#[test]
fn at_most_five_codings() {
    let headers = block(&[("Content-Encoding", "gzip, gzip, gzip, gzip, gzip, gzip")]);
    let error = ContentDecoder::for_response(&headers, 1 << 20).expect_err("six codings");
    assert_eq!(error.kind(), ErrorKind::TooLarge);
    assert!(ContentDecoder::new(&[Coding::Gzip; 5], 1 << 20).is_ok());
}

#[test]
fn a_huge_zstd_window_is_refused() {
    // 2^27 window: beyond the 8 MiB RFC 8878 asks HTTP decoders to support.
    let mut encoder = zstd::stream::Encoder::new(Vec::new(), 3).expect("encoder");
    encoder.window_log(27).expect("window log");
    encoder.long_distance_matching(true).expect("ldm");
    encoder.include_contentsize(false).expect("no size");
    encoder.write_all(&vec![7u8; 1 << 20]).expect("in memory");
    let encoded = encoder.finish().expect("in memory");
    let error = decode(&[Coding::Zstd], &encoded, 1 << 30).expect_err("window too large");
    assert_eq!(error.kind(), ErrorKind::Decode, "{error}");
}

#[test]
fn zstd_frames_concatenate_skippable_frames_are_passed_over_and_checksums_checked() {
    let first = zstd::encode_all(&b"first frame, "[..], 3).expect("zstd");
    let second = zstd::encode_all(TEXT, 19).expect("zstd");
    // A skippable frame (RFC 8878 §3.1.2): magic 0x184D2A53, 5 bytes of anything.
    let skippable = [0x53, 0x2A, 0x4D, 0x18, 5, 0, 0, 0, 1, 2, 3, 4, 5];
    let stream = [&skippable[..], &first, &skippable, &second].concat();
    let mut expected = b"first frame, ".to_vec();
    expected.extend_from_slice(TEXT);
    for bytewise in [false, true] {
        let mut decoder = ContentDecoder::new(&[Coding::Zstd], 1 << 20).expect("decoder");
        assert_eq!(decode_with(&mut decoder, &stream, bytewise).expect("decoded"), expected);
    }

    let mut encoder = zstd::stream::Encoder::new(Vec::new(), 3).expect("encoder");
    encoder.include_checksum(true).expect("checksum");
    encoder.write_all(TEXT).expect("in memory");
    let mut checked = encoder.finish().expect("in memory");
    assert_eq!(decode(&[Coding::Zstd], &checked, 1 << 20).expect("checksum matches"), TEXT);
    let last = checked.len() - 1;
    checked[last] ^= 0xff;
    let error = decode(&[Coding::Zstd], &checked, 1 << 20).expect_err("checksum mismatch");
    assert_eq!(error.kind(), ErrorKind::Decode, "{error}");
    assert!(error.to_string().contains("checksum"), "{error}");

    // A frame cut short is not a complete body; bytes after a frame that are not one are refused.
    let cut = &second[..second.len() - 3];
    assert_eq!(decode(&[Coding::Zstd], cut, 1 << 20).expect_err("truncated").kind(), ErrorKind::Decode);
    let trailing = [&second[..], b"junk"].concat();
    assert_eq!(decode(&[Coding::Zstd], &trailing, 1 << 20).expect_err("trailing junk").kind(), ErrorKind::Decode);
}

#[test]
fn zstd_large_bodies_decode_through_small_output_buffers() {
    // Varied enough to need many blocks, some compressed, some not.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let data: Vec<u8> = (0..(1u32 << 20))
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            b"abcdefgh {}:,\"0123"[(state % 18) as usize]
        })
        .collect();
    let encoded = zstd::encode_all(&data[..], 3).expect("zstd");
    let mut decoder = ContentDecoder::new(&[Coding::Zstd], 1 << 30).expect("decoder");
    let mut out = vec![0u8; 16 * 1024];
    let (mut at, mut decoded) = (0, Vec::new());
    for _ in 0..100_000 {
        let (used, written) = decoder.decode(&encoded[at..], &mut out).expect("valid");
        at += used;
        decoded.extend_from_slice(&out[..written]);
        if used == 0 && written == 0 {
            break;
        }
    }
    assert_eq!(at, encoded.len(), "all input consumed");
    assert_eq!(decoded.len(), data.len());
    assert!(decoded == data);
}

#[test]
fn zstd_json_megabyte_through_decode_and_finish() {
    // A megabyte of records, compressible but not uniform.
    let data: Vec<u8> = (0u64..)
        .map(|index| format!("{{\"id\":{index},\"key\":\"k{}\",\"on\":{}}},", index * 7919 % 10007, index % 3 == 0))
        .flat_map(String::into_bytes)
        .take(1 << 20)
        .collect();
    let encoded = zstd::encode_all(&data[..], 3).expect("zstd");
    let mut decoder = ContentDecoder::new(&[Coding::Zstd], 1 << 30).expect("decoder");
    let mut out = vec![0u8; 16 * 1024];
    let (mut at, mut total) = (0, 0);
    for round in 0..100_000 {
        let (used, written) = decoder.decode(&encoded[at..], &mut out).expect("valid");
        at += used;
        total += written;
        if used == 0 && written == 0 {
            break;
        }
        assert!(round < 99_999, "no progress: at {at} of {}, {total} decoded", encoded.len());
    }
    for _ in 0..1000 {
        match decoder.finish(&mut out).expect("complete") {
            0 => break,
            written => total += written,
        }
    }
    assert_eq!(total, data.len());
}

#[test]
fn decode_into_delivers_exactly_up_to_the_cap_for_identity_and_codings() {
    let body = vec![b'x'; 1000];
    let gzip = {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(&body).expect("in memory");
        encoder.finish().expect("in memory")
    };
    for (codings, input) in [(&[][..], &body), (&[Coding::Gzip][..], &gzip)] {
        // At the cap exactly: all of it, in pieces or whole.
        for piece in [1, 7, input.len()] {
            let mut decoder = ContentDecoder::new(codings, 1000).expect("decoder");
            let mut out = Vec::new();
            for part in input.chunks(piece) {
                decoder.decode_into(part, &mut out).expect("within the cap");
            }
            decoder.finish_into(&mut out).expect("complete");
            assert_eq!(out, body, "{codings:?}, pieces of {piece}");
        }
        // One byte under the body's size: the first 999 bytes, then a too_large error.
        let mut decoder = ContentDecoder::new(codings, 999).expect("decoder");
        let mut out = Vec::new();
        let error = decoder.decode_into(input, &mut out).and_then(|()| decoder.finish_into(&mut out));
        assert_eq!(error.expect_err("over the cap").kind(), ErrorKind::TooLarge, "{codings:?}");
        assert_eq!(out.len(), 999, "{codings:?}");
    }
}
