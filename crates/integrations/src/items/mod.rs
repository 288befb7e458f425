//! Streaming item readers for a Distributed Map's `ItemReader`: the items
//! of a bucket object (`arn:aws:states:::s3:getObject` with `ReaderConfig`
//! `InputType` JSON, JSONL, CSV, PARQUET or MANIFEST) or of a prefix
//! (`arn:aws:states:::s3:listObjectsV2`), read one at a time in bounded
//! memory from the buckets of `[integrations.buckets]`.
//!
//! Only the item being parsed (plus one chunk of the object) is held, so a
//! 5 GB object or a prefix of ten million keys is read with the same few
//! kilobytes; `MaxItems` stops the reading early. [`Items::cursor`] says
//! where the reader stands (item index, and the byte offset, line, file of
//! a manifest or last key of a listing): the map-run driver keeps it with
//! the items it has claimed and resumes with [`Buckets::open_items`] after
//! a restart, without reading again what it already handed out.
//!
//! Failures use AWS's names ([`ReadError::error_name`]):
//! `S3.NoSuchBucketException`, `S3.NoSuchKeyException`, and
//! `States.ItemReaderFailed` with a cause naming the object and line for
//! anything that does not parse.
//!
//! ```text
//! let spec = ReaderSpec::new(resource, &parameters, &reader_config)?;   // ItemReader, evaluated
//! let mut items = buckets.open_items(&spec, Cursor::default()).await?;
//! while let Some(item) = items.next().await? { … items.cursor() … }
//! ```
//!
//! `InputType: PARQUET` rows are read by Apache Arrow's `parquet` crate
//! (its record API, without Arrow; snappy, gzip and lz4); the `parquet`
//! module says why an S3 object is first copied to a temporary file.

mod csv;
mod json;
mod listing;
mod parquet;
mod source;

use std::sync::Arc;

use object_store::path::Path as Key;
use object_store::ObjectStore;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use statecraft_types::errors::ITEM_READER_FAILED;
use statecraft_types::Failure;

use crate::s3::Buckets;
use source::Source;

/// The most bytes one item (a JSON element, a line, a CSV record) may
/// take: what bounds the reader's memory.
pub const MAX_ITEM_BYTES: usize = 8 << 20;

/// The most bytes of a manifest (`manifest.json` of an S3 Inventory, an
/// Athena manifest) read whole.
const MAX_MANIFEST_BYTES: usize = 16 << 20;

/// Why items could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// The bucket is not configured (or the store has no such bucket).
    #[error("The specified bucket does not exist: {bucket}")]
    NoSuchBucket { bucket: String },
    /// The object does not exist.
    #[error("The specified key does not exist: {object}")]
    NoSuchKey { object: String },
    /// The ItemReader's fields cannot be used.
    #[error("{0}")]
    Config(String),
    /// The object's content is not what `ReaderConfig` says.
    #[error("{object} line {line}: {what}")]
    Malformed {
        object: String,
        line: u64,
        what: String,
    },
    /// A Parquet object's content cannot be read (`row` 0: the file as a
    /// whole).
    #[error("{object}{}: {what}", row_label(*row))]
    BadRow {
        object: String,
        row: u64,
        what: String,
    },
    /// The store failed.
    #[error("{object}: {why}")]
    Store { object: String, why: String },
}

/// ` row N`, or nothing for row 0 (the file as a whole).
fn row_label(row: u64) -> String {
    if row == 0 {
        String::new()
    } else {
        format!(" row {row}")
    }
}

impl ReadError {
    /// AWS's error name for the failure.
    pub fn error_name(&self) -> &'static str {
        match self {
            ReadError::NoSuchBucket { .. } => "S3.NoSuchBucketException",
            ReadError::NoSuchKey { .. } => "S3.NoSuchKeyException",
            _ => ITEM_READER_FAILED,
        }
    }

    /// The failure a Map state fails with.
    pub fn to_failure(&self) -> Failure {
        Failure::new(self.error_name(), self.to_string())
    }
}

impl From<ReadError> for Failure {
    fn from(e: ReadError) -> Failure {
        e.to_failure()
    }
}

