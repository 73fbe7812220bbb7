//! Member accounts' credentials: a role of one name assumed in each account (aws-config's
//! `AssumeRoleProvider`, which caches the credentials and refreshes them before they expire), one
//! provider per account whatever the regions read with it. The CLI's organization reads use it;
//! a central deployment's functions read and report for member accounts the same way.

use std::collections::BTreeMap;

use aws_config::SdkConfig;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{future, ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;

use crate::app::ports::PortError;

/// Per member account configurations of one base configuration and role name.
#[derive(Debug)]
pub struct MemberConfigs {
    base: SdkConfig,
    role: String,
    session: String,
    accounts: tokio::sync::Mutex<BTreeMap<String, std::sync::Arc<tokio::sync::OnceCell<SdkConfig>>>>,
}

pub use crate::domain::vocab::partition;

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
    /// credentials, assumed once per account and shared by every region. The role is assumed
    /// here, the first time an account is asked for, so that a member account without the role
    /// (or one whose role does not trust the caller) fails as `sts:AssumeRole`, naming the role,
    /// and is asked again next time; the credentials obtained serve the first calls.
    pub async fn config(&self, account: &str, region: Option<&str>) -> Result<SdkConfig, PortError> {
        // One cell per account: accounts are assumed concurrently, each once at a time.
        let cell = {
            let mut accounts = self.accounts.lock().await;
            accounts.entry(account.to_owned()).or_default().clone()
        };
        let member = cell
            .get_or_try_init(|| async {
                let arn = self.role_arn(account);
                let provider = aws_config::sts::AssumeRoleProvider::builder(&arn)
                    .session_name(&self.session)
                    .configure(&self.base)
                    .build()
                    .await;
                let first = provider
                    .provide_credentials()
                    .await
                    .map_err(|e| assume_error(&arn, &e))?;
                // Its own cache, shared by every client of every region made from it: the role
                // is assumed again only when its credentials near expiry.
                Ok::<_, PortError>(
                    self.base
                        .to_builder()
                        .credentials_provider(SharedCredentialsProvider::new(Primed {
                            first: std::sync::Mutex::new(Some(first)),
                            provider,
                        }))
                        .identity_cache(aws_config::identity::IdentityCache::lazy().build())
                        .build(),
                )
            })
            .await?
            .clone();
        Ok(match region {
            Some(r) => member
                .to_builder()
                .region(aws_config::Region::new(r.to_owned()))
                .build(),
            None => member,
        })
    }
}

/// A role's provider that hands out the credentials obtained when the role was first assumed,
/// then assumes it again whenever the identity cache asks (before they expire).
#[derive(Debug)]
struct Primed {
    first: std::sync::Mutex<Option<Credentials>>,
    provider: aws_config::sts::AssumeRoleProvider,
}

impl ProvideCredentials for Primed {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        let first = self.first.lock().ok().and_then(|mut f| f.take());
        match first {
            Some(c) => future::ProvideCredentials::ready(Ok(c)),
            None => self.provider.provide_credentials(),
        }
    }
}

/// Why a role could not be assumed: the role and STS's reason (its code and message, never the
/// raw response). A denial does not heal by itself; throttling and timeouts can.
fn assume_error(arn: &str, e: &CredentialsError) -> PortError {
    let context = aws_smithy_types::error::display::DisplayErrorContext(e).to_string();
    let retryable = matches!(e, CredentialsError::ProviderTimedOut(_))
        || context.contains("Throttl")
        || context.contains("dispatch failure");
    PortError {
        operation: ASSUME_ROLE,
        message: format!("the member role {arn} could not be assumed: {}", sts_reason(&context)),
        retryable,
    }
}

/// STS's code and message out of the credentials error's context (`... Error { code:
/// "AccessDenied", message: "User: ... is not authorized ...", aws_request_id: ... }`), or the
/// context's first sentence-worth, cut at a word.
fn sts_reason(context: &str) -> String {
    let field = |name: &str| -> Option<&str> {
        let start = context.find(&format!("{name}: \""))? + name.len() + 3;
        let len = context[start..].find('"')?;
        Some(&context[start..start + len])
    };
    match (field("code"), field("message")) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_owned(),
        _ if context.contains("dispatch failure") => "STS could not be reached".to_owned(),
        _ if context.contains("timed out") => "STS timed out".to_owned(),
        _ => crate::domain::error::first_words(context, 200),
    }
}

pub use crate::app::ports::ASSUME_ROLE;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sts_reasons_are_stss_code_and_message() {
        let context = "an error occurred while loading credentials: service error: unhandled error (AccessDenied): \
            Error { code: \"AccessDenied\", message: \"User: arn:aws:sts::1:assumed-role/a/b is not authorized\", \
            aws_request_id: \"x\" }";
        assert_eq!(
            sts_reason(context),
            "AccessDenied: User: arn:aws:sts::1:assumed-role/a/b is not authorized"
        );
        let long = "word ".repeat(100);
        let cut = sts_reason(&long);
        assert!(cut.ends_with(" ...") && cut.len() < 220, "{cut}");
    }

    #[test]
    fn role_arns_follow_the_partition() {
        assert_eq!(partition("us-east-1"), "aws");
        assert_eq!(partition("cn-north-1"), "aws-cn");
        assert_eq!(partition("us-gov-west-1"), "aws-us-gov");
    }
}
