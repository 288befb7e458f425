//! Test buckets for the item reader and result writer tests: one named
//! `media` in a temporary local folder, or in moto's S3 server (started on
//! a free loopback port; `pip install "moto[server]"`, which scripts/test
//! installs), each with a raw `object_store` handle to put fixtures and
//! read back what was written.

#![allow(dead_code)]

use std::sync::Arc;

use object_store::path::Path as Key;
use object_store::{ObjectStore, PutPayload};
use statecraft_integrations::s3::Buckets;
pub use statecraft_testsupport::moto::Moto;

/// A configured bucket `media` and the same bucket seen raw.
pub struct Bucket {
    pub buckets: Buckets,
    pub raw: Arc<dyn ObjectStore>,
    _dir: Option<tempfile::TempDir>,
    _moto: Option<Moto>,
    pub kind: &'static str,
    /// The `[integrations]` TOML that configures the bucket.
    pub toml: String,
    /// moto's address, for an S3 bucket.
    pub endpoint: Option<String>,
}

/// The `[integrations]` section of a TOML text.
pub fn integrations(toml_text: &str) -> statecraft_integrations::IntegrationsConfig {
    #[derive(serde::Deserialize)]
    struct Doc {
        integrations: statecraft_integrations::IntegrationsConfig,
    }
    let doc: Doc = toml::from_str(toml_text).unwrap_or_else(|e| panic!("config: {e}"));
    doc.integrations
}

fn buckets(toml_text: &str) -> Buckets {
    #[derive(serde::Deserialize)]
    struct Doc {
        integrations: statecraft_integrations::IntegrationsConfig,
    }
    let doc: Doc = toml::from_str(toml_text).unwrap_or_else(|e| panic!("config: {e}"));
    Buckets::new(&doc.integrations.buckets).unwrap_or_else(|e| panic!("buckets: {e}"))
}

impl Bucket {
    pub fn local() -> Bucket {
        let dir = tempfile::tempdir().expect("tempdir");
        let toml = format!(
            "[integrations.buckets.media]\nurl = \"file://{}\"\n",
            dir.path().display()
        );
        let buckets = buckets(&toml);
        let raw = Arc::new(
            object_store::local::LocalFileSystem::new_with_prefix(dir.path()).expect("local store"),
        );
        Bucket {
            buckets,
            raw,
            _dir: Some(dir),
            _moto: None,
            kind: "local folder",
            toml,
            endpoint: None,
        }
    }

    pub async fn s3() -> Bucket {
        let moto = Moto::start();
        let endpoint = format!("http://127.0.0.1:{}", moto.port);
        let created = reqwest::Client::new()
            .put(format!("{endpoint}/lake-bucket"))
            .send()
            .await
            .expect("create bucket");
        assert!(created.status().is_success(), "{}", created.status());
        let toml = format!(
            "[integrations.buckets.media]\nurl = \"s3://lake-bucket\"\nendpoint = \"{endpoint}\"\nregion = \"us-east-1\"\naccess_key_id = \"testing\"\nsecret_access_key = \"testing\"\n"
        );
        let buckets = buckets(&toml);
        let raw = Arc::new(
            object_store::aws::AmazonS3Builder::new()
                .with_bucket_name("lake-bucket")
                .with_region("us-east-1")
                .with_endpoint(&endpoint)
                .with_allow_http(true)
                .with_access_key_id("testing")
                .with_secret_access_key("testing")
                .build()
                .expect("s3 store"),
        );
        Bucket {
            buckets,
            raw,
            _dir: None,
            _moto: Some(moto),
            kind: "S3 (moto)",
            toml,
            endpoint: Some(endpoint),
        }
    }

    /// The local folder behind the bucket, if it is one.
    pub fn folder(&self) -> Option<&std::path::Path> {
        self._dir.as_ref().map(|d| d.path())
    }

    pub async fn put(&self, key: &str, body: impl Into<Vec<u8>>) {
        self.raw
            .put(&Key::from(key), PutPayload::from(body.into()))
            .await
            .unwrap_or_else(|e| panic!("put {key}: {e}"));
    }

    pub async fn get(&self, key: &str) -> Vec<u8> {
        let got = self
            .raw
            .get(&Key::from(key))
            .await
            .unwrap_or_else(|e| panic!("get {key}: {e}"));
        got.bytes().await.expect("body").to_vec()
    }

    /// Every key under `prefix`, sorted.
    pub async fn keys(&self, prefix: &str) -> Vec<String> {
        use futures_util::StreamExt;
        let p = Key::from(prefix);
        let mut stream = self.raw.list(Some(&p));
        let mut out = Vec::new();
        while let Some(m) = stream.next().await {
            out.push(m.expect("list").location.as_ref().to_owned());
        }
        out.sort();
        out
    }
}