/// How the items of one object are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputFormat {
    /// One top-level JSON array.
    Json,
    /// One JSON value a line.
    Jsonl,
    /// Rows as objects of strings; `headers` `None` reads them from the
    /// first row (`CSVHeaderLocation: FIRST_ROW`).
    Csv {
        delimiter: u8,
        headers: Option<Vec<String>>,
    },
    /// Parquet rows as objects, columns by name.
    Parquet,
}

/// What an ItemReader reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReaderSource {
    /// `s3:getObject` with InputType JSON, JSONL, CSV or PARQUET.
    Object {
        bucket: String,
        key: String,
        format: InputFormat,
        /// `VersionId`: this version of the object (S3 buckets only).
        version: Option<String>,
    },
    /// `s3:listObjectsV2`: every key under `prefix`.
    Listing { bucket: String, prefix: String },
    /// InputType MANIFEST, ManifestType S3_INVENTORY: the objects listed by
    /// an S3 Inventory `manifest.json`.
    S3Inventory { bucket: String, key: String },
    /// ManifestType ATHENA_DATA: the data files listed by an Athena
    /// manifest (one `s3://bucket/key` a line), each read as `format`.
    AthenaData {
        bucket: String,
        key: String,
        format: InputFormat,
    },
}

/// An ItemReader with its `Parameters`/`Arguments` already evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderSpec {
    pub source: ReaderSource,
    /// `MaxItems` (or the resolved `MaxItemsPath`): reading stops there.
    pub max_items: Option<u64>,
}

fn config(what: impl Into<String>) -> ReadError {
    ReadError::Config(what.into())
}

fn string_field<'a>(p: &'a Value, name: &str, of: &str) -> Result<&'a str, ReadError> {
    match p.get(name) {
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(config(format!(
            "The ItemReader {of} field {name} must be a string, but was {other}"
        ))),
        None => Err(config(format!(
            "The ItemReader {of} field {name} is required"
        ))),
    }
}

impl ReaderSpec {
    /// Reads an ItemReader's `Resource`, evaluated `Parameters` (or
    /// `Arguments`) and `ReaderConfig`.
    pub fn new(
        resource: &str,
        parameters: &Value,
        reader_config: &Value,
    ) -> Result<Self, ReadError> {
        let action = crate::service_resource(resource).ok_or_else(|| {
            config(format!(
                "The ItemReader Resource {resource} is not supported: use arn:aws:states:::s3:getObject or arn:aws:states:::s3:listObjectsV2"
            ))
        })?;
        let rc = if reader_config.is_null() {
            &Value::Null
        } else if reader_config.is_object() {
            reader_config
        } else {
            return Err(config("The ItemReader ReaderConfig must be an object"));
        };
        let max_items = match rc.get("MaxItems") {
            None | Some(Value::Null) => None,
            Some(v) => Some(v.as_u64().ok_or_else(|| {
                config(format!(
                    "MaxItems must be a non-negative integer, but was {v}"
                ))
            })?),
        }
        .filter(|n| *n > 0);
        let bucket = string_field(parameters, "Bucket", "Parameters")?.to_owned();
        let source = match action {
            "s3:listObjectsV2" => ReaderSource::Listing {
                bucket,
                prefix: match parameters.get("Prefix") {
                    None | Some(Value::Null) => String::new(),
                    Some(Value::String(s)) => s.clone(),
                    Some(other) => {
                        return Err(config(format!(
                            "The ItemReader Parameters field Prefix must be a string, but was {other}"
                        )))
                    }
                },
            },
            "s3:getObject" => {
                let key = string_field(parameters, "Key", "Parameters")?.to_owned();
                let version = match parameters.get("VersionId") {
                    None | Some(Value::Null) => None,
                    Some(Value::String(v)) => Some(v.clone()),
                    Some(other) => {
                        return Err(config(format!(
                            "The ItemReader Parameters field VersionId must be a string, but was {other}"
                        )))
                    }
                };
                let input_type = match rc.get("InputType") {
                    None | Some(Value::Null) => "JSON",
                    Some(Value::String(s)) => s.as_str(),
                    Some(other) => {
                        return Err(config(format!(
                            "The ReaderConfig InputType must be a string, but was {other}"
                        )))
                    }
                };
                let manifest_type = match rc.get("ManifestType") {
                    None | Some(Value::Null) => None,
                    Some(Value::String(s)) => Some(s.as_str()),
                    Some(other) => {
                        return Err(config(format!(
                            "The ReaderConfig ManifestType must be a string, but was {other}"
                        )))
                    }
                };
                if version.is_some() && (input_type == "MANIFEST" || manifest_type.is_some()) {
                    return Err(config(
                        "VersionId applies to a data object (InputType JSON, JSONL, CSV or PARQUET), not to a manifest",
                    ));
                }
                match (input_type, manifest_type) {
                    ("MANIFEST", None | Some("S3_INVENTORY")) => {
                        ReaderSource::S3Inventory { bucket, key }
                    }
                    ("MANIFEST", Some("ATHENA_DATA")) => {
                        return Err(config(
                            "ManifestType ATHENA_DATA takes the data files' InputType (CSV, JSONL, JSON or PARQUET), not MANIFEST",
                        ))
                    }
                    (_, Some("ATHENA_DATA")) => ReaderSource::AthenaData {
                        bucket,
                        key,
                        format: format(input_type, rc)?,
                    },
                    (_, Some("S3_INVENTORY")) => {
                        return Err(config("ManifestType S3_INVENTORY needs InputType MANIFEST"))
                    }
                    (_, Some(other)) => {
                        return Err(config(format!(
                            "The ReaderConfig ManifestType '{other}' is not supported: use S3_INVENTORY or ATHENA_DATA"
                        )))
                    }
                    (t, None) => ReaderSource::Object {
                        bucket,
                        key,
                        format: format(t, rc)?,
                        version,
                    },
                }
            }
            other => {
                return Err(config(format!(
                    "The ItemReader Resource arn:aws:states:::{other} is not supported: use arn:aws:states:::s3:getObject or arn:aws:states:::s3:listObjectsV2"
                )))
            }
        };
        Ok(ReaderSpec { source, max_items })
    }
}

