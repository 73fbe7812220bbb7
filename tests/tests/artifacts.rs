#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The deployable bootstraps as `sam build` builds them, checked against what Lambda runs them on.
//!
//! `sam build` (the aws-sam-cli `.ci/run` installs, with samconfig.toml's parameters, the
//! rust-cargolambda build method: `cargo lambda build [--release] [--arm64]` in each function's
//! directory, cargo lambda's default compiler Zig from PyPI's ziglang) builds every function of
//! template.yaml; then, for each bootstrap:
//! - its ELF machine is the template's `Architecture` (x86-64 or AArch64): Lambda runs the
//!   architecture the function declares;
//! - it needs no glibc symbol newer than 2.34, the glibc of Amazon Linux 2023, which the
//!   `provided.al2023` runtime is (AL2023 ships `glibc-2.34-*.amzn2023` packages, Amazon Linux
//!   2023 release notes). A bootstrap linked by the build host's own toolchain takes that host's
//!   symbol versions and fails at start with "version `GLIBC_2.38' not found (required by
//!   /var/task/bootstrap)" (aws/aws-lambda-rust-runtime issue 932, built with `--compiler cargo`);
//! - the config-rule bootstrap handles a real event (events/config-rule/change-ec2-instance.json)
//!   under the loopback Runtime API, with moto and the Config stand-in behind the IAM gate.
//!
//! `SAM_BUILD_MODE=debug` (SAM's own switch: `cargo lambda build` without `--release`) unless
//! `ARTIFACTS_RELEASE=1` (`bench/run`): the same compiler, linker and glibc target in a fraction
//! of the build time. `ARTIFACTS_ARCH=arm64` builds for AArch64 and runs the bootstrap under
//! qemu-user (Debian's `qemu-user-static`); it needs a Rust toolchain with the
//! `aarch64-unknown-linux-gnu` standard library, which `ARTIFACTS_RUSTC` names when it is not the
//! default one's (`.ci/run`: Debian's `rustc-web` with `libstd-rust-web-dev:arm64`, as rustup's
//! download site is out of CI's reach; a user runs `rustup target add aarch64-unknown-linux-gnu`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use integration_tests::config_world::ConfigWorld;
use integration_tests::fixtures::{demo_items, root};
use integration_tests::lambda::{self, Target};
use integration_tests::moto;
use integration_tests::runtime_api::RuntimeApi;
use serde_json::Value;
use shared::aws::dynamo::DynamoStore;

/// AL2023's glibc (Lambda's provided.al2023 runtime).
const GLIBC_MAX: (u32, u32) = (2, 34);

fn venv_bin(venv: &str, name: &str) -> PathBuf {
    let p = root().join(format!(".ci/{venv}/bin/{name}"));
    assert!(p.exists(), "{} is missing: run `bash .ci/run`", p.display());
    p
}

/// `sam build` into a directory under target/; the built bootstraps by logical id.
fn sam_build(architecture: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), PathBuf::from);
    let build_dir = target.join(format!("sam-build-{architecture}"));
    let _ = std::fs::remove_dir_all(&build_dir);
    let path = format!(
        "{}:{}",
        root().join(".ci/venv/bin").display(), // cargo-lambda, and the python that runs ziglang
        std::env::var("PATH").unwrap_or_default()
    );
    let mut c = Command::new(venv_bin("venv-sam", "sam"));
    c.current_dir(root())
        .args(["build", "--no-cached", "--build-dir"])
        .arg(&build_dir)
        .args(["--parameter-overrides", &format!("Architecture={architecture}")])
        .env("PATH", path)
        .env("SAM_CLI_TELEMETRY", "0");
    if std::env::var("ARTIFACTS_RELEASE").as_deref() != Ok("1") {
        c.env("SAM_BUILD_MODE", "debug");
    }
    if let Some(rustc) = std::env::var_os("ARTIFACTS_RUSTC") {
        c.env("RUSTC", rustc);
    }
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "sam build failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    build_dir
}

/// ELF `e_machine`: 62 x86-64, 183 AArch64.
fn elf_machine(bin: &Path) -> u16 {
    let bytes = std::fs::read(bin).unwrap();
    assert_eq!(&bytes[..4], b"\x7fELF", "{}: not an ELF file", bin.display());
    assert_eq!(bytes[5], 1, "{}: not little-endian", bin.display());
    u16::from_le_bytes([bytes[18], bytes[19]])
}

