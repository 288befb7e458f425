//! Object storage for workflows: the buckets named in the config
//! (`[integrations.buckets.<name>]`), each a local directory (`file:///…`)
//! or a bucket of an S3-compatible store (`s3://…`: AWS S3, Ceph, Garage,
//! SeaweedFS, MinIO…), reached through the Task resources AWS users
//! already write, so a flow written for AWS runs unchanged:
//!
//! | resource | does |
//! |---|---|
//! | `arn:aws:states:::aws-sdk:s3:getObject` | the object's body (text) and metadata |
//! | `…:aws-sdk:s3:putObject` | writes `Body` (a string, or JSON written as its text) |
//! | `…:aws-sdk:s3:listObjectsV2` | one page of keys (`Prefix`, `Delimiter`, `MaxKeys`, `ContinuationToken`, `StartAfter`) |
//! | `…:aws-sdk:s3:headObject` | metadata only |
//! | `…:aws-sdk:s3:copyObject` | `CopySource` (`bucket/key`) to `Bucket`/`Key`, across stores too |
//! | `…:aws-sdk:s3:deleteObject` | removes the key (a missing key is not an error, as on S3) |
//! | `arn:aws:states:::s3:getObject`, `…:s3:listObjectsV2` | a Map's `ItemReader`: the body, or every key under `Prefix` |
//!
//! Parameters and results use the AWS SDK's names (`Bucket`, `Key`,
//! `Body`, `ContentLength`, `ETag`, `Contents`, `IsTruncated`…). A task
//! names a bucket by its name in the config; an unknown bucket fails with
//! `S3.NoSuchBucketException`, a missing key with `S3.NoSuchKeyException`,
//! other store errors with `S3.S3Exception`, each with a cause in the
//! AWS SDK's form (`… (Service: S3, Status Code: 404, Request ID: …)`).
//!
//! Keys are object-store paths: `..`, empty segments and control
//! characters are refused, so a key cannot leave a local bucket's folder.
//! The `object_store` crate (Apache Arrow) does the storage work for both
//! kinds of bucket; see ARCHITECTURE.md for why.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures_util::StreamExt;
use object_store::path::Path as Key;
use object_store::{Attribute, Attributes, ObjectMeta, ObjectStore, PutOptions, PutPayload};
use serde_json::{json, Map, Value};
use statecraft_tasks::{Integration, TaskContext, TaskFuture, TaskOutcome};
use statecraft_types::Failure;

use crate::config::BucketConfig;
use crate::{invalid, Error};

/// The most of an object a `getObject` task reads into its result; past it
/// the task fails with `States.DataLimitExceeded` before reading (a
/// result is limited to AWS's 256 KiB payload anyway).
const MAX_TASK_BODY: u64 = 16 << 20;

/// The most of an object an `ItemReader` reads (the items are held in the
/// Map's state): past it the Map fails with `States.ItemReaderFailed`.
const MAX_READER_BODY: u64 = 256 << 20;

/// The most keys one `listObjectsV2` page returns (S3's own cap).
const MAX_KEYS: usize = 1000;

/// The most keys an `ItemReader` listing collects.
const MAX_READER_KEYS: usize = 1_000_000;

const NO_SUCH_BUCKET: &str = "S3.NoSuchBucketException";
const NO_SUCH_KEY: &str = "S3.NoSuchKeyException";
const S3_EXCEPTION: &str = "S3.S3Exception";

/// One configured bucket.
struct Bucket {
    store: Arc<dyn ObjectStore>,
    /// Whether the store keeps object attributes (content type): S3 does,
    /// a local directory does not.
    attributes: bool,
}

/// The `aws-sdk:s3:*` and `s3:*` resources over the configured buckets;
/// also what opens a Distributed Map's item readers
/// ([`Buckets::open_items`]) and result writers
/// ([`Buckets::open_result_writer`]). Cloning shares the buckets.
#[derive(Clone)]
pub struct Buckets {
    buckets: Arc<BTreeMap<String, Bucket>>,
}

