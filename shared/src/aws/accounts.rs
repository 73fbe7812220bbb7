//! The accounts and regions a function reads and reports for. Deployed in one account, every
//! event is that account's and region's: one set of clients from the function's own credentials.
//! Deployed centrally (`MEMBER_ROLE_NAME` set), events come from every member account and region:
//! AWS Config (reads and PutEvaluations) and the service APIs are called in the event's account
//! and region with the member role's credentials ([`MemberConfigs`]), clients built on the first
//! event of each account × region and kept for the life of the process; the state table and the
//! bus stay the central stack's own.

use std::collections::HashMap;
use std::sync::Arc;

use aws_config::SdkConfig;

use super::config::ConfigApi;
use super::facts::{LiveReader, ServiceFacts};
use super::members::MemberConfigs;
use crate::app::ports::PortError;
use crate::domain::model::types;

/// The clients of one account × region, and the resource types its recorder records.
#[derive(Debug, Clone)]
pub struct AccountPorts {
    /// AWS Config (PutEvaluations).
    pub config: ConfigApi,
    /// AWS Config plus the service APIs (reads).
    pub reader: LiveReader,
    /// Where a resource of such a type is not found, it does not exist (empty: nothing is taken
    /// as recorded, so absence proves nothing).
    pub recorded_types: Vec<String>,
    /// The configuration the clients were made from (for other services' clients, such as
    /// Security Hub's).
    pub sdk: SdkConfig,
}

impl AccountPorts {
    /// The clients over `sdk` (its credentials and region), with `recorded_types`.
    pub fn new(sdk: &SdkConfig, recorded_types: Vec<String>) -> Self {
        let config = ConfigApi::new(aws_sdk_config::Client::new(sdk));
        let facts = ServiceFacts::new(
            aws_sdk_ssm::Client::new(sdk),
            aws_sdk_eks::Client::new(sdk),
            aws_sdk_cloudwatchlogs::Client::new(sdk),
        );
        Self {
            reader: LiveReader {
                config: config.clone(),
                facts,
            },
            config,
            recorded_types,
            sdk: sdk.clone(),
        }
    }

    /// `declared` when set (`RECORDED_TYPES`), otherwise what the recorder of these clients'
    /// account and region records; when it cannot be read, nothing (safe: absence proves nothing).
    pub async fn with_recorder(mut self, declared: Option<&[String]>) -> Self {
        self.recorded_types = match declared {
            Some(d) => d.to_vec(),
            None => match self.config.recording_scopes().await {
                Ok(scopes) => types::recorded_by(&scopes).into_iter().map(str::to_owned).collect(),
                Err(e) => {
                    tracing::warn!(error = %e, "the recorder's types could not be read");
                    Vec::new()
                }
            },
        };
        self
    }
}

/// Where events are read and reported: the function's own account, or every member account.
#[derive(Debug)]
pub struct Accounts {
    own: Arc<AccountPorts>,
    central: Option<Central>,
}

/// One account × region's clients, made once (the first event of that account and region).
type Cell = Arc<tokio::sync::OnceCell<Arc<AccountPorts>>>;

#[derive(Debug)]
struct Central {
    sdk: SdkConfig,
    members: MemberConfigs,
    declared: Option<Vec<String>>,
    reads_recorders: bool,
    ports: tokio::sync::Mutex<HashMap<(String, String), Cell>>,
}

impl Accounts {
    /// Every event read and reported with `own`'s clients.
    pub fn single(own: AccountPorts) -> Self {
        Self {
            own: Arc::new(own),
            central: None,
        }
    }

    /// Events of other accounts than the function's own read and reported through `role` (a
    /// role name) assumed in the event's account; `declared` recorded types (else each member
    /// recorder's, read once per account × region, when `reads_recorders`).
    pub fn central(
        own: AccountPorts,
        sdk: &SdkConfig,
        role: &str,
        declared: Option<Vec<String>>,
        reads_recorders: bool,
    ) -> Self {
        Self {
            own: Arc::new(own),
            central: Some(Central {
                sdk: sdk.clone(),
                members: MemberConfigs::new(sdk, role, "defender-prereqs"),
                declared,
                reads_recorders,
                ports: tokio::sync::Mutex::default(),
            }),
        }
    }

