//! Split invariance with fuzzer-chosen pieces: the same response fed whole and cut wherever
//! the fuzzer says (up to 64 cuts, anywhere) gives the same events and the same body, byte
//! for byte — under every leniency, for GET and HEAD, with and without the close.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tidings_core::{Config, Leniency, Method};
use tidings_fuzz::transcript;

fuzz_target!(|data: &[u8]| {
    // [flags, cut count, cuts as u16 little-endian ..., response bytes ...]
    let Some((&flags, rest)) = data.split_first() else { return };
    let Some((&count, rest)) = rest.split_first() else { return };
    let count = usize::from(count % 65);
    if rest.len() < 2 * count {
        return;
    }
    let (cut_bytes, bytes) = rest.split_at(2 * count);
    let mut cuts: Vec<usize> = cut_bytes
        .chunks_exact(2)
        .map(|pair| usize::from(u16::from_le_bytes([pair[0], pair[1]])) % (bytes.len() + 1))
        .collect();
    cuts.sort_unstable();
    let method = if flags & 1 == 0 { Method::GET } else { Method::HEAD };
    let mut config = Config::default();
    config.limits.max_head_bytes = 4096;
    config.limits.max_body_bytes = Some(1 << 20);
    config.leniency = match (flags >> 1) & 3 {
        0 => Leniency::default(),
        1 => Leniency::strict(),
        _ => Leniency::permissive(),
    };
    let eof = flags & 8 != 0;
    let whole = transcript(&config, &method, bytes, &[], eof);
    let split = transcript(&config, &method, bytes, &cuts, eof);
    assert_eq!(whole, split, "split invariance at {cuts:?}");
});