fn format(input_type: &str, rc: &Value) -> Result<InputFormat, ReadError> {
    Ok(match input_type {
        "JSON" => InputFormat::Json,
        "JSONL" => InputFormat::Jsonl,
        "CSV" => {
            let delimiter = match rc.get("CSVDelimiter") {
                None | Some(Value::Null) => b',',
                Some(Value::String(d)) => csv::delimiter(d).ok_or_else(|| {
                    config(format!(
                        "The ReaderConfig CSVDelimiter '{d}' is not supported: use COMMA, PIPE, SEMICOLON, SPACE or TAB"
                    ))
                })?,
                Some(other) => {
                    return Err(config(format!(
                        "The ReaderConfig CSVDelimiter must be a string, but was {other}"
                    )))
                }
            };
            let headers = match rc.get("CSVHeaderLocation").and_then(Value::as_str) {
                None | Some("FIRST_ROW") => None,
                Some("GIVEN") => {
                    let given = rc.get("CSVHeaders").and_then(Value::as_array).ok_or_else(|| {
                        config("CSVHeaderLocation GIVEN needs CSVHeaders, an array of strings")
                    })?;
                    let mut headers = Vec::with_capacity(given.len());
                    for h in given {
                        headers.push(
                            h.as_str()
                                .ok_or_else(|| {
                                    config(format!("CSVHeaders must be strings, but one was {h}"))
                                })?
                                .to_owned(),
                        );
                    }
                    if headers.is_empty() {
                        return Err(config("CSVHeaders must name at least one column"));
                    }
                    check_headers(&headers).map_err(config)?;
                    Some(headers)
                }
                Some(other) => {
                    return Err(config(format!(
                        "The ReaderConfig CSVHeaderLocation '{other}' is not supported: use FIRST_ROW or GIVEN"
                    )))
                }
            };
            InputFormat::Csv { delimiter, headers }
        }
        "PARQUET" => InputFormat::Parquet,
        "MANIFEST" => unreachable_manifest()?,
        other => {
            return Err(config(format!(
                "The ReaderConfig InputType '{other}' is not supported: use JSON, JSONL, CSV, PARQUET or MANIFEST"
            )))
        }
    })
}