impl Buckets {
    /// Opens every configured bucket: a local folder must exist, an S3 URL
    /// must name a bucket. Nothing is contacted yet.
    pub fn new(config: &BTreeMap<String, BucketConfig>) -> Result<Self, Error> {
        let mut buckets = BTreeMap::new();
        for (name, c) in config {
            let bad = |why: String| Error::Bucket {
                name: name.clone(),
                why,
            };
            let bucket = if let Some(rest) = c.url.strip_prefix("file://") {
                if c.endpoint.is_some() || c.access_key_id.is_some() {
                    return Err(bad(
                        "endpoint and credentials apply to s3:// buckets only".into()
                    ));
                }
                let dir = std::path::Path::new(rest);
                if !dir.is_absolute() {
                    return Err(bad(format!(
                        "url {:?}: a file:// URL needs an absolute path (file:///srv/media)",
                        c.url
                    )));
                }
                if !dir.is_dir() {
                    return Err(bad(format!(
                        "the folder {} does not exist; create it or fix the url",
                        dir.display()
                    )));
                }
                let store = object_store::local::LocalFileSystem::new_with_prefix(dir)
                    .map_err(|e| bad(e.to_string()))?;
                Bucket {
                    store: Arc::new(store),
                    attributes: false,
                }
            } else if let Some(rest) = c.url.strip_prefix("s3://") {
                let bucket_name = rest.trim_end_matches('/');
                if bucket_name.is_empty() || bucket_name.contains('/') {
                    return Err(bad(format!(
                        "url {:?}: an s3:// URL names one bucket (s3://my-bucket)",
                        c.url
                    )));
                }
                let mut b = object_store::aws::AmazonS3Builder::new()
                    .with_bucket_name(bucket_name)
                    .with_region(c.region.as_deref().unwrap_or("us-east-1"));
                if let Some(endpoint) = &c.endpoint {
                    b = b
                        .with_endpoint(endpoint)
                        .with_allow_http(endpoint.starts_with("http://"));
                }
                match (&c.access_key_id, &c.secret_access_key) {
                    (Some(id), Some(secret)) => {
                        b = b
                            .with_access_key_id(id.expose())
                            .with_secret_access_key(secret.expose());
                    }
                    // No credentials: unsigned requests (a public or
                    // local store), never the cloud's metadata service.
                    (None, None) => b = b.with_skip_signature(true),
                    _ => return Err(bad("access_key_id and secret_access_key go together".into())),
                }
                let store = b.build().map_err(|e| bad(e.to_string()))?;
                Bucket {
                    store: Arc::new(store),
                    attributes: true,
                }
            } else {
                return Err(bad(format!(
                    "url {:?}: use file:///<folder> or s3://<bucket>",
                    c.url
                )));
            };
            buckets.insert(name.clone(), bucket);
        }
        Ok(Buckets {
            buckets: Arc::new(buckets),
        })
    }
}

impl Buckets {
    /// A configured bucket's store, and whether it is an S3 store (which
    /// lists in key order and pages by itself) rather than a local folder.
    pub(crate) fn lookup(&self, name: &str) -> Option<(Arc<dyn ObjectStore>, bool)> {
        self.buckets
            .get(name)
            .map(|b| (Arc::clone(&b.store), b.attributes))
    }
}

/// What a resource asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    GetObject,
    PutObject,
    ListObjectsV2,
    HeadObject,
    CopyObject,
    DeleteObject,
    /// `arn:aws:states:::s3:getObject`: an ItemReader's object.
    ReadObject,
    /// `arn:aws:states:::s3:listObjectsV2`: an ItemReader's listing.
    ReadListing,
}

fn action(resource: &str) -> Option<Action> {
    let rest = crate::service_resource(resource)?;
    Some(match rest {
        "aws-sdk:s3:getObject" => Action::GetObject,
        "aws-sdk:s3:putObject" => Action::PutObject,
        "aws-sdk:s3:listObjectsV2" => Action::ListObjectsV2,
        "aws-sdk:s3:headObject" => Action::HeadObject,
        "aws-sdk:s3:copyObject" => Action::CopyObject,
        "aws-sdk:s3:deleteObject" => Action::DeleteObject,
        "s3:getObject" => Action::ReadObject,
        "s3:listObjectsV2" => Action::ReadListing,
        _ => return None,
    })
}

impl Integration for Buckets {
    fn handles(&self, resource: &str) -> bool {
        action(resource).is_some()
    }

    fn invoke(&self, _context: TaskContext, request: statecraft_tasks::TaskRequest) -> TaskFuture {
        let buckets = Arc::clone(&self.buckets);
        Box::pin(async move {
            let Some(action) = action(&request.resource) else {
                return TaskOutcome::Failed(invalid(format!(
                    "{} is not an S3 resource",
                    request.resource
                )));
            };
            match run(&buckets, action, &request.parameters).await {
                Ok(v) => TaskOutcome::Succeeded(v),
                Err(f) => TaskOutcome::Failed(f),
            }
        })
    }
}

/// An error of the AWS SDK's shape: `message (Service: S3, Status Code: N,
/// Request ID: …)`.
fn sdk_error(error: &str, status: u16, message: &str) -> Failure {
    Failure::new(
        error,
        format!(
            "{message} (Service: S3, Status Code: {status}, Request ID: {})",
            uuid::Uuid::new_v4().simple()
        ),
    )
}

