//! Whether an account belongs to the organization a central deployment serves.
//!
//! AWS Config of any account may invoke the organization rule function: a Lambda permission for
//! the `config.amazonaws.com` principal cannot name an organization (Lambda's resource policies
//! take `aws:SourceAccount`/`aws:SourceArn`, not `aws:SourceOrgID`, for service principals). An
//! invocation for an account outside the organization is refused before any work on the answer
//! of Organizations' `DescribeAccount` (callable by a delegated administrator), which names the
//! organization in the account's ARN (`arn:aws:organizations::<management>:account/<o-id>/<id>`)
//! and answers `AccountNotFoundException` for an account that is not in it. Answers are kept per
//! process: a member for [`MEMBER_FOR`], an outsider for [`OUTSIDER_FOR`] (an account that joins
//! later is refused at most that long).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_config::SdkConfig;

use crate::app::ports::PortError;

/// The IAM actions [`Organization::is_member`] calls.
pub const PERMISSIONS: &[&str] = &["organizations:DescribeAccount"];
/// The IAM actions [`Organization::active_accounts`] calls (the scheduled runs of regions without
/// an organization rule).
pub const SWEEP_PERMISSIONS: &[&str] = &["organizations:ListAccounts"];
/// How long a member's answer is kept.
pub const MEMBER_FOR: Duration = Duration::from_secs(3600);
/// How long an outsider's answer is kept.
pub const OUTSIDER_FOR: Duration = Duration::from_secs(900);

/// The organization's membership, asked of AWS Organizations.
#[derive(Debug)]
pub struct Organization {
    client: aws_sdk_organizations::Client,
    id: String,
    known: tokio::sync::Mutex<HashMap<String, (bool, Instant)>>,
}

impl Organization {
    /// Membership of organization `id` (`o-...`), asked with `sdk`'s credentials.
    pub fn new(sdk: &SdkConfig, id: &str) -> Self {
        Self {
            client: aws_sdk_organizations::Client::new(sdk),
            id: id.to_owned(),
            known: tokio::sync::Mutex::default(),
        }
    }

    /// Whether `account` is in the organization. A failed question (denied, throttled, the
    /// organization unreachable) is an error: nothing is decided without an answer.
    pub async fn is_member(&self, account: &str) -> Result<bool, PortError> {
        if let Some((member, at)) = self.known.lock().await.get(account) {
            let keep = if *member { MEMBER_FOR } else { OUTSIDER_FOR };
            if at.elapsed() < keep {
                return Ok(*member);
            }
        }
        let member = match self.client.describe_account().account_id(account).send().await {
            Ok(out) => out
                .account()
                .and_then(|a| a.arn())
                .is_some_and(|arn| arn.contains(&format!(":account/{}/", self.id))),
            Err(e)
                if e
                    .as_service_error()
                    .is_some_and(aws_sdk_organizations::operation::describe_account::DescribeAccountError::is_account_not_found_exception) =>
            {
                false
            }
            Err(e) => return Err(super::port_error("organizations:DescribeAccount", e)),
        };
        self.known
            .lock()
            .await
            .insert(account.to_owned(), (member, Instant::now()));
        Ok(member)
    }

    /// The organization's active accounts (ListAccounts, every page), in id order.
    pub async fn active_accounts(&self) -> Result<Vec<String>, PortError> {
        let mut out = Vec::new();
        let mut pages = self.client.list_accounts().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| super::port_error("organizations:ListAccounts", e))?;
            out.extend(
                page.accounts()
                    .iter()
                    .filter(|a| a.status() == Some(&aws_sdk_organizations::types::AccountStatus::Active))
                    .filter_map(|a| a.id().map(str::to_owned)),
            );
        }
        out.sort();
        out.dedup();
        Ok(out)
    }
}