fn unreachable_manifest() -> Result<InputFormat, ReadError> {
    Err(config(
        "InputType MANIFEST cannot be the format of a data file",
    ))
}

fn check_headers(headers: &[String]) -> Result<(), String> {
    let mut seen = std::collections::HashSet::new();
    if headers.iter().any(|h| !seen.insert(h.as_str())) {
        return Err("CSV headers cannot contain duplicates.".to_owned());
    }
    Ok(())
}

/// Where a reader stands, to resume after a restart: the map-run driver
/// stores it (it is plain JSON) with the items it has claimed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// Items handed out: the index of the next item.
    pub index: u64,
    /// For manifests: which listed file the next item comes from.
    #[serde(default)]
    pub file: u64,
    /// Items already handed out from that file (or from the object).
    #[serde(default)]
    pub in_file: u64,
    /// The byte offset in the current object where the next item starts,
    /// when the object can be read from the middle (not gzip).
    #[serde(default)]
    pub offset: Option<u64>,
    /// The line at `offset` (1-based), for error messages after a resume.
    #[serde(default)]
    pub line: u64,
    /// For listings: the last key handed out.
    #[serde(default)]
    pub after_key: Option<String>,
}

/// How the current object's items are parsed.
enum Kind {
    Json(json::State),
    Jsonl,
    Csv { delimiter: u8, headers: Vec<String> },
    Parquet(parquet::ParquetRows),
}

/// Where in an object a reader starts: `in_file` items already handed
/// out, at byte `offset` (line `line`) when known.
struct Place {
    in_file: u64,
    offset: Option<u64>,
    line: u64,
}

/// The items of one object, being read.
struct ObjectItems {
    src: Source,
    kind: Kind,
}

impl ObjectItems {
    /// Opens `key` in `format`, at the cursor's place in it (`in_file`
    /// items already handed out, at `offset`/`line` when known).
    async fn open(
        store: &Arc<dyn ObjectStore>,
        bucket: &str,
        key: &str,
        format: &InputFormat,
        at: Place,
        version: Option<&str>,
    ) -> Result<ObjectItems, ReadError> {
        let Place {
            in_file,
            offset,
            line,
        } = at;
        if *format == InputFormat::Parquet {
            let rows = parquet::ParquetRows::open(store, bucket, key, in_file, version).await?;
            return Ok(ObjectItems {
                src: Source::empty(bucket, key),
                kind: Kind::Parquet(rows),
            });
        }
        let seek = if in_file > 0 && !key.ends_with(".gz") {
            offset
        } else {
            None
        };
        let mut src = Source::open(store, bucket, key, seek.unwrap_or(0), line, version).await?;
        let kind = match format {
            InputFormat::Json => Kind::Json(if seek.is_some() {
                json::State::AfterItem
            } else {
                json::State::Start
            }),
            InputFormat::Jsonl => Kind::Jsonl,
            InputFormat::Parquet => {
                return Err(config("InputType PARQUET is read without a byte source"))
            }
            InputFormat::Csv { delimiter, headers } => {
                let headers = match (headers, seek) {
                    (Some(h), _) => h.clone(),
                    (None, None) => read_headers(&mut src, *delimiter).await?,
                    (None, Some(_)) => {
                        // Resuming in the middle: the header row is read
                        // from the object's start.
                        let mut head = Source::open(store, bucket, key, 0, 1, version).await?;
                        read_headers(&mut head, *delimiter).await?
                    }
                };
                Kind::Csv {
                    delimiter: *delimiter,
                    headers,
                }
            }
        };
        let mut items = ObjectItems { src, kind };
        if seek.is_none() {
            // No known offset (a gzip object, or only a count): skip what
            // was handed out.
            for _ in 0..in_file {
                if items.next().await?.is_none() {
                    break;
                }
            }
        }
        Ok(items)
    }