fn store_error(e: object_store::Error, bucket: &str, key: &str) -> Failure {
    match e {
        object_store::Error::NotFound { .. } => {
            sdk_error(NO_SUCH_KEY, 404, "The specified key does not exist.")
        }
        other => sdk_error(
            S3_EXCEPTION,
            500,
            &format!("Object s3://{bucket}/{key}: {other}"),
        ),
    }
}

fn string_param<'a>(p: &'a Value, name: &str) -> Result<&'a str, Failure> {
    match p.get(name) {
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(invalid(format!(
            "the parameter {name} must be a string, but was {other}"
        ))),
        None => Err(invalid(format!("the parameter {name} is required"))),
    }
}

fn optional_string<'a>(p: &'a Value, name: &str) -> Result<Option<&'a str>, Failure> {
    match p.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(invalid(format!(
            "the parameter {name} must be a string, but was {other}"
        ))),
    }
}

fn bucket<'a>(buckets: &'a BTreeMap<String, Bucket>, name: &str) -> Result<&'a Bucket, Failure> {
    buckets.get(name).ok_or_else(|| {
        sdk_error(
            NO_SUCH_BUCKET,
            404,
            &format!("The specified bucket does not exist: {name}"),
        )
    })
}

fn key(text: &str) -> Result<Key, Failure> {
    if text.is_empty() {
        return Err(invalid("the parameter Key must not be empty"));
    }
    Key::parse(text).map_err(|e| invalid(format!("the key {text:?} is not usable: {e}")))
}

/// `"etag"` as S3 shows it: between double quotes.
pub(crate) fn etag(tag: Option<&str>) -> Value {
    match tag {
        Some(t) if t.starts_with('"') => Value::String(t.to_owned()),
        Some(t) => Value::String(format!("\"{t}\"")),
        None => Value::Null,
    }
}

