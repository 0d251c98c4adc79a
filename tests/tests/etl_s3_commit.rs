//! The commit protocol on S3 (moto on 127.0.0.1), through the real binary: a commit killed
//! while its files appear or after it removed the replaced ones is completed by the next run;
//! the lock is a conditional write (`If-None-Match: *`) the emulator honours, so a second
//! committer is refused; an overwrite refuses to commit over a run that committed while it ran.
//! Read back with pyarrow. What moto does not prove: S3's behaviour under real concurrency of
//! conditional writes (moto serialises requests), and upload ages (it reports every multipart
//! upload as started in 2010).

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use gluepipe_etl::storage::{AwsClients, AwsOptions, Store};
use gluepipe_spec::Location;
use gluepipe_tests::{Emulator, bins, readback, s3};

const BUCKET: &str = "commit-data";
const TARGET: &str = "s3://commit-data/orders/";

struct Bench {
    emu: Emulator,
    s3: aws_sdk_s3::Client,
    dir: tempfile::TempDir,
}

impl Bench {
    async fn new() -> Bench {
        let emu = Emulator::start().unwrap();
        let s3 = emu.s3().await;
        s3.create_bucket().bucket(BUCKET).send().await.unwrap();
        Bench {
            emu,
            s3,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// Uploads ids `first..first + n` (three days) as `in/<name>.json`; the run's arguments.
    async fn args(&self, name: &str, first: u64, n: u64, mode: &str) -> Vec<String> {
        let body: String = (first..first + n)
            .map(|id| format!("{{\"id\": {id}, \"day\": \"2024-01-0{}\"}}\n", 1 + id % 3))
            .collect();
        self.s3
            .put_object()
            .bucket(BUCKET)
            .key(format!("in/{name}.json"))
            .body(body.into_bytes().into())
            .send()
            .await
            .unwrap();
        [
            "run",
            "--input",
            &format!("s3://{BUCKET}/in/{name}.json"),
            "--output",
            TARGET,
            "--partition-by",
            "day",
            "--write-mode",
            mode,
            "--no-progress",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    fn run(&self, args: &[String], env: &[(&str, &str)]) -> Output {
        Command::new(bins::etl().unwrap())
            .args(args)
            .envs(self.emu.env())
            .envs(env.iter().copied())
            .output()
            .unwrap()
    }

    fn expect(&self, args: &[String], env: &[(&str, &str)], code: i32) -> String {
        let out = self.run(args, env);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(code), "{args:?} {env:?}\n{err}");
        err
    }

    /// The ids in the table's Parquet files, sorted, duplicates kept.
    fn ids(&self) -> Vec<u64> {
        let read = readback::parquet_in_s3(&self.emu, BUCKET, "orders/").unwrap();
        let mut ids: Vec<u64> = read["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_u64().unwrap())
            .collect();
        ids.sort_unstable();
        ids
    }

    /// Keys under the target's control folder that only a commit in progress leaves, and
    /// pending uploads.
    async fn leftovers(&self) -> Vec<String> {
        let mut keys: Vec<String> = s3::keys(&self.s3, BUCKET, "orders/_gluepipe/")
            .await
            .unwrap()
            .into_iter()
            .filter(|k| k.contains("/intents/") || k.contains("/lock/"))
            .collect();
        keys.extend(s3::pending_uploads(&self.s3, BUCKET).await.unwrap());
        keys
    }

    /// Starts a run that waits at commit step `step`; returns once it waits.
    fn paused(&self, args: &[String], step: &str, name: &str) -> (Child, std::path::PathBuf) {
        let go = self.dir.path().join(format!("go-{name}"));
        let log = self.dir.path().join(format!("{name}.log"));
        let child = Command::new(bins::etl().unwrap())
            .args(args)
            .envs(self.emu.env())
            .env("GLUEPIPE_TEST_WAIT_AT", step)
            .env("GLUEPIPE_TEST_WAIT_FILE", &go)
            .stderr(std::fs::File::create(&log).unwrap())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        wait_for(&log, "waiting at commit step");
        (child, go)
    }
}

fn wait_for(log: &Path, text: &str) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !std::fs::read_to_string(log)
        .unwrap_or_default()
        .contains(text)
    {
        assert!(Instant::now() < deadline, "never saw {text:?} in {log:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn range(first: u64, n: u64) -> Vec<u64> {
    (first..first + n).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_killed_on_s3_is_completed_by_the_next_run() {
    for step in ["intent", "publishing", "removed"] {
        let b = Bench::new().await;
        b.expect(&b.args("a", 0, 30, "append").await, &[], 0);
        let killed = b.args("b", 100, 60, "overwrite").await;
        b.expect(&killed, &[("GLUEPIPE_TEST_CRASH_AT", step)], 137);
        if step == "publishing" {
            let seen = b.ids();
            // Completes go out 16 at a time: this run's three may all be visible, beside the
            // rows they replace (the publish window a listing reader can see).
            assert!(
                seen.iter().any(|id| *id >= 100) && seen.iter().any(|id| *id < 30),
                "killed while publishing, old and new rows are both visible: {seen:?}"
            );
        }
        b.expect(&b.args("c", 1000, 10, "append").await, &[], 0);
        let mut want = range(100, 60);
        want.extend(range(1000, 10));
        assert_eq!(b.ids(), want, "{step}: rows lost or doubled");
        assert_eq!(b.leftovers().await, Vec::<String>::new(), "{step}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_on_s3_are_refused_and_lose_nothing() {
    let b = Bench::new().await;
    // The primitive: a conditional create of an existing key is refused by the emulator.
    let aws = AwsClients::from_sdk_config(
        b.emu.sdk_config().await,
        AwsOptions::with_endpoint(Some(b.emu.endpoint().into())),
    );
    let store = Store::at(&Location::parse(TARGET).unwrap(), &aws)
        .await
        .unwrap();
    assert!(store.put_if_absent("probe", b"1".to_vec()).await.unwrap());
    assert!(!store.put_if_absent("probe", b"2".to_vec()).await.unwrap());
    assert_eq!(store.get_bytes("probe").await.unwrap(), b"1");
    store.delete("probe").await.unwrap();

    b.expect(&b.args("a", 0, 30, "append").await, &[], 0);
    // A commit in progress holds the lock: a second committer is refused, naming it.
    let (mut holder, go) = b.paused(&b.args("b", 100, 30, "overwrite").await, "locked", "b");
    let err = b.expect(&b.args("c", 200, 10, "append").await, &[], 1);
    assert!(err.contains("is being committed to by run"), "{err}");
    std::fs::write(&go, "").unwrap();
    assert_eq!(holder.wait().unwrap().code(), Some(0));
    assert_eq!(b.ids(), range(100, 30));

    // An overwrite converting while an append commits refuses to commit over it.
    let (mut slow, go) = b.paused(&b.args("d", 300, 30, "overwrite").await, "lock", "d");
    b.expect(&b.args("e", 400, 10, "append").await, &[], 0);
    std::fs::write(&go, "").unwrap();
    assert_eq!(slow.wait().unwrap().code(), Some(1));
    let mut want = range(100, 30);
    want.extend(range(400, 10));
    assert_eq!(b.ids(), want);
    assert_eq!(b.leftovers().await, Vec::<String>::new());
}
