//! `InputType: PARQUET`: the rows of a Parquet object as JSON objects (one
//! item per row, columns by name), read by Apache Arrow's `parquet` crate
//! through its record API (no Arrow) on a blocking thread, row group by row
//! group, and handed over through a small channel, so only a few rows and
//! the pages being decoded are held.
//!
//! Parquet keeps its index (the footer) at the end of the file and reads
//! column chunks by offset, so it cannot be read front to back: a local
//! bucket's file is read in place, an S3 object is first copied to a
//! temporary file (streamed to disk, never held in memory; the file is
//! unlinked at once and vanishes with the reader).

use std::sync::Arc;

use futures_util::StreamExt;
use object_store::{GetResultPayload, ObjectStore};
use parquet::file::reader::{FileReader, SerializedFileReader};
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

use super::ReadError;

/// Rows decoded ahead of the reader.
const AHEAD: usize = 64;

pub(crate) struct ParquetRows {
    rx: mpsc::Receiver<Result<Value, ReadError>>,
}

impl ParquetRows {
    /// Opens `key` and starts decoding after the first `skip` rows (whole
    /// row groups before them are not read).
    pub async fn open(
        store: &Arc<dyn ObjectStore>,
        bucket: &str,
        key: &str,
        skip: u64,
        version: Option<&str>,
    ) -> Result<ParquetRows, ReadError> {
        let object = format!("s3://{bucket}/{key}");
        let path = super::object_key(bucket, key)?;
        let options = object_store::GetOptions {
            version: version.map(str::to_owned),
            ..Default::default()
        };
        let got = store
            .get_opts(&path, options)
            .await
            .map_err(|e| super::store_error(e, bucket, key))?;
        let file = match got.payload {
            GetResultPayload::File(file, _) => file,
            GetResultPayload::Stream(stream) => download(stream, &object).await?,
        };
        let (tx, rx) = mpsc::channel(AHEAD);
        tokio::task::spawn_blocking(move || {
            if let Err(e) = rows(file, skip, &tx, &object) {
                let _ = tx.blocking_send(Err(e));
            }
        });
        Ok(ParquetRows { rx })
    }

    pub async fn next(&mut self) -> Result<Option<Value>, ReadError> {
        match self.rx.recv().await {
            Some(Ok(v)) => Ok(Some(v)),
            Some(Err(e)) => Err(e),
            None => Ok(None),
        }
    }
}

/// An S3 object copied to an unlinked temporary file.
async fn download(
    mut stream: futures_util::stream::BoxStream<'static, object_store::Result<bytes::Bytes>>,
    object: &str,
) -> Result<std::fs::File, ReadError> {
    let failed = |why: String| ReadError::Store {
        object: object.to_owned(),
        why,
    };
    let path = std::env::temp_dir().join(format!(
        "statecraft-parquet-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let mut out = tokio::fs::File::create(&path)
        .await
        .map_err(|e| failed(format!("cannot create a temporary file for it: {e}")))?;
    let copied = async {
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| failed(e.to_string()))?;
            out.write_all(&chunk)
                .await
                .map_err(|e| failed(format!("cannot write its temporary copy: {e}")))?;
        }
        out.flush()
            .await
            .map_err(|e| failed(format!("cannot write its temporary copy: {e}")))?;
        std::fs::File::open(&path)
            .map_err(|e| failed(format!("cannot reopen its temporary copy: {e}")))
    }
    .await;
    // Unlinked now: the open handle keeps the data until the reader ends.
    let _ = std::fs::remove_file(&path);
    copied
}

/// Decodes the rows after `skip` and sends them; stops when the reader is
/// dropped.
fn rows(
    file: std::fs::File,
    skip: u64,
    tx: &mpsc::Sender<Result<Value, ReadError>>,
    object: &str,
) -> Result<(), ReadError> {
    let bad = |row: u64, what: String| ReadError::BadRow {
        object: object.to_owned(),
        row,
        what,
    };
    // The crate's errors start with "Parquet error: ": the cause says so.
    let text = |e: parquet::errors::ParquetError| {
        let t = e.to_string();
        t.strip_prefix("Parquet error: ")
            .map(str::to_owned)
            .unwrap_or(t)
    };
    let reader = SerializedFileReader::new(file).map_err(|e| {
        bad(
            0,
            format!("the object is not a readable Parquet file: {}", text(e)),
        )
    })?;
    let mut row = 0u64;
    for g in 0..reader.num_row_groups() {
        let in_group = u64::try_from(reader.metadata().row_group(g).num_rows()).unwrap_or(0);
        if row + in_group <= skip {
            row += in_group;
            continue;
        }
        let group = reader.get_row_group(g).map_err(|e| {
            bad(
                row + 1,
                format!("row group {g} cannot be read: {}", text(e)),
            )
        })?;
        let iter = group.get_row_iter(None).map_err(|e| {
            bad(
                row + 1,
                format!("row group {g} cannot be read: {}", text(e)),
            )
        })?;
        for r in iter {
            row += 1;
            let r = r.map_err(|e| bad(row, format!("the row cannot be decoded: {}", text(e))))?;
            if row <= skip {
                continue;
            }
            if tx.blocking_send(Ok(r.to_json_value())).is_err() {
                return Ok(());
            }
        }
    }
    Ok(())
}
