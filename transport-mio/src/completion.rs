//! What a caller gets back: an id per request, and a completion per finished request.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use tidings_client::{Error, Response};

/// Identifies a request sent through a [`Client`](crate::Client).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub(crate) u64);

impl RequestId {
    /// The number behind the id (unique within its client, increasing).
    pub fn get(self) -> u64 {
        self.0
    }
}

/// A finished request: its response (body read whole, or to be read with
/// [`Client::read`](crate::Client::read) when it was sent streaming) or its error.
#[derive(Debug)]
pub struct Completion {
    /// Which request.
    pub id: RequestId,
    /// What came of it.
    pub result: Result<Response, Error>,
}

/// Hashes the client's own sequential ids (unique, never chosen by a peer) by one
/// multiplication, spreading them over the table's high bits.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*byte)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_u64(&mut self, id: u64) {
        self.0 = id.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// Hashing by [`IdHasher`].
pub(crate) type ById = BuildHasherDefault<IdHasher>;

/// A map keyed by the client's request ids.
pub(crate) type ByIdMap<V> = HashMap<u64, V, ById>;
