//! The content decoders on arbitrary input: never panic, never exceed the cap, and deliver
//! the same bytes whatever the input split and output buffer size, and whether the caller
//! decodes into its own buffer or appends to a body (`decode_into`, which takes identity
//! bodies on a path of its own: exactly the bytes, up to the cap).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tidings_core::{Coding, ContentDecoder};

const LIMIT: u64 = 1 << 20;

fuzz_target!(|data: &[u8]| {
    let Some((&control, bytes)) = data.split_first() else { return };
    let all = [Coding::Gzip, Coding::Deflate, Coding::Brotli, Coding::Zstd];
    let mut chain = vec![all[usize::from(control & 3)]];
    if control & 4 != 0 {
        chain.push(all[usize::from((control >> 3) & 3)]);
    }
    let whole = decode(&chain, bytes, bytes.len().max(1), 64 * 1024);
    let split = decode(&chain, bytes, usize::from(control >> 5) + 1, 7);
    if let (Ok(whole), Ok(split)) = (&whole, &split) {
        assert_eq!(whole, split);
    }
    let piece = usize::from(control >> 5) + 1;
    if let (Ok(whole), Ok(appended)) = (&whole, &append(&chain, bytes, piece, LIMIT)) {
        assert_eq!(whole, appended);
    }
    // Identity under a small cap: the bytes themselves, or exactly the cap's worth and then
    // a too_large error.
    const CAP: usize = 64;
    let mut decoder = ContentDecoder::new(&[], CAP as u64).expect("identity");
    let mut body = Vec::new();
    let mut result = Ok(());
    for piece in bytes.chunks(piece) {
        result = decoder.decode_into(piece, &mut body);
        if result.is_err() {
            break;
        }
    }
    let result = result.and_then(|()| decoder.finish_into(&mut body));
    if bytes.len() <= CAP {
        assert!(result.is_ok());
        assert_eq!(body, bytes);
    } else {
        assert_eq!(result.expect_err("over the cap").kind(), tidings_core::ErrorKind::TooLarge);
        assert_eq!(body, &bytes[..CAP]);
    }
});

/// The same through `decode_into` and `finish_into`, in pieces of `piece` bytes.
fn append(chain: &[Coding], bytes: &[u8], piece: usize, limit: u64) -> Result<Vec<u8>, tidings_core::Error> {
    let mut decoder = ContentDecoder::new(chain, limit)?;
    let mut body = Vec::new();
    for piece in bytes.chunks(piece) {
        decoder.decode_into(piece, &mut body)?;
        assert!(body.len() as u64 <= limit);
    }
    decoder.finish_into(&mut body)?;
    Ok(body)
}

fn decode(chain: &[Coding], bytes: &[u8], piece: usize, out_size: usize) -> Result<Vec<u8>, tidings_core::Error> {
    let mut decoder = ContentDecoder::new(chain, LIMIT)?;
    let mut body = Vec::new();
    let mut out = vec![0u8; out_size];
    for mut piece in bytes.chunks(piece) {
        loop {
            let (used, written) = decoder.decode(piece, &mut out)?;
            body.extend_from_slice(&out[..written]);
            assert!(body.len() as u64 <= LIMIT);
            piece = &piece[used..];
            if piece.is_empty() && written < out.len() {
                break;
            }
            if used == 0 && written == 0 {
                break;
            }
        }
    }
    loop {
        let written = decoder.finish(&mut out)?;
        if written == 0 {
            return Ok(body);
        }
        body.extend_from_slice(&out[..written]);
        assert!(body.len() as u64 <= LIMIT);
    }
}
