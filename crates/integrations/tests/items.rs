//! The Distributed Map item readers (`statecraft_integrations::items`) on a
//! local-folder bucket and on a real S3-compatible server (moto's): every
//! InputType, listings, manifests, `MaxItems`, resuming from a cursor, and
//! every bad input with the exact error text; and a large generated object
//! read in a bounded buffer.

mod buckets;

use std::io::Write;

use buckets::Bucket;
use serde_json::{json, Value};
use statecraft_integrations::items::{Cursor, ReadError, ReaderSpec};

const GET: &str = "arn:aws:states:::s3:getObject";
const LIST: &str = "arn:aws:states:::s3:listObjectsV2";

fn spec(resource: &str, parameters: Value, config: Value) -> ReaderSpec {
    ReaderSpec::new(resource, &parameters, &config)
        .unwrap_or_else(|e| panic!("spec {parameters} {config}: {e}"))
}

fn object(key: &str, config: Value) -> ReaderSpec {
    spec(GET, json!({"Bucket": "media", "Key": key}), config)
}

async fn read(b: &Bucket, spec: &ReaderSpec) -> Result<Vec<Value>, ReadError> {
    read_from(b, spec, Cursor::default()).await
}

async fn read_from(b: &Bucket, spec: &ReaderSpec, from: Cursor) -> Result<Vec<Value>, ReadError> {
    let mut items = b.buckets.open_items(spec, from).await?;
    let mut out = Vec::new();
    while let Some(v) = items.next().await? {
        out.push(v);
    }
    Ok(out)
}

/// Reads `n` items, then resumes from the cursor (passed through JSON, as
/// the driver stores it) and reads the rest: the same items as one read.
async fn resumes(b: &Bucket, spec: &ReaderSpec, n: usize) {
    let whole = read(b, spec).await.unwrap_or_else(|e| panic!("{e}"));
    let mut items = b
        .buckets
        .open_items(spec, Cursor::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut got = Vec::new();
    for _ in 0..n {
        got.push(
            items
                .next()
                .await
                .unwrap_or_else(|e| panic!("{e}"))
                .expect("an item"),
        );
    }
    let stored = serde_json::to_string(items.cursor()).expect("cursor to JSON");
    drop(items);
    let cursor: Cursor = serde_json::from_str(&stored).expect("cursor from JSON");
    assert_eq!(cursor.index, n as u64);
    got.extend(
        read_from(b, spec, cursor)
            .await
            .unwrap_or_else(|e| panic!("{e}")),
    );
    assert_eq!(
        got, whole,
        "{}: resumed after {n} items from {stored}",
        b.kind
    );
}

fn gzip(text: &str) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(text.as_bytes()).expect("gzip");
    e.finish().expect("gzip")
}

async fn expect_error(b: &Bucket, spec: &ReaderSpec, name: &str, text: &str) {
    let e = read(b, spec)
        .await
        .err()
        .unwrap_or_else(|| panic!("{}: {spec:?} was read without an error", b.kind));
    assert_eq!(e.to_string(), text, "{}", b.kind);
    assert_eq!(e.error_name(), name, "{}: {text}", b.kind);
    let failure = e.to_failure();
    assert_eq!(
        (failure.error.as_str(), failure.cause.as_str()),
        (name, text)
    );
}

const ITEM_READER_FAILED: &str = "States.ItemReaderFailed";

/// A Parquet file (snappy) of `n` rows `{id, name}` in row groups of
/// `per_group`, written with the parquet crate's own writer.
fn parquet_bytes(n: i64, per_group: i64) -> Vec<u8> {
    use parquet::data_type::{ByteArray, ByteArrayType, Int64Type};
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    let schema = std::sync::Arc::new(
        parquet::schema::parser::parse_message_type(
            "message item { required int64 id; required binary name (UTF8); }",
        )
        .expect("schema"),
    );
    let props = std::sync::Arc::new(
        WriterProperties::builder()
            .set_compression(parquet::basic::Compression::SNAPPY)
            .build(),
    );
    let mut out = Vec::new();
    let mut w = SerializedFileWriter::new(&mut out, schema, props).expect("writer");
    let mut start = 0;
    while start < n {
        let end = (start + per_group).min(n);
        let mut g = w.next_row_group().expect("row group");
        let ids: Vec<i64> = (start..end).collect();
        let names: Vec<ByteArray> = (start..end)
            .map(|i| ByteArray::from(format!("item-{i}").as_str()))
            .collect();
        let mut c = g.next_column().expect("column").expect("id");
        c.typed::<Int64Type>()
            .write_batch(&ids, None, None)
            .expect("ids");
        c.close().expect("close");
        let mut c = g.next_column().expect("column").expect("name");
        c.typed::<ByteArrayType>()
            .write_batch(&names, None, None)
            .expect("names");
        c.close().expect("close");
        g.close().expect("close group");
        start = end;
    }
    w.close().expect("close file");
    out
}

