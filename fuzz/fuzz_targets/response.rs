//! The whole response path through a `Connection`: any bytes, fed whole and in
//! fuzzer-chosen pieces, must give the same transcript and never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tidings_core::{Config, Leniency, Method};
use tidings_fuzz::transcript;

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let (control, bytes) = data.split_at(3);
    let method = [Method::GET, Method::HEAD, Method::CONNECT, Method::POST][usize::from(control[0] & 3)].clone();
    let mut config = Config::default();
    config.limits.max_head_bytes = 4096;
    config.limits.max_body_bytes = Some(1 << 20);
    if control[0] & 4 != 0 {
        config.leniency = Leniency::permissive();
    }
    let eof = control[0] & 8 != 0;
    let whole = transcript(&config, &method, bytes, &[], eof);
    // Cut points from the fuzzer: a stride and an offset.
    let stride = usize::from(control[1]).max(1);
    let cuts: Vec<usize> = (usize::from(control[2]) % stride..bytes.len()).step_by(stride).collect();
    let split = transcript(&config, &method, bytes, &cuts, eof);
    assert_eq!(whole, split, "split invariance");
});