fn timestamp(t: &chrono::DateTime<chrono::Utc>) -> Value {
    Value::String(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

fn meta_fields(meta: &ObjectMeta, attributes: Option<&Attributes>) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("ContentLength".into(), json!(meta.size));
    let content_type = attributes
        .and_then(|a| a.get(&Attribute::ContentType))
        .map(|v| v.as_ref().to_owned())
        .unwrap_or_else(|| "binary/octet-stream".into());
    m.insert("ContentType".into(), Value::String(content_type));
    m.insert("ETag".into(), etag(meta.e_tag.as_deref()));
    m.insert("LastModified".into(), timestamp(&meta.last_modified));
    m.insert("Metadata".into(), json!({}));
    m
}

async fn run(
    buckets: &BTreeMap<String, Bucket>,
    action: Action,
    p: &Value,
) -> Result<Value, Failure> {
    if !p.is_object() {
        return Err(invalid("the parameters must be an object"));
    }
    let bucket_name = string_param(p, "Bucket")?;
    let b = bucket(buckets, bucket_name)?;
    match action {
        Action::GetObject | Action::ReadObject => {
            let key_text = string_param(p, "Key")?;
            let k = key(key_text)?;
            let limit = if action == Action::GetObject {
                MAX_TASK_BODY
            } else {
                MAX_READER_BODY
            };
            let got = b
                .store
                .get(&k)
                .await
                .map_err(|e| store_error(e, bucket_name, key_text))?;
            if got.meta.size > limit {
                let error = if action == Action::GetObject {
                    crate::DATA_LIMIT_EXCEEDED
                } else {
                    statecraft_types::errors::ITEM_READER_FAILED
                };
                return Err(Failure::new(
                    error,
                    format!(
                        "The object s3://{bucket_name}/{key_text} is {} bytes, more than the {limit} this resource reads",
                        got.meta.size
                    ),
                ));
            }
            let meta = got.meta.clone();
            let attributes = got.attributes.clone();
            let bytes = got
                .bytes()
                .await
                .map_err(|e| store_error(e, bucket_name, key_text))?;
            let body = String::from_utf8_lossy(&bytes).into_owned();
            if action == Action::ReadObject {
                return Ok(json!({"Body": body}));
            }
            let mut m = meta_fields(&meta, Some(&attributes));
            m.insert("Body".into(), Value::String(body));
            Ok(Value::Object(m))
        }
        Action::HeadObject => {
            let key_text = string_param(p, "Key")?;
            let k = key(key_text)?;
            let meta = b
                .store
                .head(&k)
                .await
                .map_err(|e| store_error(e, bucket_name, key_text))?;
            let attributes = if b.attributes {
                // Only a get returns attributes: read none of the body.
                let opts = object_store::GetOptions {
                    head: true,
                    ..Default::default()
                };
                b.store.get_opts(&k, opts).await.ok().map(|g| g.attributes)
            } else {
                None
            };
            Ok(Value::Object(meta_fields(&meta, attributes.as_ref())))
        }
        Action::PutObject => {
            let key_text = string_param(p, "Key")?;
            let k = key(key_text)?;
            let body = match p.get("Body") {
                None | Some(Value::Null) => String::new(),
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
            };
            let mut opts = PutOptions::default();
            if b.attributes {
                if let Some(ct) = optional_string(p, "ContentType")? {
                    let mut a = Attributes::new();
                    a.insert(Attribute::ContentType, ct.to_owned().into());
                    opts.attributes = a;
                }
            }
            let put = b
                .store
                .put_opts(&k, PutPayload::from(body.into_bytes()), opts)
                .await
                .map_err(|e| store_error(e, bucket_name, key_text))?;
            Ok(json!({"ETag": etag(put.e_tag.as_deref())}))
        }
        Action::DeleteObject => {
            let key_text = string_param(p, "Key")?;
            let k = key(key_text)?;
            match b.store.delete(&k).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(json!({})),
                Err(e) => Err(store_error(e, bucket_name, key_text)),
            }
        }
        Action::CopyObject => {
            let key_text = string_param(p, "Key")?;
            let to = key(key_text)?;
            let source = string_param(p, "CopySource")?;
            let decoded = percent_decode(source.trim_start_matches('/'));
            let Some((src_bucket, src_key)) = decoded.split_once('/') else {
                return Err(invalid(format!(
                    "CopySource {source:?} must be <bucket>/<key>"
                )));
            };
            let from = key(src_key)?;
            let sb = bucket(buckets, src_bucket)?;
            if Arc::ptr_eq(&sb.store, &b.store) {
                b.store
                    .copy(&from, &to)
                    .await
                    .map_err(|e| store_error(e, src_bucket, src_key))?;
            } else {
                let got = sb
                    .store
                    .get(&from)
                    .await
                    .map_err(|e| store_error(e, src_bucket, src_key))?;
                let bytes = got
                    .bytes()
                    .await
                    .map_err(|e| store_error(e, src_bucket, src_key))?;
                b.store
                    .put(&to, PutPayload::from(bytes))
                    .await
                    .map_err(|e| store_error(e, bucket_name, key_text))?;
            }
            let meta = b
                .store
                .head(&to)
                .await
                .map_err(|e| store_error(e, bucket_name, key_text))?;
            Ok(json!({"CopyObjectResult": {
                "ETag": etag(meta.e_tag.as_deref()),
                "LastModified": timestamp(&meta.last_modified)
            }}))
        }
        Action::ListObjectsV2 => list_page(b, bucket_name, p).await,
        Action::ReadListing => {
            let prefix = optional_string(p, "Prefix")?.unwrap_or("");
            let objects = list_all(b, bucket_name, prefix, None, MAX_READER_KEYS).await?;
            let contents: Vec<Value> = objects.iter().map(content_entry).collect();
            Ok(json!({"Contents": contents}))
        }
    }
}

/// `%2F` and friends in a `CopySource`, as S3 accepts it URL-encoded.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Some(v) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn content_entry(meta: &ObjectMeta) -> Value {
    json!({
        "ETag": etag(meta.e_tag.as_deref()),
        "Key": meta.location.as_ref(),
        "LastModified": timestamp(&meta.last_modified),
        "Size": meta.size,
        "StorageClass": "STANDARD"
    })
}

/// The folder part of an S3 prefix (`images/2024/a` → `images/2024`): the
/// store lists by folder; the rest of the prefix is matched on the keys.
fn folder_of(prefix: &str) -> Option<Key> {
    let dir = match prefix.rfind('/') {
        Some(i) => &prefix[..i],
        None => "",
    };
    (!dir.is_empty()).then(|| Key::from(dir))
}

