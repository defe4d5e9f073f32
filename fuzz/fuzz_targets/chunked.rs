//! The chunked decoder alone, whole versus fuzzer-chosen pieces.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tidings_core::{Chunk, ChunkedDecoder, HeaderBlock, Leniency, Limits};

fuzz_target!(|data: &[u8]| {
    let Some((&control, bytes)) = data.split_first() else { return };
    let leniency = if control & 0x80 != 0 { Leniency::permissive() } else { Leniency::default() };
    let whole = decode(bytes, usize::MAX, &leniency);
    let split = decode(bytes, usize::from(control & 0x7f).max(1), &leniency);
    assert_eq!(whole, split);
});

fn decode(
    bytes: &[u8],
    piece: usize,
    leniency: &Leniency,
) -> (Vec<u8>, Option<Vec<(String, Vec<u8>)>>, Option<String>, usize) {
    let limits = Limits::default();
    let mut decoder = ChunkedDecoder::new();
    let mut trailers = HeaderBlock::default();
    let mut body = Vec::new();
    let mut pending = Vec::new();
    let mut fed = 0;
    for piece in bytes.chunks(piece.min(bytes.len()).max(1)) {
        pending.extend_from_slice(piece);
        fed += piece.len();
        loop {
            match decoder.decode(&pending, &mut trailers, &limits, leniency) {
                Err(error) => return (body, None, Some(error.to_string()), 0),
                Ok((used, item)) => {
                    let (more, end) = (item.is_none(), matches!(item, Some(Chunk::End)));
                    if let Some(Chunk::Data(data)) = item {
                        assert!(!data.is_empty());
                        body.extend_from_slice(data);
                    }
                    pending.drain(..used);
                    if end {
                        let fields = trailers.iter().map(|(n, v)| (n.to_owned(), v.to_vec())).collect();
                        return (body, Some(fields), None, pending.len() + bytes.len() - fed);
                    }
                    if more {
                        break;
                    }
                }
            }
        }
    }
    (body, None, None, 0)
}
