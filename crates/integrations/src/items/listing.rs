//! `arn:aws:states:::s3:listObjectsV2` as an item reader: every key under
//! a prefix, in key order, one at a time. An S3 store's listing is paged
//! by the store (1,000 keys a request, never the whole prefix at once); a
//! local folder is walked folder by folder, each folder's names sorted so
//! that the keys come in S3's order (`a-b` before `a/…`), so a restart can
//! resume after the last key handed out.

use std::sync::Arc;

use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use object_store::path::Path as Key;
use object_store::{ObjectMeta, ObjectStore};
use serde_json::{json, Value};

use super::ReadError;

enum Entry {
    Object(ObjectMeta),
    Folder(String),
}

impl Entry {
    /// Where the entry sorts among keys: a folder as `name/`.
    fn sort_key(&self) -> String {
        match self {
            Entry::Object(m) => m.location.as_ref().to_owned(),
            Entry::Folder(f) => format!("{f}/"),
        }
    }
}

pub(crate) struct Listing {
    store: Arc<dyn ObjectStore>,
    bucket: String,
    prefix: String,
    after: Option<String>,
    /// S3: the store's own paged, ordered listing.
    paged: Option<BoxStream<'static, object_store::Result<ObjectMeta>>>,
    /// A local folder: the folders being walked, each one's entries sorted
    /// in reverse (the next one last).
    walk: Vec<Vec<Entry>>,
}

fn error(e: object_store::Error, bucket: &str, prefix: &str) -> ReadError {
    match e {
        object_store::Error::NotFound { .. } => ReadError::NoSuchBucket {
            bucket: bucket.to_owned(),
        },
        other => ReadError::Store {
            object: format!("s3://{bucket}/{prefix}"),
            why: other.to_string(),
        },
    }
}

/// One folder's entries, sorted for popping. (A free function: the
/// listing holds a stream that is `Send` but not `Sync`, so no `&Listing`
/// may live across an await.)
async fn folder(
    store: Arc<dyn ObjectStore>,
    bucket: String,
    prefix: String,
    folder: Option<Key>,
) -> Result<Vec<Entry>, ReadError> {
    let listed = match store.list_with_delimiter(folder.as_ref()).await {
        Ok(l) => l,
        // A prefix whose folder does not exist lists nothing, as on S3.
        Err(object_store::Error::NotFound { .. }) => return Ok(Vec::new()),
        Err(e) => return Err(error(e, &bucket, &prefix)),
    };
    let mut entries: Vec<Entry> = listed
        .objects
        .into_iter()
        .map(Entry::Object)
        .chain(
            listed
                .common_prefixes
                .into_iter()
                .map(|p| Entry::Folder(p.as_ref().to_owned())),
        )
        .collect();
    entries.sort_by_cached_key(|e| std::cmp::Reverse(e.sort_key()));
    Ok(entries)
}

/// The folder part of a prefix (`images/2024/a` → `images/2024`).
fn folder_of(prefix: &str) -> Option<Key> {
    let dir = prefix
        .rfind('/')
        .map_or("", |i| prefix.get(..i).unwrap_or(""));
    (!dir.is_empty()).then(|| Key::from(dir))
}

impl Listing {
    pub async fn open(
        store: Arc<dyn ObjectStore>,
        s3: bool,
        bucket: &str,
        prefix: &str,
        after: Option<String>,
    ) -> Result<Listing, ReadError> {
        let folder = folder_of(prefix);
        let mut listing = Listing {
            store: Arc::clone(&store),
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
            after,
            paged: None,
            walk: Vec::new(),
        };
        if s3 {
            listing.paged = Some(match &listing.after {
                Some(a) => store.list_with_offset(folder.as_ref(), &Key::from(a.as_str())),
                None => store.list(folder.as_ref()),
            });
        } else {
            let entries = self::folder(store, bucket.to_owned(), prefix.to_owned(), folder).await?;
            listing.walk.push(entries);
        }
        Ok(listing)
    }

    fn error(&self, e: object_store::Error) -> ReadError {
        error(e, &self.bucket, &self.prefix)
    }

    fn wanted(&self, key: &str) -> bool {
        key.starts_with(&self.prefix) && self.after.as_deref().is_none_or(|a| key > a)
    }

    /// Whether a folder can hold wanted keys.
    fn enter(&self, folder: &str) -> bool {
        let f = format!("{folder}/");
        let under_prefix = f.starts_with(&self.prefix) || self.prefix.starts_with(&f);
        let not_before = self
            .after
            .as_deref()
            .is_none_or(|a| a.starts_with(&f) || a < f.as_str());
        under_prefix && not_before
    }

    /// The next object, in key order.
    pub async fn next(&mut self) -> Result<Option<ObjectMeta>, ReadError> {
        if let Some(mut paged) = self.paged.take() {
            while let Some(item) = paged.next().await {
                let meta = item.map_err(|e| self.error(e))?;
                let key = meta.location.as_ref();
                if self.wanted(key) {
                    self.paged = Some(paged);
                    return Ok(Some(meta));
                }
                if key > self.prefix.as_str() && !key.starts_with(&self.prefix) {
                    // Past the prefix: S3 lists in key order.
                    break;
                }
            }
            return Ok(None);
        }
        loop {
            let Some(top) = self.walk.last_mut() else {
                return Ok(None);
            };
            let Some(entry) = top.pop() else {
                self.walk.pop();
                continue;
            };
            match entry {
                Entry::Object(meta) => {
                    if self.wanted(meta.location.as_ref()) {
                        return Ok(Some(meta));
                    }
                }
                Entry::Folder(f) => {
                    if self.enter(&f) {
                        let entries = folder(
                            Arc::clone(&self.store),
                            self.bucket.clone(),
                            self.prefix.clone(),
                            Some(Key::from(f.as_str())),
                        )
                        .await?;
                        self.walk.push(entries);
                    }
                }
            }
        }
    }
}

/// An item of a listing, in the shape AWS gives a Map's items.
pub(crate) fn item(meta: &ObjectMeta) -> Value {
    json!({
        "Etag": crate::s3::etag(meta.e_tag.as_deref()),
        "Key": meta.location.as_ref(),
        "LastModified": meta.last_modified.timestamp(),
        "Size": meta.size,
        "StorageClass": "STANDARD"
    })
}
