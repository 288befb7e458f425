//! The bytes of one object as they arrive, in a small buffer: what the item
//! readers parse, with the byte offset and line number of the unread part
//! (for resuming and for error messages), optionally gunzipped on the fly.

use std::io::Write;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use object_store::{GetOptions, GetRange, ObjectStore};

use super::ReadError;

/// How much the buffer grows at least before a value that did not fit is
/// parsed again: keeps re-parsing of a large item linear in its size.
const GROW: usize = 64 << 10;

pub(crate) struct Source {
    pub bucket: String,
    pub key: String,
    stream: Option<BoxStream<'static, object_store::Result<Bytes>>>,
    gunzip: Option<flate2::write::MultiGzDecoder<Vec<u8>>>,
    buf: Vec<u8>,
    start: usize,
    /// Byte offset (in the decoded bytes) of `buf[start]`.
    pub offset: u64,
    /// Line number (1-based) of `buf[start]`.
    pub line: u64,
    /// The largest the buffer has been: what a test checks to see that an
    /// object is streamed, not held.
    pub peak: usize,
    /// Whether a UTF-8 byte order mark may still come (at the object's
    /// start: spreadsheet exports write one before the header row).
    bom: bool,
}

impl Source {
    /// Opens `key` of `store` at byte `offset` (which is at line `line`).
    /// A gzip object (`.gz`) is always read from its start.
    pub async fn open(
        store: &Arc<dyn ObjectStore>,
        bucket: &str,
        key: &str,
        offset: u64,
        line: u64,
        version: Option<&str>,
    ) -> Result<Source, ReadError> {
        let path = super::object_key(bucket, key)?;
        let gz = key.ends_with(".gz");
        let offset = if gz { 0 } else { offset };
        let mut source = Source {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            stream: None,
            gunzip: gz.then(|| flate2::write::MultiGzDecoder::new(Vec::new())),
            buf: Vec::new(),
            start: 0,
            offset,
            line: if offset == 0 { 1 } else { line.max(1) },
            peak: 0,
            bom: offset == 0,
        };
        if offset > 0 {
            // A range starting at the end is refused by S3: a reader
            // resumed after its last item simply has nothing left.
            let head = GetOptions {
                head: true,
                version: version.map(str::to_owned),
                ..Default::default()
            };
            let meta = store
                .get_opts(&path, head)
                .await
                .map_err(|e| super::store_error(e, bucket, key))?
                .meta;
            if offset >= meta.size {
                return Ok(source);
            }
        }
        let options = GetOptions {
            range: (offset > 0).then_some(GetRange::Offset(offset)),
            version: version.map(str::to_owned),
            ..Default::default()
        };
        let got = store
            .get_opts(&path, options)
            .await
            .map_err(|e| super::store_error(e, bucket, key))?;
        source.stream = Some(got.into_stream());
        Ok(source)
    }

    /// A source with no bytes (for readers that read the object their own
    /// way: Parquet).
    pub fn empty(bucket: &str, key: &str) -> Source {
        Source {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            stream: None,
            gunzip: None,
            buf: Vec::new(),
            start: 0,
            offset: 0,
            line: 1,
            peak: 0,
            bom: false,
        }
    }

    /// A source over given chunks (tests cut objects at every place).
    #[cfg(test)]
    pub fn from_chunks(key: &str, chunks: Vec<Vec<u8>>) -> Source {
        let stream = futures_util::stream::iter(
            chunks
                .into_iter()
                .map(|c| Ok::<_, object_store::Error>(Bytes::from(c))),
        );
        Source {
            bucket: "media".into(),
            key: key.into(),
            stream: Some(Box::pin(stream)),
            gunzip: key
                .ends_with(".gz")
                .then(|| flate2::write::MultiGzDecoder::new(Vec::new())),
            buf: Vec::new(),
            start: 0,
            offset: 0,
            line: 1,
            peak: 0,
            bom: true,
        }
    }