/// The newest `GLIBC_x.y` version the binary's dynamic symbols need (`objdump -T`).
fn newest_glibc(bin: &Path) -> (u32, u32) {
    let out = Command::new("objdump")
        .arg("-T")
        .arg(bin)
        .output()
        .expect("objdump (binutils)");
    assert!(out.status.success(), "objdump -T {}", bin.display());
    let text = String::from_utf8_lossy(&out.stdout);
    let mut newest = (0, 0);
    for piece in text
        .split_whitespace()
        .filter_map(|w| w.trim_start_matches('(').strip_prefix("GLIBC_"))
    {
        let piece = piece.trim_end_matches(')');
        let mut parts = piece.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
        let v = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
        newest = newest.max(v);
    }
    assert!(newest > (2, 0), "{}: no glibc symbol versions found", bin.display());
    newest
}

fn functions() -> Vec<String> {
    let t: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(root().join("template.yaml")).unwrap()).unwrap();
    t["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::Serverless::Function"))
        .map(|(k, _)| k.as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sam_build_makes_bootstraps_lambda_can_start() {
    let architecture = std::env::var("ARTIFACTS_ARCH").unwrap_or_else(|_| "x86_64".to_owned());
    let machine = match architecture.as_str() {
        "x86_64" => 62,
        "arm64" => 183,
        other => panic!("ARTIFACTS_ARCH {other}"),
    };
    let build_dir = tokio::task::spawn_blocking({
        let a = architecture.clone();
        move || sam_build(&a)
    })
    .await
    .unwrap();
    let functions = functions();
    assert_eq!(functions.len(), 4, "{functions:?}");
    for f in &functions {
        let bootstrap = build_dir.join(f).join("bootstrap");
        assert!(bootstrap.exists(), "sam build made no {}", bootstrap.display());
        assert_eq!(elf_machine(&bootstrap), machine, "{f}: built for another architecture");
        let glibc = newest_glibc(&bootstrap);
        assert!(
            glibc <= GLIBC_MAX,
            "{f}: needs GLIBC_{}.{}, newer than Amazon Linux 2023's {}.{}",
            glibc.0,
            glibc.1,
            GLIBC_MAX.0,
            GLIBC_MAX.1
        );
    }
    // Zig links against the glibc it targets (2.30 here); a bootstrap linked by the host's
    // toolchain takes the host's symbol versions, whatever they are (Debian 12's glibc is 2.36).

    // One real event through the built bootstrap (under qemu-user for arm64).
    let bootstrap = build_dir.join("ConfigRuleFunction/bootstrap");
    let config = ConfigWorld::start(demo_items()).await;
    let sdk = moto::sdk_config();
    let table = moto::unique("artifact");
    DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), &table)
        .create_table()
        .await
        .unwrap();
    let bus = moto::event_bus().await;
    let api = RuntimeApi::start().await;
    let target = Target {
        runtime_api: &api.address,
        config_url: &config.stub.url,
        table: &table,
        bus: &bus,
        settings_json: "{}",
        facts_url: None,
    };
    let mut command = if machine == 183 {
        let mut c = lambda::command(Path::new("qemu-aarch64-static"), &target);
        c.arg(&bootstrap);
        c
    } else {
        lambda::command(&bootstrap, &target)
    };
    command.env("AWS_MAX_ATTEMPTS", "1");
    let _function = lambda::spawn_as(&mut command, "config-rule");
    let event = std::fs::read_to_string(root().join("events/config-rule/change-ec2-instance.json")).unwrap();
    api.send(event);
    let outcome = tokio::time::timeout(Duration::from_secs(60), api.outcome())
        .await
        .expect("the built bootstrap did not answer within 60 s")
        .unwrap();
    assert!(outcome.ok, "the built bootstrap failed: {}", outcome.body);
    let answer: Value = serde_json::from_str(&outcome.body).unwrap();
    assert_eq!(answer["reported"], 1, "{answer}");
    assert_eq!(
        config.put_evaluations()[0]["Evaluations"][0]["ComplianceResourceId"],
        "i-0bat000000000002"
    );
}