async fn suite(b: &Bucket) {
    // JSON: a top-level array, whatever its layout.
    b.put(
        "in/items.json",
        "[\n  {\"id\": 1, \"tags\": [\"a\", \"b\"]},\n  2, \"three\",\n  [4, 4.5],\n  null, true,\n  {\"nested\": {\"deep\": [1, {\"x\": \"]\"}]}}\n]\n",
    )
    .await;
    let json_items = object("in/items.json", json!({"InputType": "JSON"}));
    assert_eq!(
        read(b, &json_items).await.expect("JSON items"),
        vec![
            json!({"id": 1, "tags": ["a", "b"]}),
            json!(2),
            json!("three"),
            json!([4, 4.5]),
            Value::Null,
            json!(true),
            json!({"nested": {"deep": [1, {"x": "]"}]}}),
        ],
        "{}",
        b.kind
    );
    // InputType defaults to JSON; an empty array has no items.
    b.put("in/empty.json", " [ ] ").await;
    assert_eq!(
        read(b, &object("in/empty.json", Value::Null))
            .await
            .expect("empty"),
        Vec::<Value>::new()
    );
    resumes(b, &json_items, 3).await;
    resumes(b, &json_items, 7).await;

    // JSONL: one value a line; blank lines and CRLF are fine.
    b.put("in/items.jsonl", "{\"n\":1}\r\n\n{\"n\":2}\n[3]\n\"four\"")
        .await;
    let jsonl = object("in/items.jsonl", json!({"InputType": "JSONL"}));
    assert_eq!(
        read(b, &jsonl).await.expect("JSONL"),
        vec![json!({"n": 1}), json!({"n": 2}), json!([3]), json!("four")]
    );
    resumes(b, &jsonl, 2).await;

    // CSV with AWS's rules: quotes hold delimiters and line ends, doubled
    // quotes, backslash escapes, short rows padded, long rows cut.
    b.put(
        "in/rows.csv",
        "name,size,note\r\nalpha,1,plain\n\"be,ta\",2,\"two\nlines \"\"quoted\"\"\"\ngamma,3\ndelta,4,x,extra\nC:\\\\Program Files\\\\app.exe,5,a\\,b\\\"c\\d\n",
    )
    .await;
    let csv = object(
        "in/rows.csv",
        json!({"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"}),
    );
    assert_eq!(
        read(b, &csv).await.expect("CSV"),
        vec![
            json!({"name": "alpha", "size": "1", "note": "plain"}),
            json!({"name": "be,ta", "size": "2", "note": "two\nlines \"quoted\""}),
            json!({"name": "gamma", "size": "3", "note": ""}),
            json!({"name": "delta", "size": "4", "note": "x"}),
            json!({"name": "C:\\Program Files\\app.exe", "size": "5", "note": "a,b\"cd"}),
        ],
        "{}",
        b.kind
    );
    resumes(b, &csv, 1).await;
    resumes(b, &csv, 3).await;

    // A byte order mark (spreadsheet exports) is not part of the first header.
    b.put("in/bom.csv", "\u{feff}id,name\n1,one\n").await;
    assert_eq!(
        read(b, &object("in/bom.csv", json!({"InputType": "CSV"})))
            .await
            .expect("CSV with BOM"),
        vec![json!({"id": "1", "name": "one"})]
    );
    b.put("in/bom.json", "\u{feff}[1, 2]").await;
    assert_eq!(
        read(b, &object("in/bom.json", Value::Null))
            .await
            .expect("JSON with BOM"),
        vec![json!(1), json!(2)]
    );

    // Every delimiter, with headers given.
    for (name, d) in [
        ("COMMA", ","),
        ("PIPE", "|"),
        ("SEMICOLON", ";"),
        ("TAB", "\t"),
        ("SPACE", " "),
    ] {
        let key = format!("in/delim-{name}.csv");
        b.put(&key, format!("1{d}\"a{d}b\"\n2{d}c\n")).await;
        let given = object(
            &key,
            json!({"InputType": "CSV", "CSVHeaderLocation": "GIVEN", "CSVHeaders": ["n", "v"], "CSVDelimiter": name}),
        );
        assert_eq!(
            read(b, &given).await.expect("delimited"),
            vec![
                json!({"n": "1", "v": format!("a{d}b")}),
                json!({"n": "2", "v": "c"})
            ],
            "{name}"
        );
    }

    // Parquet: one object per row, columns by name, resumed by row (whole
    // row groups skipped).
    b.put("in/rows.parquet", parquet_bytes(25, 10)).await;
    let pq = object("in/rows.parquet", json!({"InputType": "PARQUET"}));
    let rows = read(b, &pq).await.expect("Parquet rows");
    assert_eq!(rows.len(), 25, "{}", b.kind);
    assert_eq!(rows[0], json!({"id": 0, "name": "item-0"}));
    assert_eq!(rows[24], json!({"id": 24, "name": "item-24"}));
    resumes(b, &pq, 3).await;
    resumes(b, &pq, 12).await;
    let capped = object(
        "in/rows.parquet",
        json!({"InputType": "PARQUET", "MaxItems": 7}),
    );
    assert_eq!(read(b, &capped).await.expect("capped").len(), 7);

    // MaxItems stops early.
    let capped = object(
        "in/items.jsonl",
        json!({"InputType": "JSONL", "MaxItems": 2}),
    );
    assert_eq!(read(b, &capped).await.expect("capped").len(), 2);

    // Listing: every key under a prefix in S3's key order, AWS's item shape.
    for key in [
        "list/a-b.txt",
        "list/a/1.txt",
        "list/a/2/x.txt",
        "list/b.txt",
        "list/ab.txt",
        "other/z.txt",
    ] {
        b.put(key, "12345").await;
    }
    let listing = spec(
        LIST,
        json!({"Bucket": "media", "Prefix": "list/"}),
        Value::Null,
    );
    let listed = read(b, &listing).await.expect("listing");
    let keys: Vec<&str> = listed.iter().filter_map(|i| i["Key"].as_str()).collect();
    assert_eq!(
        keys,
        [
            "list/a-b.txt",
            "list/a/1.txt",
            "list/a/2/x.txt",
            "list/ab.txt",
            "list/b.txt"
        ],
        "{}",
        b.kind
    );
    let first = listed[0].as_object().expect("an object");
    assert_eq!(
        first.keys().map(String::as_str).collect::<Vec<_>>(),
        ["Etag", "Key", "LastModified", "Size", "StorageClass"]
    );
    assert_eq!(first["Size"], 5);
    assert_eq!(first["StorageClass"], "STANDARD");
    assert!(
        first["LastModified"]
            .as_i64()
            .is_some_and(|t| t > 1_600_000_000),
        "{first:?}"
    );
    assert!(
        first["Etag"]
            .as_str()
            .is_some_and(|t| t.starts_with('"') && t.len() > 2),
        "{first:?}"
    );
    // A string prefix, not only a folder.
    let a = spec(
        LIST,
        json!({"Bucket": "media", "Prefix": "list/a"}),
        Value::Null,
    );
    assert_eq!(read(b, &a).await.expect("prefix list/a").len(), 4);
    resumes(b, &listing, 2).await;
    let none = spec(
        LIST,
        json!({"Bucket": "media", "Prefix": "nothing/here/"}),
        Value::Null,
    );
    assert_eq!(
        read(b, &none).await.expect("empty listing"),
        Vec::<Value>::new()
    );

    // S3 Inventory: manifest.json listing CSV and CSV.gz files.
    b.put(
        "inv/data/1.csv",
        "\"src\",\"photos/a.jpg\",\"100\"\n\"src\",\"photos/b.jpg\",\"200\"\n",
    )
    .await;
    b.put("inv/data/2.csv.gz", gzip("\"src\",\"photos/c.jpg\",\"300\"\n\"src\",\"photos/d.jpg\",\"400\"\n\"src\",\"photos/e.jpg\",\"500\"\n")).await;
    b.put(
        "inv/manifest.json",
        json!({
            "sourceBucket": "src",
            "destinationBucket": "arn:aws:s3:::media",
            "version": "2016-11-30",
            "fileFormat": "CSV",
            "fileSchema": "Bucket, Key, Size",
            "files": [{"key": "inv/data/1.csv", "size": 10}, {"key": "inv/data/2.csv.gz", "size": 10}]
        })
        .to_string(),
    )
    .await;
    let inventory = object("inv/manifest.json", json!({"InputType": "MANIFEST"}));
    let inv = read(b, &inventory).await.expect("inventory");
    assert_eq!(inv.len(), 5);
    assert_eq!(
        inv[0],
        json!({"Bucket": "src", "Key": "photos/a.jpg", "Size": "100"})
    );
    assert_eq!(
        inv[4],
        json!({"Bucket": "src", "Key": "photos/e.jpg", "Size": "500"})
    );
    resumes(b, &inventory, 1).await;
    resumes(b, &inventory, 3).await;
    let explicit = object(
        "inv/manifest.json",
        json!({"InputType": "MANIFEST", "ManifestType": "S3_INVENTORY"}),
    );
    assert_eq!(read(b, &explicit).await.expect("inventory"), inv);

    // Athena: a manifest of data files, each read with the InputType given.
    b.put("athena/q1/part-0.jsonl", "{\"r\":1}\n{\"r\":2}\n")
        .await;
    b.put("athena/q1/part-1.jsonl.gz", gzip("{\"r\":3}\n"))
        .await;
    b.put(
        "athena/q1-manifest.csv",
        "s3://media/athena/q1/part-0.jsonl\ns3://media/athena/q1/part-1.jsonl.gz\n",
    )
    .await;
    let athena = object(
        "athena/q1-manifest.csv",
        json!({"InputType": "JSONL", "ManifestType": "ATHENA_DATA"}),
    );
    assert_eq!(
        read(b, &athena).await.expect("athena"),
        vec![json!({"r": 1}), json!({"r": 2}), json!({"r": 3})]
    );
    resumes(b, &athena, 2).await;

    // Athena's UNLOAD writes Parquet by default.
    b.put("athena/q2/part-0.parquet", parquet_bytes(3, 2)).await;
    b.put("athena/q2/part-1.parquet", parquet_bytes(2, 2)).await;
    b.put(
        "athena/q2-manifest.csv",
        "s3://media/athena/q2/part-0.parquet\ns3://media/athena/q2/part-1.parquet\n",
    )
    .await;
    let athena_pq = object(
        "athena/q2-manifest.csv",
        json!({"InputType": "PARQUET", "ManifestType": "ATHENA_DATA"}),
    );
    let ids: Vec<i64> = read(b, &athena_pq)
        .await
        .expect("athena parquet")
        .iter()
        .filter_map(|r| r["id"].as_i64())
        .collect();
    assert_eq!(ids, [0, 1, 2, 0, 1]);
    resumes(b, &athena_pq, 4).await;

    // Bad input: AWS's names, the object and the line in the cause.
    b.put("bad/object.json", "\n{\"a\": [1, 2]}").await;
    expect_error(
        b,
        &object("bad/object.json", json!({"InputType": "JSON"})),
        ITEM_READER_FAILED,
        "s3://media/bad/object.json line 2: the JSON is an object, not an array of items (InputType JSON needs a top-level array)",
    )
    .await;
    b.put("bad/item.json", "[1,\n2,\n{\"a\": }]").await;
    expect_error(
        b,
        &object("bad/item.json", json!({"InputType": "JSON"})),
        ITEM_READER_FAILED,
        "s3://media/bad/item.json line 3: an item is not valid JSON: expected value",
    )
    .await;
    b.put("bad/open.json", "[1, 2,\n 3").await;
    expect_error(
        b,
        &object("bad/open.json", json!({"InputType": "JSON"})),
        ITEM_READER_FAILED,
        "s3://media/bad/open.json line 2: the JSON array is not closed: the object ends inside it",
    )
    .await;
    b.put("bad/after.json", "[1]\n[2]").await;
    expect_error(
        b,
        &object("bad/after.json", json!({"InputType": "JSON"})),
        ITEM_READER_FAILED,
        "s3://media/bad/after.json line 2: unexpected content after the end of the JSON array",
    )
    .await;
    b.put("bad/empty.json", "").await;
    expect_error(
        b,
        &object("bad/empty.json", json!({"InputType": "JSON"})),
        ITEM_READER_FAILED,
        "s3://media/bad/empty.json line 1: the object is empty, not a JSON array of items",
    )
    .await;
    b.put("bad/not.parquet", "id,name\n1,one\n").await;
    expect_error(
        b,
        &object("bad/not.parquet", json!({"InputType": "PARQUET"})),
        ITEM_READER_FAILED,
        "s3://media/bad/not.parquet: the object is not a readable Parquet file: Invalid Parquet file. Corrupt footer",
    )
    .await;
    b.put(
        "bad/lines.jsonl",
        "{\"n\":1}\n{\"n\":2}\nnot json\n{\"n\":4}\n",
    )
    .await;
    expect_error(
        b,
        &object("bad/lines.jsonl", json!({"InputType": "JSONL"})),
        ITEM_READER_FAILED,
        "s3://media/bad/lines.jsonl line 3: the line is not JSON: expected ident",
    )
    .await;
    b.put("bad/quote.csv", "a,b\n1,2\n3,\"open\nstill open\n")
        .await;
    expect_error(
        b,
        &object("bad/quote.csv", json!({"InputType": "CSV"})),
        ITEM_READER_FAILED,
        "s3://media/bad/quote.csv line 3: a quoted CSV field is not closed before the end of the object",
    )
    .await;
    b.put("bad/dup.csv", "a,b,a\n1,2,3\n").await;
    expect_error(
        b,
        &object("bad/dup.csv", json!({"InputType": "CSV"})),
        ITEM_READER_FAILED,
        "s3://media/bad/dup.csv line 1: CSV headers cannot contain duplicates.",
    )
    .await;
    b.put("bad/wide.csv", format!("{}\n1\n", "h".repeat(11 * 1024)))
        .await;
    expect_error(
        b,
        &object("bad/wide.csv", json!({"InputType": "CSV"})),
        ITEM_READER_FAILED,
        "s3://media/bad/wide.csv line 1: the CSV header row is longer than 10240 bytes, the most AWS reads",
    )
    .await;
    b.put("bad/noheader.csv", "\n\n").await;
    expect_error(
        b,
        &object("bad/noheader.csv", json!({"InputType": "CSV"})),
        ITEM_READER_FAILED,
        "s3://media/bad/noheader.csv line 1: the CSV object is empty: it has no header row",
    )
    .await;
    b.put(
        "bad/athena.csv",
        "s3://media/athena/q1/part-0.jsonl\nnot a uri\n",
    )
    .await;
    expect_error(
        b,
        &object("bad/athena.csv", json!({"InputType": "JSONL", "ManifestType": "ATHENA_DATA"})),
        ITEM_READER_FAILED,
        "s3://media/bad/athena.csv line 2: the Athena manifest line \"not a uri\" is not an s3://bucket/key URI",
    )
    .await;
    b.put("bad/inventory.json", json!({"fileFormat": "ORC", "fileSchema": "Bucket, Key", "destinationBucket": "arn:aws:s3:::media", "files": []}).to_string()).await;
    expect_error(
        b,
        &object("bad/inventory.json", json!({"InputType": "MANIFEST"})),
        ITEM_READER_FAILED,
        "s3://media/bad/inventory.json line 1: the S3 Inventory is in ORC; Step Functions reads CSV inventories only",
    )
    .await;
    expect_error(
        b,
        &object("no/such/key.json", json!({"InputType": "JSON"})),
        "S3.NoSuchKeyException",
        "The specified key does not exist: s3://media/no/such/key.json",
    )
    .await;
    expect_error(
        b,
        &spec(
            GET,
            json!({"Bucket": "nope", "Key": "a.json"}),
            json!({"InputType": "JSON"}),
        ),
        "S3.NoSuchBucketException",
        "The specified bucket does not exist: nope",
    )
    .await;
    expect_error(
        b,
        &spec(LIST, json!({"Bucket": "nope"}), Value::Null),
        "S3.NoSuchBucketException",
        "The specified bucket does not exist: nope",
    )
    .await;
    // A manifest naming a file that is not there.
    b.put("inv/broken.json", json!({"fileFormat": "CSV", "fileSchema": "Bucket, Key", "destinationBucket": "arn:aws:s3:::media", "files": [{"key": "inv/data/gone.csv"}]}).to_string()).await;
    expect_error(
        b,
        &object("inv/broken.json", json!({"InputType": "MANIFEST"})),
        "S3.NoSuchKeyException",
        "The specified key does not exist: s3://media/inv/data/gone.csv",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_from_a_local_folder_bucket() {
    suite(&Bucket::local()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_from_an_s3_compatible_bucket() {
    suite(&Bucket::s3().await).await;
}

#[test]
fn bad_reader_configs_say_what_is_wrong() {
    let cases = [
        (GET, json!({"Bucket": "media", "Key": "a"}), json!({"InputType": "XML"}),
            "The ReaderConfig InputType 'XML' is not supported: use JSON, JSONL, CSV, PARQUET or MANIFEST"),
        (GET, json!({"Bucket": "media", "Key": "a"}), json!({"InputType": "CSV", "CSVDelimiter": "COLON"}),
            "The ReaderConfig CSVDelimiter 'COLON' is not supported: use COMMA, PIPE, SEMICOLON, SPACE or TAB"),
        (GET, json!({"Bucket": "media", "Key": "a"}), json!({"InputType": "CSV", "CSVHeaderLocation": "GIVEN"}),
            "CSVHeaderLocation GIVEN needs CSVHeaders, an array of strings"),
        (GET, json!({"Bucket": "media", "Key": "a"}), json!({"InputType": "CSV", "CSVHeaderLocation": "GIVEN", "CSVHeaders": ["a", "a"]}),
            "CSV headers cannot contain duplicates."),
        (GET, json!({"Bucket": "media", "Key": "a"}), json!({"InputType": "MANIFEST", "ManifestType": "ATHENA_DATA"}),
            "ManifestType ATHENA_DATA takes the data files' InputType (CSV, JSONL, JSON or PARQUET), not MANIFEST"),
        (GET, json!({"Bucket": "media", "Key": "a"}), json!({"MaxItems": -1}),
            "MaxItems must be a non-negative integer, but was -1"),
        (GET, json!({"Bucket": "media"}), json!({}), "The ItemReader Parameters field Key is required"),
        (GET, json!({"Key": "a"}), json!({}), "The ItemReader Parameters field Bucket is required"),
        ("arn:aws:states:::s3:putObject", json!({"Bucket": "media"}), json!({}),
            "The ItemReader Resource arn:aws:states:::s3:putObject is not supported: use arn:aws:states:::s3:getObject or arn:aws:states:::s3:listObjectsV2"),
    ];
    for (resource, parameters, config, want) in cases {
        let e = ReaderSpec::new(resource, &parameters, &config)
            .err()
            .unwrap_or_else(|| panic!("{config} accepted"));
        assert_eq!(e.to_string(), want);
        assert_eq!(e.error_name(), ITEM_READER_FAILED);
    }
}

/// A 200 MB JSONL object (and 64 MB JSON and CSV ones): their first items
/// come from a buffer of a few chunks, not from the whole object in memory
/// (a 5 GB object reads the same way).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_object_is_streamed_not_held() {
    let b = Bucket::local();
    let folder = b.folder().expect("a local folder");
    let pad = "x".repeat(180);
    // The same records as JSON Lines, as one JSON array and as CSV rows.
    let shapes: [(&str, &str, &str, &str, u64); 3] = [
        ("big.jsonl", "", "\n", "", 200 << 20),
        ("big.json", "[", ",\n", "]", 64 << 20),
        ("big.csv", "id,pad\n", "\n", "", 64 << 20),
    ];
    for (key, head, sep, tail, size) in shapes {
        let file = std::fs::File::create(folder.join(key)).expect("create");
        let mut w = std::io::BufWriter::new(file);
        w.write_all(head.as_bytes()).expect("write");
        let mut i = 0u64;
        let mut written = 0u64;
        while written < size {
            let record = if key.ends_with(".csv") {
                format!("{i},{pad}")
            } else {
                format!("{{\"id\":{i},\"pad\":\"{pad}\"}}")
            };
            if i > 0 {
                w.write_all(sep.as_bytes()).expect("write");
            }
            w.write_all(record.as_bytes()).expect("write");
            written += record.len() as u64 + 1;
            i += 1;
        }
        w.write_all(tail.as_bytes()).expect("write");
        w.flush().expect("flush");
    }
    for (key, config) in [
        ("big.jsonl", json!({"InputType": "JSONL"})),
        ("big.json", json!({"InputType": "JSON"})),
        ("big.csv", json!({"InputType": "CSV"})),
    ] {
        let spec = object(key, config);
        let mut items = b
            .buckets
            .open_items(&spec, Cursor::default())
            .await
            .expect("open");
        for i in 0..10 {
            let item = items.next().await.expect("read").expect("an item");
            let id = item["id"]
                .as_u64()
                .or_else(|| item["id"].as_str().and_then(|s| s.parse().ok()));
            assert_eq!(id, Some(i), "{key}");
        }
        assert!(
            items.peak_buffered() < 1 << 20,
            "the reader held {} bytes of a 200 MB object",
            items.peak_buffered()
        );
        // Resuming in the middle seeks to the byte offset: only the rest is read.
        let cursor = items.cursor().clone();
        assert!(cursor.offset.is_some_and(|o| o > 0), "{cursor:?}");
        let mut resumed = b.buckets.open_items(&spec, cursor).await.expect("resume");
        let next = resumed.next().await.expect("read").expect("an item");
        assert!(next["id"] == 10 || next["id"] == "10", "{key}: {next}");
        assert!(resumed.peak_buffered() < 1 << 20);
    }
}

/// A listing of more keys than one S3 page (1,000) comes in key order, page
/// after page, and resumes after the last key handed out.
async fn long_listing(b: &Bucket) {
    use futures_util::StreamExt;
    let keys: Vec<String> = (0..2500)
        .map(|i| format!("many/{:02}/k{i:05}", i % 37))
        .collect();
    futures_util::stream::iter(keys.iter())
        .for_each_concurrent(32, |k| b.put(k, "x"))
        .await;
    let mut want = keys.clone();
    want.sort();
    let listing = spec(
        LIST,
        json!({"Bucket": "media", "Prefix": "many/"}),
        Value::Null,
    );
    let got: Vec<String> = read(b, &listing)
        .await
        .expect("listing")
        .iter()
        .filter_map(|i| i["Key"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(got, want, "{}", b.kind);
    resumes(b, &listing, 1700).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listing_longer_than_a_page_is_read_in_order() {
    long_listing(&Bucket::local()).await;
    long_listing(&Bucket::s3().await).await;
}

/// `VersionId` reads that version of an S3 object (moto with versioning on);
/// a local folder keeps one version and says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_id_reads_that_version() {
    let b = Bucket::s3().await;
    let endpoint = b.endpoint.clone().expect("moto's address");
    let on = reqwest::Client::new()
        .put(format!("{endpoint}/lake-bucket?versioning"))
        .body("<VersioningConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Status>Enabled</Status></VersioningConfiguration>")
        .send()
        .await
        .expect("versioning");
    assert!(on.status().is_success(), "{}", on.status());
    let first = b
        .raw
        .put(
            &object_store::path::Path::from("v/items.jsonl"),
            object_store::PutPayload::from("{\"v\":1}\n{\"v\":1.5}\n"),
        )
        .await
        .expect("put")
        .version
        .expect("a version id");
    b.put("v/items.jsonl", "{\"v\":2}\n").await;
    let at = |version: Option<&str>| {
        let mut p = json!({"Bucket": "media", "Key": "v/items.jsonl"});
        if let Some(v) = version {
            p["VersionId"] = json!(v);
        }
        spec(GET, p, json!({"InputType": "JSONL"}))
    };
    assert_eq!(
        read(&b, &at(None)).await.expect("latest"),
        vec![json!({"v": 2})]
    );
    let old = at(Some(&first));
    assert_eq!(
        read(&b, &old).await.expect("first version"),
        vec![json!({"v": 1}), json!({"v": 1.5})]
    );
    resumes(&b, &old, 1).await;

    let local = Bucket::local();
    local.put("v/items.jsonl", "{\"v\":1}\n").await;
    expect_error(
        &local,
        &at(Some("3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY")),
        ITEM_READER_FAILED,
        "VersionId needs an S3 bucket: media is a local folder, which keeps one version of an object",
    )
    .await;
}
