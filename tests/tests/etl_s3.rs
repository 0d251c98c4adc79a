//! The ETL's storage and catalog layer against the emulator (moto): S3 listing and globs,
//! streaming multipart writes and ranged read-ahead, aborts that leave nothing behind, the
//! atomic publish, and the Glue catalog as a source and as the output's registry.

#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::time::Duration;

use aws_sdk_glue::types::{
    Column, DatabaseInput, PartitionInput, SerDeInfo, StorageDescriptor, TableInput,
};
use gluepipe_etl::catalog::{Catalog, CatalogError, OutputTable, Registration};
use gluepipe_etl::storage::hive;
use gluepipe_etl::storage::{
    AwsClients, AwsOptions, Publisher, ReadOptions, Store, resolve_catalog_inputs, resolve_inputs,
};
use gluepipe_spec::pipeline::{Compression, WriteMode};
use gluepipe_spec::{GlueType, Location, parse_glue_type};
use gluepipe_tests::Emulator;

const BUCKET: &str = "gluepipe-data";

/// Emulators running at once: each test has its own, but seven moto servers starting together
/// on a busy two-core machine can miss the start-up deadline.
static EMULATORS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(3);

struct Bench {
    emu: Emulator,
    aws: AwsClients,
    s3: aws_sdk_s3::Client,
    _slot: tokio::sync::SemaphorePermit<'static>,
}

async fn bench() -> Bench {
    let slot = EMULATORS.acquire().await.unwrap();
    let emu = Emulator::start().unwrap();
    let aws = AwsClients::from_sdk_config(
        emu.sdk_config().await,
        AwsOptions::with_endpoint(Some(emu.endpoint().into())),
    );
    let s3 = emu.s3().await;
    s3.create_bucket().bucket(BUCKET).send().await.unwrap();
    Bench {
        emu,
        aws,
        s3,
        _slot: slot,
    }
}

impl Bench {
    async fn store(&self, uri: &str) -> Store {
        Store::at(&Location::parse(uri).unwrap(), &self.aws)
            .await
            .unwrap()
    }

    async fn put(&self, key: &str, body: &[u8]) {
        self.s3
            .put_object()
            .bucket(BUCKET)
            .key(key)
            .body(body.to_vec().into())
            .send()
            .await
            .unwrap();
    }

    /// Every key in the bucket, sorted.
    async fn keys(&self) -> Vec<String> {
        gluepipe_tests::s3::keys(&self.s3, BUCKET, "")
            .await
            .unwrap()
    }

    /// Keys of multipart uploads neither completed nor aborted.
    async fn pending_uploads(&self) -> Vec<String> {
        gluepipe_tests::s3::pending_uploads(&self.s3, BUCKET)
            .await
            .unwrap()
    }

    async fn get(&self, key: &str) -> Vec<u8> {
        let out = self
            .s3
            .get_object()
            .bucket(BUCKET)
            .key(key)
            .send()
            .await
            .unwrap();
        out.body.collect().await.unwrap().into_bytes().to_vec()
    }
}

/// Deterministic, non-repeating-looking bytes, so a misplaced range shows.
fn pattern(len: usize) -> Vec<u8> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect()
}

/// Writes `data` in uneven slices, as an encoder would, on a blocking thread.
async fn write_object(
    store: &Store,
    key: &str,
    data: Vec<u8>,
) -> gluepipe_etl::storage::WrittenObject {
    let (store, key) = (store.clone(), key.to_string());
    tokio::task::spawn_blocking(move || {
        let mut writer = store.create(&key).unwrap();
        for slice in data.chunks(1_000_003) {
            writer.write_all(slice).unwrap();
        }
        writer.finish().unwrap()
    })
    .await
    .unwrap()
}

