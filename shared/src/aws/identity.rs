//! Who the credentials are, asked once before a read of many regions or objects: STS
//! GetCallerIdentity (no permission needs granting for it: "No permissions are required to
//! perform this operation", STS API reference), with a bounded connection time and no retry. No
//! credentials, credentials AWS refuses (an expired SSO session, a deleted key) and an AWS that
//! cannot be reached (network, proxy, endpoint) come out here in seconds as one plain sentence,
//! instead of after every retry of the first real read.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;

/// How long connecting may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// How long the whole call may take.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// The account the credentials belong to, or why they cannot be used.
pub async fn caller_account(sdk: &aws_config::SdkConfig) -> Result<String, String> {
    let mut conf = aws_sdk_sts::config::Builder::from(sdk);
    if sdk.region().is_none() {
        // STS answers in every region; without a configured one, its global endpoint's.
        conf.set_region(Some(aws_config::Region::new("us-east-1")));
    }
    let conf = conf
        .retry_config(RetryConfig::disabled())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .operation_timeout(CALL_TIMEOUT)
                .build(),
        )
        .build();
    let client = aws_sdk_sts::Client::from_conf(conf);
    match client.get_caller_identity().send().await {
        Ok(out) => Ok(out.account.unwrap_or_default()),
        Err(e) => {
            let e = super::port_error("GetCallerIdentity", e);
            Err(if e.message == super::NO_CREDENTIALS {
                e.message
            } else {
                format!(
                    "the AWS credentials could not be checked (STS GetCallerIdentity): {}",
                    e.message
                )
            })
        }
    }
}