    /// Whether events of member accounts are read through a member role.
    pub fn is_central(&self) -> bool {
        self.central.is_some()
    }

    /// The clients for an event of `account` in `region`, given the function's own account
    /// (`own_account`, from its ARN). Deployed in one account, always its own clients. Centrally,
    /// the function's own account and region use its own clients, and every other account ×
    /// region (its own account's other regions included) the member role; a member role that
    /// cannot be assumed fails as `sts:AssumeRole`.
    pub async fn for_event(
        &self,
        own_account: Option<&str>,
        account: Option<&str>,
        region: Option<&str>,
    ) -> Result<Arc<AccountPorts>, PortError> {
        let Some(central) = &self.central else {
            return Ok(self.own.clone());
        };
        let own_region = central.sdk.region().map(ToString::to_string);
        let account = account.filter(|a| !a.is_empty());
        let region = region
            .filter(|r| !r.is_empty())
            .map(str::to_owned)
            .or(own_region.clone());
        let (Some(account), Some(region)) = (account, region) else {
            return Err(PortError {
                operation: "event",
                message: "the event names no account: a central deployment reads each event in its own account".into(),
                retryable: false,
            });
        };
        let mine = own_account.is_some_and(|o| o == account);
        if mine && Some(&region) == own_region.as_ref() {
            return Ok(self.own.clone());
        }
        let cell = {
            let mut ports = central.ports.lock().await;
            ports.entry((account.to_owned(), region.clone())).or_default().clone()
        };
        let ports = cell
            .get_or_try_init(|| async {
                // The function's own role may read its own region only (the template scopes
                // its check permissions to it): its own account's other regions are read like
                // any member's, through the member role member.yaml creates there too.
                let sdk = central.members.config(account, Some(&region)).await?;
                let ports = AccountPorts::new(&sdk, central.declared.clone().unwrap_or_default());
                let ports = if central.reads_recorders {
                    ports.with_recorder(central.declared.as_deref()).await
                } else {
                    ports
                };
                Ok::<_, PortError>(Arc::new(ports))
            })
            .await?;
        Ok(ports.clone())
    }
}

/// Fails an invocation whose account's clients could not be made (a member role that cannot be
/// assumed): logged with the role and STS's reason, counted as the `MemberRoleUnavailable` metric
/// (the template's alarm watches it), and returned as the invocation's error. Other accounts'
/// events go on.
#[cfg(feature = "lambda")]
pub fn unavailable(function: &str, e: PortError) -> crate::app::error::HandlerError {
    let err = crate::app::error::HandlerError::from(e);
    tracing::error!(error_type = err.kind(), error = %err, "invocation failed");
    if err.kind() == "MemberRoleUnavailable" {
        println!(
            "{}",
            crate::contracts::metrics::invocation(
                function,
                &[("MemberRoleUnavailable", 1)],
                crate::contracts::metrics::now_ms()
            )
        );
    }
    err
}

/// The account of a function's ARN (`arn:aws:lambda:REGION:ACCOUNT:function:NAME`).
pub fn account_of_arn(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| !a.is_empty())
}

/// The region of an ARN (`arn:PARTITION:SERVICE:REGION:...`).
pub fn region_of_arn(arn: &str) -> Option<&str> {
    arn.split(':').nth(3).filter(|r| !r.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_name_their_account_and_region() {
        let f = "arn:aws:lambda:eu-west-1:111122223333:function:defender-prereqs-config-rule";
        assert_eq!(account_of_arn(f), Some("111122223333"));
        assert_eq!(region_of_arn(f), Some("eu-west-1"));
        let rule = "arn:aws:config:us-east-2:444455556666:config-rule/aws-service-rule/config-rule-abc";
        assert_eq!(region_of_arn(rule), Some("us-east-2"));
        assert_eq!(account_of_arn("arn:aws:iam::"), None);
        assert_eq!(region_of_arn("nonsense"), None);
    }
}
