//! Each decoder's own memory is bounded whatever a stream claims, independent of the
//! decoded-size cap: brotli's ring buffer by RFC 7932's 16 MiB window, zstd's window by RFC
//! 9659's 8 MiB, gzip and deflate by zlib's 32 KiB window. Each case runs in a child process
//! under a small address-space limit (`ulimit -v`), where an allocation the protocol does not
//! allow would fail and abort the process: the child must end with a typed error (or the
//! body) instead.
#![cfg(all(unix, feature = "gzip", feature = "brotli", feature = "zstd"))]

use std::io::Write;
use std::process::Command;

use tidings_core::{Coding, ContentDecoder, Error};

/// The child's address-space limit, in KiB.
const LIMIT_KIB: u64 = 96 * 1024;

fn decode(coding: Coding, encoded: &[u8], cap: u64) -> Result<usize, Error> {
    let mut decoder = ContentDecoder::new(&[coding], cap)?;
    let mut out = vec![0u8; 64 * 1024];
    let (mut input, mut total) = (encoded, 0);
    loop {
        let (used, written) = decoder.decode(input, &mut out)?;
        input = &input[used..];
        total += written;
        if used == 0 && written == 0 {
            break;
        }
    }
    loop {
        let written = decoder.finish(&mut out)?;
        total += written;
        if written == 0 {
            return Ok(total);
        }
    }
}

/// The cases, by name.
const CASES: [&str; 6] =
    ["br-large-window", "br-16m-window", "zstd-2g-window", "zstd-8m-window", "gzip-bomb", "deflate-bomb"];

/// A case: the coding, the stream, the decoded cap, and what must come of it.
fn case(name: &str) -> (Coding, Vec<u8>, u64, &'static str) {
    // 20 MiB of zeros: more than brotli's largest window, so its ring buffer is the whole window.
    let zeros = || vec![0u8; 20 << 20];
    match name {
        // Large-window brotli: a 2^30 window, a 1 GiB ring buffer if it were allowed.
        "br-large-window" => {
            (Coding::Brotli, vec![0x11, 0x9e, 0x2c, 0xc5, 0x02, 0x10, 0x44, 0x1a, 0x11, 0x25, 0x25], 1 << 30, "decode")
        }
        // RFC 7932's largest window (2^24), decoded whole.
        "br-16m-window" => {
            let mut brotli = Vec::new();
            let mut writer = brotli::CompressorWriter::new(&mut brotli, 4096, 1, 24);
            writer.write_all(&zeros()).expect("in memory");
            drop(writer);
            (Coding::Brotli, brotli, 64 << 20, "ok 20971520")
        }
        // A zstd frame header asking for a 2 GiB window (Window_Descriptor exponent 21).
        "zstd-2g-window" => {
            (Coding::Zstd, vec![0x28, 0xb5, 0x2f, 0xfd, 0x00, 0xa8, 0x01, 0x00, 0x00], 1 << 30, "decode")
        }
        // RFC 9659's largest window (2^23), decoded whole.
        "zstd-8m-window" => {
            let mut encoder = zstd::stream::Encoder::new(Vec::new(), 1).expect("zstd");
            encoder.window_log(23).expect("window");
            encoder.write_all(&zeros()).expect("in memory");
            (Coding::Zstd, encoder.finish().expect("zstd"), 64 << 20, "ok 20971520")
        }
        // Bombs: 20 MiB of zeros in a few KiB, capped at 1 MiB decoded.
        "gzip-bomb" => {
            let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            encoder.write_all(&zeros()).expect("in memory");
            (Coding::Gzip, encoder.finish().expect("gzip"), 1 << 20, "too_large")
        }
        "deflate-bomb" => {
            let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
            encoder.write_all(&zeros()).expect("in memory");
            (Coding::Deflate, encoder.finish().expect("zlib"), 1 << 20, "too_large")
        }
        _ => unreachable!("no case {name}"),
    }
}

#[test]
fn every_decoder_stays_within_a_small_address_space() {
    if let Ok(name) = std::env::var("TIDINGS_DECODER_CASE") {
        // The child: decode one case and say what came of it.
        let (coding, stream, cap, _) = case(&name);
        match decode(coding, &stream, cap) {
            Ok(total) => println!("result: ok {total}"),
            Err(error) => println!("result: {} ({error})", error.kind()),
        }
        return;
    }
    let exe = std::env::current_exe().expect("the test binary");
    for name in CASES {
        let expected = case(name).3;
        let output = Command::new("sh")
            .arg("-c")
            .arg(format!("ulimit -v {LIMIT_KIB} && exec \"$0\" \"$@\""))
            .arg(&exe)
            .args(["--exact", "every_decoder_stays_within_a_small_address_space", "--nocapture", "--test-threads=1"])
            .env("TIDINGS_DECODER_CASE", name)
            .output()
            .expect("sh runs the child");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{name}: the child died ({:?}):\n{stdout}\n{stderr}", output.status);
        let result =
            stdout.lines().find_map(|line| line.split_once("result: ").map(|(_, result)| result)).unwrap_or_default();
        assert!(result.starts_with(expected), "{name}: expected {expected}, got {result:?}:\n{stdout}\n{stderr}");
    }
}
