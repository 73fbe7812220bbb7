//! `scan s3://bucket/prefix`: an AWS Config delivery bucket (a log-archive account's, or the
//! account's own) read where it is, with the AWS SDK: the objects under the prefix are listed, the
//! newest snapshot of each account and region and the history files that end after it are chosen
//! as for a synced directory ([`crate::inputs::choose_deliveries`]), and read concurrently; each
//! becomes an input like a file.

use crate::inputs::Input;

/// Objects read at once.
#[cfg(feature = "aws")]
pub const CONCURRENCY: usize = 8;

/// The bucket and the key prefix of `s3://bucket/prefix`.
#[cfg(feature = "aws")]
pub fn parse_url(url: &str) -> Result<(String, String), String> {
    let rest = url
        .strip_prefix("s3://")
        .ok_or_else(|| format!("{url}: not an s3:// address"))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(format!("{url}: no bucket name (s3://BUCKET/PREFIX)"));
    }
    Ok((bucket.to_owned(), prefix.to_owned()))
}

/// What reading the buckets gives: one input per object read, and notes.
pub struct BucketRead {
    /// The inputs.
    pub inputs: Vec<Input>,
    /// What was left out and why.
    pub notes: Vec<String>,
}

/// Without the `aws` feature a bucket cannot be read.
#[cfg(not(feature = "aws"))]
pub fn read(_: &[String], _: crate::inputs::Reading, _: &[String]) -> Result<BucketRead, String> {
    Err(crate::live::NO_AWS.to_owned())
}

#[cfg(feature = "aws")]
pub use with_aws::read;

#[cfg(feature = "aws")]
mod with_aws {
    use std::path::PathBuf;
    use std::sync::Arc;

    use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
    use shared::domain::snapshot;
    use tokio::sync::Semaphore;

    use super::{parse_url, BucketRead, CONCURRENCY};
    use crate::inputs;

