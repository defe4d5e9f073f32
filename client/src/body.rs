//! A request body as one attempt sends it: in memory, or read from a reader (rewound to its
//! start first when it can seek, so redirects, retries and auth challenges send it again).

use std::io::{Read, Seek};

/// The request body of the current attempt, from its start.
pub enum RequestBody<'a> {
    /// No body.
    Empty,
    /// In memory.
    Bytes(&'a [u8]),
    /// Streamed from a reader (a seekable one is rewound first).
    Reader(Box<dyn Read + Send + 'a>),
}

impl std::fmt::Debug for RequestBody<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RequestBody::Empty => f.write_str("Empty"),
            RequestBody::Bytes(bytes) => write!(f, "Bytes({})", bytes.len()),
            RequestBody::Reader(_) => f.write_str("Reader"),
        }
    }
}

/// A body source that can be rewound.
pub(crate) trait SeekRead: Read + Seek + Send {}
impl<T: Read + Seek + Send> SeekRead for T {}

/// `&mut dyn SeekRead` as a plain reader.
pub(crate) struct Rewound<'a>(pub(crate) &'a mut dyn SeekRead);

impl Read for Rewound<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(buf)
    }
}