/// Every key under `prefix` (a string prefix, as S3's), after `after`, in
/// key order, at most `limit` plus one (so callers see whether there is
/// more). Keys are sorted here because a local folder lists in no order.
async fn list_all(
    b: &Bucket,
    bucket_name: &str,
    prefix: &str,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<ObjectMeta>, Failure> {
    let folder = folder_of(prefix);
    let mut stream = b.store.list(folder.as_ref());
    let mut out = Vec::new();
    while let Some(item) = stream.next().await {
        let meta = match item {
            Ok(m) => m,
            // A prefix whose folder does not exist lists nothing, as on S3.
            Err(object_store::Error::NotFound { .. }) => break,
            Err(e) => return Err(store_error(e, bucket_name, prefix)),
        };
        let k = meta.location.as_ref();
        if k.starts_with(prefix) && after.is_none_or(|a| k > a) {
            out.push(meta);
            if out.len() > MAX_READER_KEYS {
                return Err(Failure::new(
                    S3_EXCEPTION,
                    format!(
                        "More than {MAX_READER_KEYS} keys under s3://{bucket_name}/{prefix}: narrow the Prefix"
                    ),
                ));
            }
        }
    }
    out.sort_by(|a, b| a.location.as_ref().cmp(b.location.as_ref()));
    out.truncate(limit.saturating_add(1));
    Ok(out)
}

async fn list_page(b: &Bucket, bucket_name: &str, p: &Value) -> Result<Value, Failure> {
    let prefix = optional_string(p, "Prefix")?.unwrap_or("");
    let delimiter = optional_string(p, "Delimiter")?;
    if delimiter.is_some_and(|d| d != "/") {
        return Err(invalid("Delimiter: only \"/\" is supported"));
    }
    let max_keys = match p.get("MaxKeys") {
        None | Some(Value::Null) => MAX_KEYS,
        Some(v) => match v.as_u64() {
            Some(n) => (n as usize).min(MAX_KEYS),
            None => {
                return Err(invalid(format!(
                    "MaxKeys must be a whole number, but was {v}"
                )))
            }
        },
    };
    let token = optional_string(p, "ContinuationToken")?;
    let start_after = optional_string(p, "StartAfter")?;
    let after = token.or(start_after);
    let mut found = list_all(b, bucket_name, prefix, after, usize::MAX - 1).await?;
    let mut common: Vec<String> = Vec::new();
    if delimiter.is_some() {
        // Keys with a `/` after the prefix roll up into their folder.
        let mut kept = Vec::new();
        for meta in found {
            let k = meta.location.as_ref();
            match k[prefix.len()..].find('/') {
                Some(i) => {
                    let folder = format!("{}/", &k[..prefix.len() + i]);
                    if common.last() != Some(&folder) {
                        common.push(folder);
                    }
                }
                None => kept.push(meta),
            }
        }
        found = kept;
    }
    let truncated = found.len() > max_keys;
    found.truncate(max_keys);
    let contents: Vec<Value> = found.iter().map(content_entry).collect();
    let mut out = Map::new();
    out.insert("Contents".into(), Value::Array(contents));
    out.insert("IsTruncated".into(), Value::Bool(truncated));
    out.insert("KeyCount".into(), json!(found.len() + common.len()));
    out.insert("MaxKeys".into(), json!(max_keys));
    out.insert("Name".into(), Value::String(bucket_name.to_owned()));
    out.insert("Prefix".into(), Value::String(prefix.to_owned()));
    if let Some(d) = delimiter {
        out.insert("Delimiter".into(), Value::String(d.to_owned()));
        out.insert(
            "CommonPrefixes".into(),
            Value::Array(common.into_iter().map(|c| json!({"Prefix": c})).collect()),
        );
    }
    if let Some(t) = token {
        out.insert("ContinuationToken".into(), Value::String(t.to_owned()));
    }
    if let Some(s) = start_after {
        out.insert("StartAfter".into(), Value::String(s.to_owned()));
    }
    if truncated {
        if let Some(last) = found.last() {
            out.insert(
                "NextContinuationToken".into(),
                Value::String(last.location.as_ref().to_owned()),
            );
        }
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_map_to_actions() {
        assert_eq!(
            action("arn:aws:states:::aws-sdk:s3:getObject"),
            Some(Action::GetObject)
        );
        assert_eq!(
            action("arn:aws:states:::s3:listObjectsV2"),
            Some(Action::ReadListing)
        );
        assert_eq!(action("arn:aws:states:::aws-sdk:s3:createBucket"), None);
        assert_eq!(action("arn:aws:states:::lambda:invoke"), None);
    }

    #[test]
    fn copy_sources_are_url_decoded() {
        assert_eq!(percent_decode("media/a%20b%2Fc.png"), "media/a b/c.png");
        assert_eq!(percent_decode("media/100%"), "media/100%");
        assert_eq!(percent_decode("m/%zz"), "m/%zz");
    }

    #[test]
    fn folders_of_prefixes() {
        assert_eq!(folder_of(""), None);
        assert_eq!(folder_of("img"), None);
        assert_eq!(folder_of("img/"), Some(Key::from("img")));
        assert_eq!(folder_of("img/2024/a"), Some(Key::from("img/2024")));
    }
}
