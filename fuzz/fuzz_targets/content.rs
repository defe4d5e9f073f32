//! The content decoders on arbitrary input: never panic, never exceed the cap, and deliver
//! the same bytes whatever the input split and output buffer size.
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
});

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