async fn read_object(store: &Store, key: &str) -> std::io::Result<Vec<u8>> {
    let (store, key) = (store.clone(), key.to_string());
    tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        store.open(&key)?.read_to_end(&mut out)?;
        Ok(out)
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_multipart_round_trip_and_aborts_leave_nothing() {
    let b = bench().await;
    // Small ranges so the reader runs many GETs, several at once.
    let store = b
        .store(&format!("s3://{BUCKET}/objects/"))
        .await
        .with_read_options(ReadOptions {
            chunk_size: 3 << 20,
            concurrency: 3,
            attempts: 3,
        });

    // > 16 MiB: three 8 MiB-or-less parts, streamed while writing.
    let data = pattern((20 << 20) + 12_345);
    let written = write_object(&store, "big.bin", data.clone()).await;
    assert_eq!(written.bytes, data.len() as u64);
    assert_eq!(written.uri, format!("s3://{BUCKET}/objects/big.bin"));
    let head =
        b.s3.head_object()
            .bucket(BUCKET)
            .key("objects/big.bin")
            .send()
            .await
            .unwrap();
    assert_eq!(head.content_length(), Some(data.len() as i64));
    assert!(
        head.e_tag().unwrap().ends_with("-3\""),
        "a 3-part multipart upload: {:?}",
        head.e_tag()
    );
    assert!(b.pending_uploads().await.is_empty());
    assert!(
        b.get("objects/big.bin").await == data,
        "S3 holds exactly what was written"
    );
    assert!(
        read_object(&store, "big.bin").await.unwrap() == data,
        "the ranged reader returns it in order"
    );

    // Read with the listing's metadata (no HEAD), directly from a runtime worker.
    let listed = store.list("").await.unwrap();
    assert_eq!(listed.len(), 1);
    let mut via_listing = Vec::new();
    store
        .open_object(&listed[0])
        .unwrap()
        .read_to_end(&mut via_listing)
        .unwrap();
    assert!(via_listing == data);

    // Small objects are a single PUT; empty objects work too.
    let small = write_object(&store, "small.json", b"{\"a\": 1}\n".to_vec()).await;
    assert_eq!(small.bytes, 9);
    let head =
        b.s3.head_object()
            .bucket(BUCKET)
            .key("objects/small.json")
            .send()
            .await
            .unwrap();
    assert!(
        !head.e_tag().unwrap().contains('-'),
        "single PUT: {:?}",
        head.e_tag()
    );
    write_object(&store, "empty.json", Vec::new()).await;
    assert_eq!(read_object(&store, "empty.json").await.unwrap(), b"");

    // A writer dropped after parts went out, and one aborted: no object, no pending upload.
    let before = b.keys().await;
    let s = store.clone();
    tokio::task::spawn_blocking(move || {
        let mut dropped = s.create("dropped.bin").unwrap();
        dropped.write_all(&pattern(17 << 20)).unwrap();
        drop(dropped);
        let mut aborted = s.create("aborted.bin").unwrap();
        aborted.write_all(&pattern(9 << 20)).unwrap();
        aborted.abort();
        let mut tiny = s.create("tiny.bin").unwrap();
        tiny.write_all(b"x").unwrap();
    })
    .await
    .unwrap();
    assert_eq!(b.keys().await, before);
    assert!(
        b.pending_uploads().await.is_empty(),
        "{:?}",
        b.pending_uploads().await
    );

    // An object replaced while being read fails instead of mixing versions.
    let stale = store.head("small.json").await.unwrap().unwrap();
    b.put("objects/small.json", b"{\"a\": 2}\n").await;
    let s = store.clone();
    let err = tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        s.open_object(&stale)
            .unwrap()
            .read_to_end(&mut out)
            .unwrap_err()
    })
    .await
    .unwrap();
    assert!(
        err.to_string().contains("replaced while it was being read"),
        "{err}"
    );

    // Missing objects name themselves.
    let err = read_object(&store, "missing.bin").await.unwrap_err();
    assert!(
        err.to_string()
            .contains(&format!("s3://{BUCKET}/objects/missing.bin")),
        "{err}"
    );

    // Copy, rename and delete.
    store.copy("small.json", "copies/one.json").await.unwrap();
    store
        .rename("copies/one.json", "copies/two.json")
        .await
        .unwrap();
    assert_eq!(
        store.get_bytes("copies/two.json").await.unwrap(),
        b"{\"a\": 2}\n"
    );
    assert!(store.head("copies/one.json").await.unwrap().is_none());
    store
        .delete_many(&["copies/two.json".into(), "never-was.json".into()])
        .await
        .unwrap();
    assert_eq!(
        b.keys().await,
        [
            "objects/big.bin",
            "objects/empty.json",
            "objects/small.json"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_inputs_from_prefixes_objects_and_globs() {
    let b = bench().await;
    for key in [
        "raw/a.json",
        "raw/b.json.gz",
        "raw/notes.txt",
        "raw/_SUCCESS",
        "raw/.tmp.json",
        "raw/folder/",
        "raw/day=1/c.json",
        "raw/day=2/d.json",
        "raw/day=2/_tmp/e.json",
        "raw2/z.json",
    ] {
        b.put(key, b"{}\n").await;
    }
    let names = |inputs: &[&str]| {
        let inputs: Vec<String> = inputs
            .iter()
            .map(|i| format!("s3://{BUCKET}/{i}"))
            .collect();
        let aws = &b.aws;
        async move {
            let files = resolve_inputs(&inputs, aws).await?;
            Ok::<_, anyhow::Error>(
                files
                    .iter()
                    .map(|f| {
                        f.uri()
                            .trim_start_matches(&format!("s3://{BUCKET}/"))
                            .to_string()
                    })
                    .collect::<Vec<_>>(),
            )
        }
    };
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["raw/"],
            &[
                "raw/a.json",
                "raw/b.json.gz",
                "raw/day=1/c.json",
                "raw/day=2/d.json",
                "raw/notes.txt",
            ],
        ),
        // Without the slash: not an object, so the folder (and not `raw2/`).
        (
            &["raw"],
            &[
                "raw/a.json",
                "raw/b.json.gz",
                "raw/day=1/c.json",
                "raw/day=2/d.json",
                "raw/notes.txt",
            ],
        ),
        (&["raw/a.json"], &["raw/a.json"]),
        (&["raw/*.json"], &["raw/a.json"]),
        (
            &["raw/**/*.json"],
            &["raw/a.json", "raw/day=1/c.json", "raw/day=2/d.json"],
        ),
        (
            &["raw/day=*/*.json"],
            &["raw/day=1/c.json", "raw/day=2/d.json"],
        ),
        (&["raw/day=[2]/_tmp/*"], &["raw/day=2/_tmp/e.json"]),
        (&["raw*/*.json"], &["raw/a.json", "raw2/z.json"]),
        (&["raw/_SUCCESS"], &["raw/_SUCCESS"]),
        (
            &["raw2/", "raw/a.json", "raw2/z.json"],
            &["raw2/z.json", "raw/a.json"],
        ),
    ];
    for (inputs, want) in cases {
        assert_eq!(names(inputs).await.unwrap(), *want, "{inputs:?}");
    }
    let files = resolve_inputs(&[format!("s3://{BUCKET}/raw/a.json")], &b.aws)
        .await
        .unwrap();
    assert_eq!(files[0].size(), 3);

    for (input, message) in [
        (
            "raw/*.csv",
            "no input files match s3://gluepipe-data/raw/*.csv",
        ),
        (
            "nothing/",
            "no input files match s3://gluepipe-data/nothing/",
        ),
        (
            "raw/nothing.json",
            "no input files match s3://gluepipe-data/raw/nothing.json",
        ),
    ] {
        let err = names(&[input]).await.unwrap_err().to_string();
        assert!(err.contains(message), "{input}: {err}");
    }
    let err = resolve_inputs(&["s3://no-such-bucket/x/".to_string()], &b.aws)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("bucket 'no-such-bucket' does not exist"),
        "{err}"
    );
}

