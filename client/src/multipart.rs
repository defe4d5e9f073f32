//! `multipart/form-data` bodies (RFC 7578), streamed: files are read as the body is sent,
//! never loaded into memory.

use std::collections::hash_map::RandomState;
use std::fs::File;
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Read};
use std::path::Path;

/// A multipart form: text fields, in-memory parts, files and readers, sent in order.
///
/// ```
/// use tidings_client::{Multipart, Part};
/// # let dir = std::env::temp_dir().join(format!("tidings-multipart-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// # let photo = dir.join("beach.jpg");
/// # std::fs::write(&photo, b"\xff\xd8 not really a jpeg")?;
/// let form = Multipart::new()
///     .text("title", "holiday")
///     .file("photo", &photo)? // streamed from disk, rewound for a redirect or a retry
///     .part("notes", Part::bytes(b"sunny".to_vec()).file_name("notes.txt").mime("text/plain"));
/// let request = tidings_client::Session::new().post("http://127.0.0.1:8080/post").multipart(form).build()?;
/// let content_type = request.headers().get_str("content-type").unwrap_or_default();
/// assert!(content_type.starts_with("multipart/form-data; boundary="));
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Multipart {
    boundary: String,
    parts: Vec<(String, Part)>,
}

/// One part of a [`Multipart`] form.
pub struct Part {
    file_name: Option<String>,
    mime: Option<String>,
    source: Source,
}

enum Source {
    Bytes(Vec<u8>),
    Reader(Box<dyn Read + Send>, Option<u64>),
}

impl Default for Multipart {
    fn default() -> Self {
        Multipart::new()
    }
}

impl Multipart {
    /// An empty form with a fresh random boundary.
    pub fn new() -> Multipart {
        let random = |salt: u64| {
            let mut hasher = RandomState::new().build_hasher();
            hasher.write_u64(salt);
            hasher.finish()
        };
        Multipart { boundary: format!("tidings-{:016x}{:016x}", random(1), random(2)), parts: Vec::new() }
    }

    /// A text field.
    pub fn text(self, name: impl Into<String>, value: impl Into<String>) -> Multipart {
        self.part(name, Part::bytes(value.into().into_bytes()))
    }

    /// A file part, streamed from disk; its file name is the path's last component.
    pub fn file(self, name: impl Into<String>, path: impl AsRef<Path>) -> io::Result<Multipart> {
        Ok(self.part(name, Part::file(path)?))
    }

    /// Any part.
    pub fn part(mut self, name: impl Into<String>, part: Part) -> Multipart {
        self.parts.push((name.into(), part));
        self
    }

    /// The boundary between parts.
    pub fn boundary(&self) -> &str {
        &self.boundary
    }

    /// The `Content-Type` header value for this form.
    pub fn content_type(&self) -> String {
        format!("multipart/form-data; boundary={}", self.boundary)
    }

    /// The body as a reader, and its length when every part's length is known.
    pub(crate) fn into_reader(self) -> (MultipartReader, Option<u64>) {
        let mut segments = Vec::new();
        let mut length = Some(0u64);
        for (name, part) in self.parts {
            let mut head = format!("--{}\r\nContent-Disposition: form-data; name=\"{}\"", self.boundary, escape(&name));
            if let Some(file_name) = &part.file_name {
                head.push_str(&format!("; filename=\"{}\"", escape(file_name)));
            }
            let mime =
                part.mime.clone().or_else(|| part.file_name.as_ref().map(|_| "application/octet-stream".to_owned()));
            if let Some(mime) = mime {
                head.push_str(&format!("\r\nContent-Type: {}", mime.replace(['\r', '\n'], " ")));
            }
            head.push_str("\r\n\r\n");
            length = length.map(|total| total + head.len() as u64);
            segments.push(Segment::Bytes(head.into_bytes()));
            match part.source {
                Source::Bytes(bytes) => {
                    length = length.map(|total| total + bytes.len() as u64);
                    segments.push(Segment::Bytes(bytes));
                }
                Source::Reader(reader, size) => {
                    length = length.zip(size).map(|(total, size)| total + size);
                    segments.push(Segment::Reader(reader));
                }
            }
            length = length.map(|total| total + 2);
            segments.push(Segment::Bytes(b"\r\n".to_vec()));
        }
        let close = format!("--{}--\r\n", self.boundary).into_bytes();
        length = length.map(|total| total + close.len() as u64);
        segments.push(Segment::Bytes(close));
        segments.reverse();
        (MultipartReader { segments, position: 0 }, length)
    }
}

impl Part {
    /// A part held in memory.
    pub fn bytes(bytes: impl Into<Vec<u8>>) -> Part {
        Part { file_name: None, mime: None, source: Source::Bytes(bytes.into()) }
    }

    /// A part streamed from `reader`; `length` makes the form's length known.
    pub fn reader(reader: impl Read + Send + 'static, length: Option<u64>) -> Part {
        Part { file_name: None, mime: None, source: Source::Reader(Box::new(reader), length) }
    }

    /// A file, opened now and streamed while sending.
    pub fn file(path: impl AsRef<Path>) -> io::Result<Part> {
        let path = path.as_ref();
        let file = File::open(path)?;
        let length = file.metadata()?.len();
        let name = path.file_name().map(|name| name.to_string_lossy().into_owned());
        Ok(Part { file_name: name, mime: None, source: Source::Reader(Box::new(file), Some(length)) })
    }

    /// Sets the file name sent with the part.
    pub fn file_name(mut self, name: impl Into<String>) -> Part {
        self.file_name = Some(name.into());
        self
    }

    /// Sets the part's `Content-Type`.
    pub fn mime(mut self, mime: impl Into<String>) -> Part {
        self.mime = Some(mime.into());
        self
    }
}

/// Names and file names go in quoted strings; as browsers do (HTML's form-data encoding),
/// `"` becomes `%22` and CR and LF become `%0D` and `%0A`, so nothing can break the head.
fn escape(text: &str) -> String {
    text.replace('"', "%22").replace('\r', "%0D").replace('\n', "%0A")
}

enum Segment {
    Bytes(Vec<u8>),
    Reader(Box<dyn Read + Send>),
}

/// Reads the form's segments in order.
pub(crate) struct MultipartReader {
    /// Remaining segments, last first.
    segments: Vec<Segment>,
    /// Bytes of the current in-memory segment already read.
    position: usize,
}

impl Read for MultipartReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while let Some(segment) = self.segments.last_mut() {
            let count = match segment {
                Segment::Bytes(bytes) => {
                    let count = (bytes.len() - self.position).min(out.len());
                    out[..count].copy_from_slice(&bytes[self.position..self.position + count]);
                    self.position += count;
                    count
                }
                Segment::Reader(reader) => reader.read(out)?,
            };
            if count > 0 || out.is_empty() {
                return Ok(count);
            }
            self.segments.pop();
            self.position = 0;
        }
        Ok(0)
    }
}