    async fn next(&mut self) -> Result<Option<Value>, ReadError> {
        match &mut self.kind {
            Kind::Json(state) => json::next(&mut self.src, state).await,
            Kind::Jsonl => loop {
                let line_no = self.src.line;
                let Some(line) = self.src.next_line(MAX_ITEM_BYTES).await? else {
                    return Ok(None);
                };
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                return serde_json::from_slice(&line)
                    .map(Some)
                    .map_err(|e| ReadError::Malformed {
                        object: self.src.name(),
                        line: line_no,
                        what: format!("the line is not JSON: {}", json::json_problem(&e)),
                    });
            },
            Kind::Parquet(rows) => rows.next().await,
            Kind::Csv { delimiter, headers } => {
                let Some(fields) =
                    csv::next_record(&mut self.src, *delimiter, MAX_ITEM_BYTES).await?
                else {
                    return Ok(None);
                };
                let mut row = Map::with_capacity(headers.len());
                let mut fields = fields.into_iter();
                for h in headers.iter() {
                    row.insert(h.clone(), Value::String(fields.next().unwrap_or_default()));
                }
                Ok(Some(Value::Object(row)))
            }
        }
    }

    /// Whether the reader can resume at a byte offset (not gzip, whose
    /// bytes are read from the start, nor Parquet, resumed by row).
    fn seekable(&self) -> bool {
        !self.src.key.ends_with(".gz") && !matches!(self.kind, Kind::Parquet(_))
    }
}

/// The header row of a CSV object (`FIRST_ROW`), at most 10 KiB.
async fn read_headers(src: &mut Source, delimiter: u8) -> Result<Vec<String>, ReadError> {
    let line = src.line;
    let headers = csv::next_record(src, delimiter, csv::MAX_HEADER_BYTES)
        .await?
        .ok_or_else(|| ReadError::Malformed {
            object: src.name(),
            line,
            what: "the CSV object is empty: it has no header row".to_owned(),
        })?;
    check_headers(&headers).map_err(|what| ReadError::Malformed {
        object: src.name(),
        line,
        what,
    })?;
    Ok(headers)
}

/// The objects a manifest lists, with the format each is read in.
struct FileList {
    files: Vec<(String, String)>,
    format: InputFormat,
}

enum Inner {
    Object(ObjectItems),
    Listing(listing::Listing),
    Files {
        list: FileList,
        current: Option<ObjectItems>,
    },
}

/// The items of an ItemReader, read one at a time.
pub struct Items {
    buckets: Buckets,
    max_items: Option<u64>,
    cursor: Cursor,
    inner: Inner,
    peak: usize,
}

impl Buckets {
    /// Opens an ItemReader's items at `from` (`Cursor::default()` for the
    /// start). Nothing past the first chunk is read yet.
    pub async fn open_items(&self, spec: &ReaderSpec, from: Cursor) -> Result<Items, ReadError> {
        let inner = match &spec.source {
            ReaderSource::Object {
                bucket,
                key,
                format,
                version,
            } => {
                let (store, s3) = self.bucket_store(bucket)?;
                if version.is_some() && !s3 {
                    return Err(config(format!(
                        "VersionId needs an S3 bucket: {bucket} is a local folder, which keeps one version of an object"
                    )));
                }
                Inner::Object(
                    ObjectItems::open(
                        &store,
                        bucket,
                        key,
                        format,
                        Place {
                            in_file: from.index,
                            offset: from.offset,
                            line: from.line,
                        },
                        version.as_deref(),
                    )
                    .await?,
                )
            }
            ReaderSource::Listing { bucket, prefix } => {
                let (store, s3) = self.bucket_store(bucket)?;
                Inner::Listing(
                    listing::Listing::open(store, s3, bucket, prefix, from.after_key.clone())
                        .await?,
                )
            }
            ReaderSource::S3Inventory { bucket, key } => {
                let list = self.inventory(bucket, key).await?;
                Inner::Files {
                    list,
                    current: None,
                }
            }
            ReaderSource::AthenaData {
                bucket,
                key,
                format,
            } => {
                let list = self.athena(bucket, key, format).await?;
                Inner::Files {
                    list,
                    current: None,
                }
            }
        };
        // A cursor with only a count (no file, offset or key): skip the
        // items it counts.
        let skip = match &spec.source {
            ReaderSource::Object { .. } => 0,
            _ if from.file == 0 && from.in_file == 0 && from.after_key.is_none() => from.index,
            _ => 0,
        };
        let mut items = Items {
            buckets: self.clone(),
            max_items: spec.max_items,
            cursor: if skip > 0 { Cursor::default() } else { from },
            inner,
            peak: 0,
        };
        for _ in 0..skip {
            if items.next().await?.is_none() {
                break;
            }
        }
        Ok(items)
    }

