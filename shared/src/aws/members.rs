//! Member accounts' credentials: a role of one name assumed in each account (aws-config's
//! `AssumeRoleProvider`, which caches the credentials and refreshes them before they expire), one
//! provider per account whatever the regions read with it. The CLI's organization reads use it;
//! a central deployment's functions read and report for member accounts the same way.

use std::collections::BTreeMap;

use aws_config::SdkConfig;

/// Per member account configurations of one base configuration and role name.
#[derive(Debug)]
pub struct MemberConfigs {
    base: SdkConfig,
    role: String,
    session: String,
    accounts: tokio::sync::Mutex<BTreeMap<String, SdkConfig>>,
}

/// The partition of a region (`aws`, `aws-cn`, `aws-us-gov`).
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

impl MemberConfigs {
    /// Assumes `role` (a role name) in member accounts with `base`'s credentials, as session
    /// `session`.
    pub fn new(base: &SdkConfig, role: impl Into<String>, session: impl Into<String>) -> Self {
        // The provider refreshes credentials by the clock and sleeps between retries: a
        // configuration built by hand (not loaded by aws-config) may lack both.
        let mut b = base.to_builder();
        if base.time_source().is_none() {
            b.set_time_source(Some(aws_smithy_async::time::SharedTimeSource::default()));
        }
        if base.sleep_impl().is_none() {
            b.set_sleep_impl(aws_smithy_async::rt::sleep::default_async_sleep());
        }
        Self {
            base: b.build(),
            role: role.into(),
            session: session.into(),
            accounts: tokio::sync::Mutex::default(),
        }
    }

    /// The role's ARN in `account`, in the base configuration's partition.
    pub fn role_arn(&self, account: &str) -> String {
        let region = self.base.region().map(ToString::to_string).unwrap_or_default();
        format!("arn:{}:iam::{account}:role/{}", partition(&region), self.role)
    }

    /// The configuration of `account` in `region` (the base's region when `None`): the role's
    /// credentials, assumed once per account and shared by every region.
    pub async fn config(&self, account: &str, region: Option<&str>) -> SdkConfig {
        let member = {
            let mut accounts = self.accounts.lock().await;
            match accounts.get(account) {
                Some(c) => c.clone(),
                None => {
                    let provider = aws_config::sts::AssumeRoleProvider::builder(self.role_arn(account))
                        .session_name(&self.session)
                        .configure(&self.base)
                        .build()
                        .await;
                    // Its own cache, shared by every client of every region made from it: the
                    // role is assumed again only when its credentials near expiry.
                    let c = self
                        .base
                        .to_builder()
                        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(provider))
                        .identity_cache(aws_config::identity::IdentityCache::lazy().build())
                        .build();
                    accounts.insert(account.to_owned(), c.clone());
                    c
                }
            }
        };
        match region {
            Some(r) => member
                .to_builder()
                .region(aws_config::Region::new(r.to_owned()))
                .build(),
            None => member,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_arns_follow_the_partition() {
        assert_eq!(partition("us-east-1"), "aws");
        assert_eq!(partition("cn-north-1"), "aws-cn");
        assert_eq!(partition("us-gov-west-1"), "aws-us-gov");
    }
}