    /// `s3://bucket/key`, as errors name the object.
    pub fn name(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }

    /// The bytes read and not yet consumed.
    pub fn available(&self) -> &[u8] {
        self.buf.get(self.start..).unwrap_or_default()
    }

    /// Whether every byte of the object has been read into the buffer.
    pub fn finished(&self) -> bool {
        self.stream.is_none()
    }

    /// Reads at least one more chunk (and, when `grow`, at least [`GROW`]
    /// more bytes). `false` when the object has no more bytes.
    pub async fn fill(&mut self, grow: bool) -> Result<bool, ReadError> {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        let before = self.buf.len();
        let want = if grow { before + GROW } else { before + 1 };
        while self.buf.len() < want {
            let Some(stream) = self.stream.as_mut() else {
                break;
            };
            match stream.next().await {
                Some(Ok(chunk)) => match self.gunzip.as_mut() {
                    Some(d) => {
                        if let Err(e) = d.write_all(&chunk) {
                            return Err(self.gzip_error(e));
                        }
                        self.buf.append(d.get_mut());
                    }
                    None => self.buf.extend_from_slice(&chunk),
                },
                Some(Err(e)) => return Err(super::store_error(e, &self.bucket, &self.key)),
                None => {
                    self.stream = None;
                    if let Some(mut d) = self.gunzip.take() {
                        if let Err(e) = d.try_finish() {
                            return Err(self.gzip_error(e));
                        }
                        self.buf.append(d.get_mut());
                    }
                }
            }
        }
        self.peak = self.peak.max(self.buf.capacity());
        let grew = self.buf.len() > before;
        if self.bom && (self.buf.len() >= 3 || self.stream.is_none()) {
            self.bom = false;
            if self.buf.starts_with(b"\xEF\xBB\xBF") {
                self.consume(3);
            }
        }
        Ok(grew)
    }

    fn gzip_error(&self, e: std::io::Error) -> ReadError {
        ReadError::Malformed {
            object: self.name(),
            line: self.line,
            what: format!("the gzip data cannot be decoded ({e})"),
        }
    }

    /// Marks `n` available bytes as read.
    pub fn consume(&mut self, n: usize) {
        let end = (self.start + n).min(self.buf.len());
        let newlines = self
            .buf
            .get(self.start..end)
            .map_or(0, |b| b.iter().filter(|c| **c == b'\n').count());
        self.line += newlines as u64;
        self.offset += (end - self.start) as u64;
        self.start = end;
    }

    /// Skips spaces, tabs and line ends; the next byte, if any.
    pub async fn skip_whitespace(&mut self) -> Result<Option<u8>, ReadError> {
        loop {
            let skip = self
                .available()
                .iter()
                .take_while(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r'))
                .count();
            self.consume(skip);
            if let Some(c) = self.available().first() {
                return Ok(Some(*c));
            }
            if !self.fill(false).await? {
                return Ok(None);
            }
        }
    }

    /// The line starting at the read position, without its line end, once
    /// it is whole; `None` at the end of the object. The line is consumed.
    pub async fn next_line(&mut self, max: usize) -> Result<Option<Vec<u8>>, ReadError> {
        let mut searched = 0;
        loop {
            let avail = self.available();
            if let Some(i) = avail.iter().skip(searched).position(|c| *c == b'\n') {
                let end = searched + i;
                let mut line = avail.get(..end).unwrap_or_default().to_vec();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                self.consume(end + 1);
                return Ok(Some(line));
            }
            searched = avail.len();
            if searched > max {
                return Err(ReadError::Malformed {
                    object: self.name(),
                    line: self.line,
                    what: format!("the line is longer than {max} bytes, the most one item may be"),
                });
            }
            if !self.fill(false).await? {
                let avail = self.available();
                if avail.is_empty() {
                    return Ok(None);
                }
                let mut line = avail.to_vec();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                let n = avail.len();
                self.consume(n);
                return Ok(Some(line));
            }
        }
    }
}