    fn store_of(&self, bucket: &str) -> Result<Arc<dyn ObjectStore>, ReadError> {
        self.bucket_store(bucket).map(|(s, _)| s)
    }

    fn bucket_store(&self, bucket: &str) -> Result<(Arc<dyn ObjectStore>, bool), ReadError> {
        self.lookup(bucket).ok_or_else(|| ReadError::NoSuchBucket {
            bucket: bucket.to_owned(),
        })
    }

    /// A manifest, read whole (it is small: a list of files).
    async fn manifest_text(&self, bucket: &str, key: &str) -> Result<String, ReadError> {
        let store = self.store_of(bucket)?;
        let mut src = Source::open(&store, bucket, key, 0, 1, None).await?;
        while src.fill(true).await? {
            if src.available().len() > MAX_MANIFEST_BYTES {
                return Err(ReadError::Malformed {
                    object: src.name(),
                    line: 1,
                    what: format!("the manifest is larger than {MAX_MANIFEST_BYTES} bytes"),
                });
            }
        }
        String::from_utf8(src.available().to_vec()).map_err(|_| ReadError::Malformed {
            object: src.name(),
            line: 1,
            what: "the manifest is not UTF-8 text".to_owned(),
        })
    }

    /// An S3 Inventory `manifest.json`: its CSV files, with `fileSchema`'s
    /// columns as the headers.
    async fn inventory(&self, bucket: &str, key: &str) -> Result<FileList, ReadError> {
        let text = self.manifest_text(bucket, key).await?;
        let object = format!("s3://{bucket}/{key}");
        let bad = |line: u64, what: String| ReadError::Malformed {
            object: object.clone(),
            line,
            what,
        };
        let manifest: Value = serde_json::from_str(&text).map_err(|e| {
            bad(
                e.line() as u64,
                format!(
                    "the S3 Inventory manifest is not JSON: {}",
                    json::json_problem(&e)
                ),
            )
        })?;
        let field = |name: &str| -> Result<&str, ReadError> {
            manifest
                .get(name)
                .and_then(Value::as_str)
                .ok_or_else(|| bad(1, format!("the S3 Inventory manifest has no {name} string")))
        };
        let file_format = field("fileFormat")?;
        if file_format != "CSV" {
            return Err(bad(
                1,
                format!("the S3 Inventory is in {file_format}; Step Functions reads CSV inventories only"),
            ));
        }
        let schema: Vec<String> = field("fileSchema")?
            .split(',')
            .map(|c| c.trim().to_owned())
            .collect();
        let destination = field("destinationBucket")?;
        let files_bucket = destination
            .strip_prefix("arn:aws:s3:::")
            .unwrap_or(destination)
            .to_owned();
        let files = manifest
            .get("files")
            .and_then(Value::as_array)
            .ok_or_else(|| bad(1, "the S3 Inventory manifest has no files array".to_owned()))?
            .iter()
            .map(|f| {
                f.get("key")
                    .and_then(Value::as_str)
                    .map(|k| (files_bucket.clone(), k.to_owned()))
                    .ok_or_else(|| bad(1, format!("a files entry has no key string: {f}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(FileList {
            files,
            format: InputFormat::Csv {
                delimiter: b',',
                headers: Some(schema),
            },
        })
    }

    /// An Athena manifest: one `s3://bucket/key` a line.
    async fn athena(
        &self,
        bucket: &str,
        key: &str,
        format: &InputFormat,
    ) -> Result<FileList, ReadError> {
        let text = self.manifest_text(bucket, key).await?;
        let mut files = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let parsed = line
                .strip_prefix("s3://")
                .and_then(|rest| rest.split_once('/'))
                .filter(|(b, k)| !b.is_empty() && !k.is_empty());
            let Some((b, k)) = parsed else {
                return Err(ReadError::Malformed {
                    object: format!("s3://{bucket}/{key}"),
                    line: i as u64 + 1,
                    what: format!(
                        "the Athena manifest line {line:?} is not an s3://bucket/key URI"
                    ),
                });
            };
            files.push((b.to_owned(), k.to_owned()));
        }
        Ok(FileList {
            files,
            format: format.clone(),
        })
    }
}

impl Items {
    /// The next item, or `None` when every item (or `MaxItems`) was read.
    pub async fn next(&mut self) -> Result<Option<Value>, ReadError> {
        if self.max_items.is_some_and(|max| self.cursor.index >= max) {
            return Ok(None);
        }
        let item = match &mut self.inner {
            Inner::Object(o) => {
                let item = o.next().await?;
                self.peak = self.peak.max(o.src.peak);
                if item.is_some() {
                    self.cursor.in_file += 1;
                    self.cursor.offset = o.seekable().then_some(o.src.offset);
                    self.cursor.line = o.src.line;
                }
                item
            }
            Inner::Listing(l) => {
                let meta = l.next().await?;
                meta.map(|m| {
                    self.cursor.after_key = Some(m.location.as_ref().to_owned());
                    listing::item(&m)
                })
            }
            Inner::Files { list, current } => loop {
                if current.is_none() {
                    let Some((bucket, key)) = list.files.get(self.cursor.file as usize) else {
                        break None;
                    };
                    let store = self.buckets.store_of(bucket)?;
                    *current = Some(
                        ObjectItems::open(
                            &store,
                            bucket,
                            key,
                            &list.format,
                            Place {
                                in_file: self.cursor.in_file,
                                offset: self.cursor.offset,
                                line: self.cursor.line,
                            },
                            None,
                        )
                        .await?,
                    );
                }
                let Some(o) = current.as_mut() else {
                    break None;
                };
                let item = o.next().await?;
                self.peak = self.peak.max(o.src.peak);
                match item {
                    Some(v) => {
                        self.cursor.in_file += 1;
                        self.cursor.offset = o.seekable().then_some(o.src.offset);
                        self.cursor.line = o.src.line;
                        break Some(v);
                    }
                    None => {
                        *current = None;
                        self.cursor.file += 1;
                        self.cursor.in_file = 0;
                        self.cursor.offset = None;
                        self.cursor.line = 0;
                    }
                }
            },
        };
        if item.is_some() {
            self.cursor.index += 1;
        }
        Ok(item)
    }

    /// Where the reader stands: give it to [`Buckets::open_items`] to go on
    /// after the last item returned.
    pub fn cursor(&self) -> &Cursor {
        &self.cursor
    }

    /// The most bytes the reader has buffered at once (what shows that an
    /// object is streamed, not held).
    pub fn peak_buffered(&self) -> usize {
        self.peak
    }

    /// The items as a stream (for callers that consume them in order).
    pub fn into_stream(self) -> impl futures_util::Stream<Item = Result<Value, ReadError>> {
        futures_util::stream::unfold(Some(self), |state| async move {
            let mut items = state?;
            match items.next().await {
                Ok(Some(v)) => Some((Ok(v), Some(items))),
                Ok(None) => None,
                Err(e) => Some((Err(e), None)),
            }
        })
    }
}

/// A key as the store takes it.
pub(crate) fn object_key(bucket: &str, key: &str) -> Result<Key, ReadError> {
    if key.is_empty() {
        return Err(config(
            "The ItemReader Parameters field Key must not be empty",
        ));
    }
    Key::parse(key).map_err(|e| config(format!("The key s3://{bucket}/{key} is not usable: {e}")))
}

pub(crate) fn store_error(e: object_store::Error, bucket: &str, key: &str) -> ReadError {
    match e {
        object_store::Error::NotFound { .. } => ReadError::NoSuchKey {
            object: format!("s3://{bucket}/{key}"),
        },
        other => ReadError::Store {
            object: format!("s3://{bucket}/{key}"),
            why: other.to_string(),
        },
    }
}