    /// An S3 client for `sdk`; path-style addressing when the endpoint is overridden (an S3
    /// stand-in or S3-compatible store on an address that is not a bucket's DNS name).
    fn client(sdk: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
        let overridden =
            std::env::var_os("AWS_ENDPOINT_URL_S3").is_some() || std::env::var_os("AWS_ENDPOINT_URL").is_some();
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(sdk)
                .force_path_style(overridden)
                .build(),
        )
    }

    /// A service error's code and message, or what kind of failure it was (never the SDK's dump
    /// of the response).
    fn reason<E: aws_sdk_s3::error::ProvideErrorMetadata>(e: &aws_sdk_s3::error::SdkError<E>) -> String {
        use aws_sdk_s3::error::SdkError;
        let status = e.raw_response().map(|r| r.status().as_u16());
        match e {
            SdkError::ServiceError(se) => match (se.err().code(), se.err().message()) {
                (Some(code), Some(message)) => format!("{code}: {message}"),
                (Some(code), None) => code.to_owned(),
                // HEAD answers carry no body: the status says it (403 denied, 404 no such bucket).
                _ => format!("HTTP {}", status.map_or_else(|| "?".to_owned(), |s| s.to_string())),
            },
            SdkError::TimeoutError(_) => "timed out".to_owned(),
            SdkError::DispatchFailure(_) => "S3 could not be reached".to_owned(),
            SdkError::ResponseError(_) => "an answer that could not be read".to_owned(),
            _ => "the request could not be made".to_owned(),
        }
    }

    /// Reads every `s3://bucket/prefix` of `urls`.
    pub fn read(urls: &[String], how: inputs::Reading, declared: &[String]) -> Result<BucketRead, String> {
        let (rt, sdk) = crate::live::aws_runtime(None)?;
        rt.block_on(async {
            let mut out = BucketRead {
                inputs: Vec::new(),
                notes: Vec::new(),
            };
            for url in urls {
                read_one(&sdk, url, how, declared, &mut out).await?;
            }
            Ok(out)
        })
    }

    async fn read_one(
        sdk: &aws_config::SdkConfig,
        url: &str,
        how: inputs::Reading,
        declared: &[String],
        out: &mut BucketRead,
    ) -> Result<(), String> {
        let (bucket, prefix) = parse_url(url)?;
        // The bucket's own region (a log-archive bucket is often in another one).
        let head = client(sdk)
            .head_bucket()
            .bucket(&bucket)
            .send()
            .await
            .map_err(|e| format!("{url}: the bucket cannot be read ({})", reason(&e)))?;
        let sdk = match head.bucket_region() {
            Some(r) if Some(r) != sdk.region().map(|x| x.as_ref()) => {
                sdk.to_builder().region(aws_config::Region::new(r.to_owned())).build()
            }
            _ => sdk.clone(),
        };
        let s3 = client(&sdk);
        let mut keys: Vec<PathBuf> = Vec::new();
        let mut pages = s3
            .list_objects_v2()
            .bucket(&bucket)
            .prefix(&prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| format!("{url}: listing the objects failed ({})", reason(&e)))?;
            keys.extend(page.contents().iter().filter_map(|o| o.key()).map(PathBuf::from));
        }
        let listed = keys.len();
        let writability = keys.iter().filter(|k| inputs::is_writability_check(k)).count();
        keys.retain(|k| inputs::is_json_input(k));
        if keys.is_empty() {
            return Err(format!(
                "{url}: no .json or .json.gz objects under this prefix ({listed} listed)"
            ));
        }
        if writability > 0 {
            out.notes.push(format!(
                "{url}: skipped {writability} ConfigWritabilityCheckFile (AWS Config's test that it may write to the bucket: no configuration items)"
            ));
        }
        let mut notes = Vec::new();
        inputs::choose_deliveries(&mut keys, &mut notes);
        out.notes.extend(notes.into_iter().map(|n| format!("{url}: {n}")));

        let progress = if keys.len() > 1 {
            let pb = ProgressBar::with_draw_target(Some(keys.len() as u64), ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} objects") {
                pb.set_style(style.progress_chars("=> "));
            }
            pb.set_message(format!("reading {url}"));
            pb
        } else {
            ProgressBar::hidden()
        };
        let limit = Arc::new(Semaphore::new(CONCURRENCY));
        let mut tasks = tokio::task::JoinSet::new();
        for (n, key) in keys.into_iter().enumerate() {
            let (s3, limit, bucket) = (s3.clone(), limit.clone(), bucket.clone());
            let declared = declared.to_vec();
            tasks.spawn(async move {
                let _permit = limit.acquire_owned().await;
                let source = format!("s3://{bucket}/{}", key.display());
                let got = s3
                    .get_object()
                    .bucket(&bucket)
                    .key(key.to_string_lossy())
                    .send()
                    .await
                    .map_err(|e| format!("{source}: {}", reason(&e)));
                let read = match got {
                    Err(e) => Err(e),
                    Ok(object) => match object.body.collect().await {
                        Err(e) => Err(format!("{source}: the object could not be read ({e})")),
                        Ok(body) => {
                            // Inflating and parsing are CPU work: off the runtime's threads.
                            tokio::task::spawn_blocking(move || {
                                let bytes = snapshot::read_from(
                                    body.into_bytes().as_ref(),
                                    &source,
                                    snapshot::MAX_SNAPSHOT_BYTES,
                                )
                                .map_err(|e| e.to_string())?;
                                inputs::parse(&bytes, source, Some(&key), how, &declared, |_, _| {})
                            })
                            .await
                            .map_err(|e| format!("reading an object stopped: {e}"))
                            .and_then(|r| r)
                        }
                    },
                };
                (n, read)
            });
        }
        let mut read = Vec::new();
        let mut failed = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            let (n, r) = joined.map_err(|e| format!("reading an object stopped: {e}"))?;
            progress.inc(1);
            match r {
                Ok(input) => read.push((n, input)),
                Err(e) => failed.push(e),
            }
        }
        progress.finish_and_clear();
        if !failed.is_empty() {
            failed.sort();
            if !how.keep_going {
                return Err(format!(
                    "{} object(s) could not be read (nothing recorded; --keep-going scans the rest and lists them):\n  {}",
                    failed.len(),
                    failed.join("\n  ")
                ));
            }
            out.notes.extend(failed.into_iter().map(|f| format!("not read: {f}")));
        }
        // The listing's order, whatever order the reads finished in.
        read.sort_by_key(|(n, _)| *n);
        out.inputs.extend(read.into_iter().map(|(_, i)| i));
        Ok(())
    }
}