async fn stage(publisher: &Publisher, files: Vec<(&'static str, Vec<u8>)>) {
    let writers: Vec<_> = files
        .iter()
        .map(|(key, _)| publisher.create(key).unwrap())
        .collect();
    tokio::task::spawn_blocking(move || {
        for (mut writer, (_, data)) in writers.into_iter().zip(files) {
            writer.write_all(&data).unwrap();
            writer.finish().unwrap();
        }
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_atomic_publish() {
    let b = bench().await;
    let target = format!("s3://{BUCKET}/curated/orders/");
    b.put("curated/orders/day=1/old.parquet", b"old").await;
    b.put("curated/orders/_gluepipe/dq/history.json", b"[]")
        .await;

    // An earlier run's file; `day=1/old.parquet` is another tool's.
    let earlier = Publisher::new(b.store(&target).await, "run-0", WriteMode::Append).unwrap();
    stage(
        &earlier,
        vec![("day=1/part-run-0-0.parquet", b"zero".to_vec())],
    )
    .await;
    earlier.commit(serde_json::Value::Null).await.unwrap();
    let before = b.keys().await;

    // Overwrite: nothing of the run is visible until commit; then the new files, the earlier
    // run's gone (another tool's kept), gluepipe's folder kept, the manifest last, no upload
    // left pending.
    let publisher = Publisher::new(b.store(&target).await, "run-1", WriteMode::Overwrite).unwrap();
    stage(
        &publisher,
        vec![
            ("day=1/part-run-1-0.parquet", pattern(9 << 20)),
            ("day=2/part-run-1-0.parquet", b"two".to_vec()),
        ],
    )
    .await;
    assert_eq!(b.keys().await, before, "staged files are invisible");
    assert_eq!(
        b.pending_uploads().await.len(),
        2,
        "held back as incomplete multipart uploads"
    );
    let published = publisher
        .commit(serde_json::json!({"rows_written": 3}))
        .await
        .unwrap();
    assert_eq!(
        b.keys().await,
        [
            "curated/orders/_gluepipe/dq/history.json",
            "curated/orders/_gluepipe/manifests/run-0.json",
            "curated/orders/_gluepipe/manifests/run-1.json",
            "curated/orders/day=1/old.parquet",
            "curated/orders/day=1/part-run-1-0.parquet",
            "curated/orders/day=2/part-run-1-0.parquet",
        ]
    );
    assert!(b.pending_uploads().await.is_empty());
    assert!(b.get("curated/orders/day=1/part-run-1-0.parquet").await == pattern(9 << 20));
    assert_eq!(
        published.removed,
        [format!("{target}day=1/part-run-0-0.parquet")]
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&b.get("curated/orders/_gluepipe/manifests/run-1.json").await)
            .unwrap();
    assert_eq!(
        manifest["files"][1]["path"],
        format!("{target}day=2/part-run-1-0.parquet")
    );
    assert_eq!(manifest["files"][1]["bytes"], 3);
    assert_eq!(manifest["run"]["rows_written"], 3);

    // A failed run (abort), and one that just returns early (drop): nothing visible, nothing pending.
    let before = b.keys().await;
    let publisher = Publisher::new(b.store(&target).await, "run-2", WriteMode::Overwrite).unwrap();
    stage(
        &publisher,
        vec![("day=3/part-run-2-0.parquet", pattern(6 << 20))],
    )
    .await;
    publisher.abort().await.unwrap();
    let publisher = Publisher::new(b.store(&target).await, "run-3", WriteMode::Append).unwrap();
    stage(
        &publisher,
        vec![("day=3/part-run-3-0.parquet", b"x".to_vec())],
    )
    .await;
    tokio::task::spawn_blocking(move || drop(publisher))
        .await
        .unwrap();
    assert_eq!(b.keys().await, before);
    assert!(b.pending_uploads().await.is_empty());

    // A commit that fails half-way takes back what it had published: one staged upload is
    // aborted behind the publisher's back, so completing it fails.
    let publisher = Publisher::new(b.store(&target).await, "run-4", WriteMode::Overwrite).unwrap();
    let files: Vec<(&'static str, Vec<u8>)> = (0..6)
        .map(|i| {
            (
                ["a", "b", "c", "d", "e", "f"][i],
                format!("file {i}").into_bytes(),
            )
        })
        .collect();
    stage(&publisher, files).await;
    let uploads =
        b.s3.list_multipart_uploads()
            .bucket(BUCKET)
            .send()
            .await
            .unwrap();
    let victim = uploads
        .uploads()
        .iter()
        .find(|u| u.key() == Some("curated/orders/d"))
        .unwrap();
    b.s3.abort_multipart_upload()
        .bucket(BUCKET)
        .key("curated/orders/d")
        .upload_id(victim.upload_id().unwrap())
        .send()
        .await
        .unwrap();
    let err = publisher.commit(serde_json::Value::Null).await.unwrap_err();
    assert!(err.to_string().contains("curated/orders/d"), "{err}");
    assert_eq!(
        b.keys().await,
        before,
        "the earlier files are intact and none of the run's is visible"
    );
    assert!(b.pending_uploads().await.is_empty());

    // What a killed run leaves (an incomplete upload) is swept; another tool's uploads, below
    // the target or not, are not. (moto reports every upload as initiated in 2010, so the age
    // filter is covered by the unit tests, not here.)
    for key in [
        "curated/orders/day=9/part-killed-00000.snappy.parquet",
        "curated/orders/other-tool.bin",
        "elsewhere/not-ours.parquet",
    ] {
        b.s3.create_multipart_upload()
            .bucket(BUCKET)
            .key(key)
            .send()
            .await
            .unwrap();
    }
    let store = b.store(&target).await;
    assert_eq!(
        Publisher::sweep_abandoned(&store, Duration::from_secs(24 * 3600))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        b.pending_uploads().await,
        [
            "curated/orders/other-tool.bin",
            "elsewhere/not-ours.parquet"
        ],
        "only gluepipe's, only below the target"
    );
}

fn column(name: &str, ty: &str) -> Column {
    Column::builder().name(name).r#type(ty).build().unwrap()
}

const ORDER_COLUMNS: &[(&str, &str)] = &[
    ("order_id", "bigint"),
    ("amount", "decimal(12,2)"),
    ("placed_at", "timestamp"),
    ("tags", "array<string>"),
    (
        "address",
        "struct<street:string,city:string,geo:struct<lat:double,lon:double>>",
    ),
    (
        "items",
        "array<struct<sku:string,qty:int,price:decimal(10,2)>>",
    ),
    ("attributes", "map<string,string>"),
];

async fn create_source_table(glue: &aws_sdk_glue::Client, partitioned: bool) {
    glue.create_database()
        .database_input(DatabaseInput::builder().name("raw").build().unwrap())
        .send()
        .await
        .unwrap();
    let sd = StorageDescriptor::builder()
        .location(format!("s3://{BUCKET}/raw/orders/"))
        .set_columns(Some(
            ORDER_COLUMNS.iter().map(|(n, t)| column(n, t)).collect(),
        ))
        .input_format("org.apache.hadoop.mapred.TextInputFormat")
        .output_format("org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat")
        .serde_info(
            SerDeInfo::builder()
                .serialization_library("org.openx.data.jsonserde.JsonSerDe")
                .parameters("paths", "order_id")
                .build(),
        )
        .build();
    let mut table = TableInput::builder()
        .name(if partitioned {
            "orders_json"
        } else {
            "orders_flat"
        })
        .table_type("EXTERNAL_TABLE")
        .parameters("classification", "json")
        .storage_descriptor(sd);
    if partitioned {
        table = table
            .partition_keys(column("dt", "string"))
            .partition_keys(column("region", "string"));
    }
    glue.create_table()
        .database_name("raw")
        .table_input(table.build().unwrap())
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn glue_catalog_table_as_source() {
    let b = bench().await;
    let glue = aws_sdk_glue::Client::new(&b.emu.sdk_config().await);
    create_source_table(&glue, true).await;
    for key in [
        "raw/orders/dt=2024-01-01/region=eu/a.json",
        "raw/orders/dt=2024-01-01/region=eu/_SUCCESS",
        "raw/orders/dt=2024-01-02/region=us/b.json.gz",
        "moved/elsewhere/c.json",
        "raw/orders/dt=2024-01-03/region=eu/unregistered.json",
    ] {
        b.put(key, b"{}\n").await;
    }
    let partition = |values: [&str; 2], location: String| {
        PartitionInput::builder()
            .values(values[0])
            .values(values[1])
            .storage_descriptor(StorageDescriptor::builder().location(location).build())
            .build()
    };
    for p in [
        partition(
            ["2024-01-01", "eu"],
            format!("s3://{BUCKET}/raw/orders/dt=2024-01-01/region=eu/"),
        ),
        partition(
            ["2024-01-02", "us"],
            format!("s3://{BUCKET}/raw/orders/dt=2024-01-02/region=us/"),
        ),
        partition(
            ["2024-01-05", "ap"],
            format!("s3://{BUCKET}/moved/elsewhere/"),
        ),
    ] {
        glue.create_partition()
            .database_name("raw")
            .table_name("orders_json")
            .partition_input(p)
            .send()
            .await
            .unwrap();
    }

    let catalog = Catalog::connect(&b.aws).await;
    let table = catalog.table("raw", "orders_json").await.unwrap();
    assert_eq!(table.qualified_name(), "raw.orders_json");
    assert_eq!(
        table.location,
        Some(Location::parse(&format!("s3://{BUCKET}/raw/orders/")).unwrap())
    );
    let columns: Vec<(String, GlueType)> = table
        .columns
        .iter()
        .map(|c| (c.name.clone(), c.glue_type.clone()))
        .collect();
    let expected: Vec<(String, GlueType)> = ORDER_COLUMNS
        .iter()
        .map(|(n, t)| (n.to_string(), parse_glue_type(t).unwrap()))
        .collect();
    assert_eq!(columns, expected);
    assert_eq!(
        table.columns[1].glue_type,
        GlueType::Decimal {
            precision: 12,
            scale: 2
        }
    );
    assert_eq!(table.partition_key_names(), ["dt", "region"]);
    assert!(table.format.is_json());
    assert_eq!(
        table.format.serde_library.as_deref(),
        Some("org.openx.data.jsonserde.JsonSerDe")
    );
    assert_eq!(
        table
            .format
            .serde_parameters
            .get("paths")
            .map(String::as_str),
        Some("order_id")
    );

    let partitions = catalog.partitions(&table).await.unwrap();
    assert_eq!(partitions.len(), 3);
    assert_eq!(
        partitions[2].values,
        [Some("2024-01-05".to_string()), Some("ap".to_string())]
    );

    // Registered partitions decide what is read, and give each file its values.
    let files = resolve_catalog_inputs(&table, &partitions, &b.aws)
        .await
        .unwrap();
    let got: Vec<(String, Vec<Option<String>>)> = files
        .iter()
        .map(|f| {
            (
                f.uri(),
                f.partition_values.iter().map(|(_, v)| v.clone()).collect(),
            )
        })
        .collect();
    let some = |s: &str| Some(s.to_string());
    assert_eq!(
        got,
        [
            (
                format!("s3://{BUCKET}/raw/orders/dt=2024-01-01/region=eu/a.json"),
                vec![some("2024-01-01"), some("eu")]
            ),
            (
                format!("s3://{BUCKET}/raw/orders/dt=2024-01-02/region=us/b.json.gz"),
                vec![some("2024-01-02"), some("us")]
            ),
            (
                format!("s3://{BUCKET}/moved/elsewhere/c.json"),
                vec![some("2024-01-05"), some("ap")]
            ),
        ]
    );
    // Without registered partitions, the key=value folders give the values.
    let from_paths = resolve_catalog_inputs(&table, &[], &b.aws).await.unwrap();
    assert_eq!(from_paths.len(), 3);
    assert_eq!(
        from_paths[2].partition_values,
        [
            ("dt".to_string(), some("2024-01-03")),
            ("region".to_string(), some("eu"))
        ]
    );

    // Missing database or table: the error says which.
    let err = catalog.table("raw", "nope").await.unwrap_err();
    assert!(matches!(err, CatalogError::NotFound { .. }));
    assert_eq!(
        err.to_string(),
        "Glue catalog table 'raw.nope' not found: database 'raw' has no table 'nope'"
    );
    let err = catalog.table("nodb", "orders").await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "Glue catalog table 'nodb.orders' not found: database 'nodb' does not exist"
    );

    // A column type the ETL cannot handle fails before any data is read, naming it.
    glue.update_table()
        .database_name("raw")
        .table_input(
            TableInput::builder()
                .name("orders_json")
                .storage_descriptor(
                    StorageDescriptor::builder()
                        .location(format!("s3://{BUCKET}/raw/orders/"))
                        .columns(column("weird", "uniontype<int,string>"))
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let err = catalog
        .table("raw", "orders_json")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("raw.orders_json") && err.contains("column 'weird'"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn glue_output_table_registration_round_trip() {
    let b = bench().await;
    let glue = aws_sdk_glue::Client::new(&b.emu.sdk_config().await);
    glue.create_database()
        .database_input(DatabaseInput::builder().name("curated").build().unwrap())
        .send()
        .await
        .unwrap();
    let catalog = Catalog::connect(&b.aws).await;
    let ty = |t: &str| parse_glue_type(t).unwrap();
    let mut output = OutputTable {
        database: "curated".into(),
        name: "orders".into(),
        location: Location::parse(&format!("s3://{BUCKET}/curated/orders")).unwrap(),
        columns: vec![
            ("order_id".into(), ty("bigint")),
            ("total".into(), ty("decimal(12,2)")),
            ("items".into(), ty("array<struct<sku:string,qty:int>>")),
        ],
        partition_keys: vec![("order_date".into(), ty("date"))],
        compression: Compression::Snappy,
    };
    assert_eq!(
        catalog.register_table(&output).await.unwrap(),
        Registration::Created
    );

    let raw = glue
        .get_table()
        .database_name("curated")
        .name("orders")
        .send()
        .await
        .unwrap();
    let table = raw.table().unwrap();
    let sd = table.storage_descriptor().unwrap();
    assert_eq!(
        sd.location(),
        Some(format!("s3://{BUCKET}/curated/orders/").as_str())
    );
    assert_eq!(
        sd.serde_info().unwrap().serialization_library(),
        Some(gluepipe_etl::catalog::PARQUET_SERDE)
    );
    assert_eq!(
        sd.input_format(),
        Some(gluepipe_etl::catalog::PARQUET_INPUT_FORMAT)
    );
    assert_eq!(
        sd.columns()
            .iter()
            .map(|c| (c.name(), c.r#type().unwrap()))
            .collect::<Vec<_>>(),
        [
            ("order_id", "bigint"),
            ("total", "decimal(12,2)"),
            ("items", "array<struct<sku:string,qty:int>>")
        ]
    );
    assert_eq!(table.partition_keys()[0].r#type(), Some("date"));
    assert_eq!(table.table_type(), Some("EXTERNAL_TABLE"));
    let params = table.parameters().unwrap();
    assert_eq!(
        params.get("classification").map(String::as_str),
        Some("parquet")
    );
    assert_eq!(
        params.get("parquet.compression").map(String::as_str),
        Some("SNAPPY")
    );

    // It reads back through our own reader as the same schema.
    let back = catalog.table("curated", "orders").await.unwrap();
    assert_eq!(
        back.columns
            .iter()
            .map(|c| (c.name.clone(), c.glue_type.clone()))
            .collect::<Vec<_>>(),
        output.columns
    );
    assert_eq!(back.partition_keys[0].glue_type, GlueType::Date);

    // A later run with a wider schema updates it in place.
    output.columns.push(("note".into(), ty("string")));
    output.compression = Compression::Zstd;
    assert_eq!(
        catalog.register_table(&output).await.unwrap(),
        Registration::Updated
    );
    let back = catalog.table("curated", "orders").await.unwrap();
    assert_eq!(back.columns.len(), 4);
    assert_eq!(
        back.parameters
            .get("parquet.compression")
            .map(String::as_str),
        Some("ZSTD")
    );

    // Partitions from the published keys; registering them twice is not an error.
    let keys = [
        "order_date=2024-01-01/part-r1-0.parquet",
        "order_date=2024-01-02/part-r1-0.parquet",
        "order_date=2024-01-02/part-r1-1.parquet",
    ];
    let partition_keys = vec!["order_date".to_string()];
    let mut partitions: Vec<Vec<hive::PartitionValue>> = keys
        .iter()
        .map(|k| hive::values_for(k, &partition_keys).unwrap())
        .collect();
    partitions.dedup();
    let added = catalog.add_partitions(&output, &partitions).await.unwrap();
    assert_eq!((added.created, added.existing), (2, 0));
    let again = catalog.add_partitions(&output, &partitions).await.unwrap();
    assert_eq!((again.created, again.existing), (0, 2));
    let registered = catalog.partitions(&back).await.unwrap();
    assert_eq!(registered.len(), 2);
    assert_eq!(
        registered[1].location,
        Some(
            Location::parse(&format!(
                "s3://{BUCKET}/curated/orders/order_date=2024-01-02/"
            ))
            .unwrap()
        )
    );

    // Changing the partitioning of an existing table is refused; so is a local location.
    let mut repartitioned = output.clone();
    repartitioned.partition_keys = vec![("region".into(), ty("string"))];
    let err = catalog
        .register_table(&repartitioned)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("curated.orders") && err.contains("partition keys"),
        "{err}"
    );
    let mut local = output.clone();
    local.location = Location::parse("/tmp/out").unwrap();
    assert!(
        catalog
            .register_table(&local)
            .await
            .unwrap_err()
            .to_string()
            .contains("needs an s3:// location")
    );
    // A missing output database names itself.
    let mut nodb = output.clone();
    nodb.database = "nodb".into();
    let err = catalog.register_table(&nodb).await.unwrap_err().to_string();
    assert!(err.contains("database 'nodb' does not exist"), "{err}");
}

/// Runs the built `gluepipe-etl` with the emulator's environment.
fn etl(emu: &Emulator, args: &[&str]) -> std::process::Output {
    std::process::Command::new(gluepipe_tests::bins::etl().unwrap())
        .args(args)
        .envs(emu.env())
        .output()
        .unwrap()
}

/// Like [`etl`], but the endpoint comes from `--endpoint-url` alone, not the environment.
fn etl_with_endpoint_flag(emu: &Emulator, args: &[&str]) -> std::process::Output {
    std::process::Command::new(gluepipe_tests::bins::etl().unwrap())
        .args(args)
        .args(["--endpoint-url", emu.endpoint()])
        .envs(
            emu.env()
                .into_iter()
                .filter(|(k, _)| k != "AWS_ENDPOINT_URL"),
        )
        .env_remove("AWS_ENDPOINT_URL")
        .output()
        .unwrap()
}

/// Reads every Parquet file under `prefix` with pyarrow (an independent reader, through the test
/// bench's read-back): rows per key, the Arrow types, and all rows as JSON.
fn read_parquet_with_pyarrow(emu: &Emulator, prefix: &str) -> serde_json::Value {
    let read = gluepipe_tests::readback::parquet_in_s3(emu, BUCKET, prefix).unwrap();
    let files: serde_json::Map<String, serde_json::Value> = read["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["key"].as_str().unwrap().to_string(), f["rows"].clone()))
        .collect();
    serde_json::json!({ "files": files, "rows": read["records"], "types": read["schema"] })
}

fn order_line(id: u64, dt: &str) -> String {
    serde_json::json!({
        "order_id": id,
        "amount": format!("{id}.25"),
        "placed_at": format!("{dt}T10:00:00+02:00"),
        "tags": ["new", "gift"],
        "address": {"street": "1 Main St", "city": "Zürich", "geo": {"lat": 47.37, "lon": 8.54}},
        "items": [{"sku": format!("sku-{id}"), "qty": 2, "price": "9.99"}],
        "attributes": {"channel": "web"}
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etl_binary_reads_a_catalog_table_and_registers_its_output() {
    let b = bench().await;
    let glue = aws_sdk_glue::Client::new(&b.emu.sdk_config().await);
    create_source_table(&glue, true).await;
    glue.create_database()
        .database_input(DatabaseInput::builder().name("curated").build().unwrap())
        .send()
        .await
        .unwrap();
    let plain: Vec<String> = (0..30).map(|i| order_line(i, "2024-03-01")).collect();
    b.put(
        "raw/orders/dt=2024-03-01/region=eu/part-0.json",
        plain.join("\n").as_bytes(),
    )
    .await;
    let zipped = {
        let lines: Vec<String> = (30..50).map(|i| order_line(i, "2024-03-02")).collect();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(lines.join("\n").as_bytes()).unwrap();
        gz.finish().unwrap()
    };
    b.put("raw/orders/dt=2024-03-02/region=us/part-0.json.gz", &zipped)
        .await;
    for (dt, region) in [("2024-03-01", "eu"), ("2024-03-02", "us")] {
        glue.create_partition()
            .database_name("raw")
            .table_name("orders_json")
            .partition_input(
                PartitionInput::builder()
                    .values(dt)
                    .values(region)
                    .storage_descriptor(
                        StorageDescriptor::builder()
                            .location(format!("s3://{BUCKET}/raw/orders/dt={dt}/region={region}/"))
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }

    let target = format!("s3://{BUCKET}/curated/orders/");
    let results = format!("s3://{BUCKET}/runs/first.json");
    let run = etl(
        &b.emu,
        &[
            "run",
            "--catalog-database",
            "raw",
            "--catalog-table",
            "orders_json",
            "--output",
            &target,
            "--partition-by",
            "dt",
            "--target-catalog-database",
            "curated",
            "--target-catalog-table",
            "orders",
            "--results",
            &results,
            "--no-progress",
        ],
    );
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );

    // The run record, in S3.
    let record: serde_json::Value =
        serde_json::from_slice(&b.get("runs/first.json").await).unwrap();
    assert_eq!(
        (record["rows_in"].as_u64(), record["rows_written"].as_u64()),
        (Some(50), Some(50)),
        "{record:#}"
    );
    assert_eq!(record["status"], "succeeded");

    // The data, read back by pyarrow: every row once, partition values from the source paths.
    let read = read_parquet_with_pyarrow(&b.emu, "curated/orders/");
    let files = read["files"].as_object().unwrap();
    assert!(
        files
            .keys()
            .all(|k| k.starts_with("curated/orders/dt=2024-03-0")),
        "{files:?}"
    );
    assert_eq!(files.values().map(|v| v.as_u64().unwrap()).sum::<u64>(), 50);
    let rows = read["rows"].as_array().unwrap();
    let mut ids: Vec<u64> = rows
        .iter()
        .map(|r| r["order_id"].as_u64().unwrap())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, (0..50).collect::<Vec<_>>());
    let row = rows.iter().find(|r| r["order_id"] == 31).unwrap();
    assert_eq!(row["amount"], "31.25");
    assert_eq!(
        row["placed_at"], "2024-03-02 08:00:00+00:00",
        "UTC-adjusted"
    );
    assert_eq!(row["address"]["city"], "Zürich");
    assert_eq!(row["items"][0]["sku"], "sku-31");
    assert_eq!(
        row["region"], "us",
        "a source partition key becomes a column"
    );
    assert_eq!(read["types"]["amount"], "decimal128(12, 2)");

    // The output table and its partitions, in Glue.
    let catalog = Catalog::connect(&b.aws).await;
    let table = catalog.table("curated", "orders").await.unwrap();
    assert_eq!(table.location, Some(Location::parse(&target).unwrap()));
    assert_eq!(table.partition_key_names(), ["dt"]);
    let types: Vec<(String, String)> = table
        .columns
        .iter()
        .map(|c| (c.name.clone(), c.glue_type.to_string()))
        .collect();
    assert!(
        types.contains(&("amount".into(), "decimal(12,2)".into())),
        "{types:?}"
    );
    assert!(
        types.contains(&(
            "items".into(),
            "array<struct<sku:string,qty:int,price:decimal(10,2)>>".into()
        )),
        "{types:?}"
    );
    let partitions = catalog.partitions(&table).await.unwrap();
    assert_eq!(
        partitions
            .iter()
            .map(|p| p.values.clone())
            .collect::<Vec<_>>(),
        [
            vec![Some("2024-03-01".to_string())],
            vec![Some("2024-03-02".to_string())]
        ]
    );

    // A run that fails on bad input, in overwrite mode, leaves the target exactly as it was.
    // (This one finds the emulator through --endpoint-url, not AWS_ENDPOINT_URL.)
    b.put(
        "bad/orders.json",
        format!("{}\n{{\"order_id\": 7,\n", order_line(1, "2024-03-03")).as_bytes(),
    )
    .await;
    let before = b.keys().await;
    let run = etl_with_endpoint_flag(
        &b.emu,
        &[
            "run",
            "--input",
            &format!("s3://{BUCKET}/bad/"),
            "--output",
            &target,
            "--write-mode",
            "overwrite",
            "--no-progress",
        ],
    );
    assert_eq!(run.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains(&format!("s3://{BUCKET}/bad/orders.json line 2")),
        "{stderr}"
    );
    // The failed run leaves its rejects and its record in the run history, nothing else.
    let keys = b.keys().await;
    let kept: Vec<&String> = before.iter().filter(|k| keys.contains(k)).collect();
    assert_eq!(kept.len(), before.len(), "nothing is removed: {keys:?}");
    let (history, after): (Vec<String>, Vec<String>) = keys
        .into_iter()
        .filter(|k| !k.starts_with("curated/orders/_gluepipe/rejects/"))
        .filter(|k| !before.contains(k))
        .partition(|k| k.starts_with("curated/orders/_gluepipe/runs/"));
    assert_eq!(after, Vec::<String>::new());
    assert_eq!(history.len(), 1, "{history:?}");
    assert!(b.pending_uploads().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etl_binary_killed_mid_run_leaves_nothing_visible() {
    let b = bench().await;
    // Enough data, over many partitions, that files are finished (and held back) long before the end.
    let lines: Vec<String> = (0..120_000u64)
        .map(|i| {
            serde_json::json!({"id": i, "bucket": i % 200, "pad": "x".repeat(150)}).to_string()
        })
        .collect();
    for (n, part) in lines.chunks(30_000).enumerate() {
        b.put(&format!("big/part-{n}.json"), part.join("\n").as_bytes())
            .await;
    }
    b.put("out/keep.parquet", b"earlier").await;
    let mut child = std::process::Command::new(gluepipe_tests::bins::etl().unwrap())
        .args([
            "run",
            "--input",
            &format!("s3://{BUCKET}/big/"),
            "--output",
            &format!("s3://{BUCKET}/out/"),
        ])
        .args([
            "--partition-by",
            "bucket",
            "--write-mode",
            "overwrite",
            "--no-progress",
        ])
        .envs(b.emu.env())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill it as soon as some output is staged.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        if !b.pending_uploads().await.is_empty() {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it could be interrupted"
        );
        assert!(
            std::time::Instant::now() < deadline,
            "no output was ever staged"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let out: Vec<String> = b
        .keys()
        .await
        .into_iter()
        .filter(|k| k.starts_with("out/"))
        .collect();
    assert_eq!(out, ["out/keep.parquet"], "the target is as it was");
    // What remains is invisible, and the sweep removes it.
    let store = b.store(&format!("s3://{BUCKET}/out/")).await;
    assert!(
        Publisher::sweep_abandoned(&store, Duration::from_secs(3600))
            .await
            .unwrap()
            > 0
    );
    assert!(b.pending_uploads().await.is_empty());
}

/// A sharded run on S3: shards given S3 listing objects (as a Distributed Map passes them) stage
/// multipart uploads that only the merge completes; the result equals a single run's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etl_binary_sharded_run_publishes_only_at_merge_and_equals_one_run() {
    let b = bench().await;
    let glue = aws_sdk_glue::Client::new(&b.emu.sdk_config().await);
    create_source_table(&glue, false).await;
    for f in 0..4u64 {
        let lines: Vec<String> = (f * 10..f * 10 + 10)
            .map(|i| order_line(i, "2024-03-01"))
            .collect();
        b.put(
            &format!("raw/orders/part-{f}.json"),
            lines.join("\n").as_bytes(),
        )
        .await;
    }
    b.put("raw/orders/_SUCCESS", b"").await;
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.dqdl");
    std::fs::write(
        &rules,
        r#"Rules = [ RowCount = 40, IsUnique "order_id", Mean "order_id" between 19 and 20, ColumnValues "order_id" < 35 ]"#,
    )
    .unwrap();
    let args = |target: &str| -> Vec<String> {
        [
            "--catalog-database",
            "raw",
            "--catalog-table",
            "orders_flat",
            "--output",
            target,
            "--rules",
            rules.to_str().unwrap(),
            "--on-dq-failure",
            "warn",
            "--evaluated-at",
            "2026-11-25T12:00:00Z",
            "--no-progress",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let run = |cmd: &str, target: &str, extra: &[&str]| {
        let mut all = vec![cmd.to_string()];
        all.extend(args(target));
        all.extend(extra.iter().map(|s| s.to_string()));
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        let out = etl(&b.emu, &refs);
        assert!(
            out.status.success(),
            "{all:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let single = format!("s3://{BUCKET}/curated/single/");
    let sharded = format!("s3://{BUCKET}/curated/sharded/");
    run(
        "run",
        &single,
        &["--results", &format!("s3://{BUCKET}/runs/single.json")],
    );

    let item = |k: &str| serde_json::json!({"Key": k, "Size": 1, "Etag": "\"x\""});
    for batch in [
        vec![item("raw/orders/part-0.json"), item("raw/orders/_SUCCESS")],
        // A retried batch: same shard id, same file names; its first attempt's uploads are
        // abandoned, and the merge must abort them.
        vec![item("raw/orders/part-0.json"), item("raw/orders/_SUCCESS")],
        vec![
            item("raw/orders/part-1.json"),
            item("raw/orders/part-2.json"),
        ],
        vec![item("raw/orders/part-3.json")],
    ] {
        let items = serde_json::to_string(&batch).unwrap();
        run(
            "run",
            &sharded,
            &["--run-id", "exec-1", "--shard-inputs", &items],
        );
    }
    let visible = |keys: Vec<String>| -> Vec<String> {
        keys.into_iter()
            .filter(|k| k.starts_with("curated/sharded/") && !k.contains("/_gluepipe/"))
            .collect()
    };
    assert!(
        visible(b.keys().await).is_empty(),
        "nothing visible before the merge"
    );
    assert!(
        !b.pending_uploads().await.is_empty(),
        "the shards' files wait as uploads"
    );
    run(
        "merge",
        &sharded,
        &[
            "--run-id",
            "exec-1",
            "--results",
            &format!("s3://{BUCKET}/runs/sharded.json"),
        ],
    );

    assert!(
        b.pending_uploads().await.is_empty(),
        "every upload completed, and the retried shard's first attempt aborted"
    );
    let keys = b.keys().await;
    assert!(
        !keys.iter().any(|k| k.contains("/_gluepipe/shards/")),
        "{keys:?}"
    );
    let files = visible(keys);
    let one: serde_json::Value = serde_json::from_slice(&b.get("runs/single.json").await).unwrap();
    let many: serde_json::Value =
        serde_json::from_slice(&b.get("runs/sharded.json").await).unwrap();
    for k in [
        "rows_in",
        "rows_written",
        "input_files",
        "input_bytes",
        "status",
    ] {
        assert_eq!(one[k], many[k], "{k}");
    }
    assert_eq!(many["rows_written"], 40);
    // Every shard wrote its own files (per worker); the record lists exactly what is visible.
    assert!(files.len() >= 3, "{files:?}");
    assert_eq!(many["outputs"].as_array().unwrap().len(), files.len());
    let dq = |r: &serde_json::Value| -> gluepipe_etl::dq::DqResults {
        serde_json::from_value(r["data_quality"].clone()).unwrap()
    };
    gluepipe_etl::dq::partial::compare_results(&dq(&one), &dq(&many)).unwrap();
    assert_eq!(
        dq(&many).rule_outcomes[3].outcome,
        gluepipe_etl::dq::Outcome::Failed
    );
    let rows = |prefix: &str| {
        let read = read_parquet_with_pyarrow(&b.emu, prefix);
        let mut rows = read["rows"].as_array().unwrap().clone();
        rows.sort_by_key(|r| r["order_id"].as_u64());
        rows
    };
    assert_eq!(rows("curated/single/"), rows("curated/sharded/"));
}
