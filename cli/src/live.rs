//! `scan --live`: reads what AWS Config records, straight from the API, into the same inputs as
//! files. One account (the credentials' own, region by region: SelectResourceConfig +
//! BatchGetResourceConfig, what the region's recorder records from DescribeConfigurationRecorders,
//! and the service-API facts from SSM, EKS and CloudWatch Logs), or a whole organization through a
//! Config aggregator (SelectAggregateResourceConfig + BatchGetAggregateResourceConfig).
//!
//! A region read in full, with a recorder, is a complete recording of the types that recorder
//! records. An aggregator does not say what its sources' recorders record: what it returns covers
//! only itself, and absence there is never evidence.

use crate::inputs::Input;

/// What to read.
#[cfg_attr(not(feature = "aws"), allow(dead_code))]
pub struct LiveArgs {
    /// A named profile of the shared AWS config files.
    pub profile: Option<String>,
    /// Regions to read (`all`: every region AWS lists); empty: the profile's region.
    pub regions: Vec<String>,
    /// Read the organization through this Config aggregator (in the profile's region).
    pub aggregator: Option<String>,
    /// With an aggregator: a role of this name in every source account, assumed to read each
    /// account's regions in full (recorder, items, service-API facts).
    pub assume_role: Option<String>,
    /// Regions read at once.
    pub concurrency: usize,
}

/// What a live read gives: one input per account and region read, and what could not be read.
pub struct LiveRead {
    /// The inputs.
    pub inputs: Vec<Input>,
    /// `region: what failed`, one per account × region that could not be read.
    pub failures: Vec<String>,
    /// Notes on what the read cannot show.
    pub notes: Vec<String>,
}

/// What a build without the `aws` feature says when asked to read AWS.
#[cfg(not(feature = "aws"))]
pub const NO_AWS: &str = "this build of defender-prereqs reads files only: reading AWS (scan --live, \
    report --table) needs the default features (cargo install --path cli, or cargo build without \
    --no-default-features)";

/// Reads AWS Config as `args` say.
#[cfg(not(feature = "aws"))]
pub fn read(_: &LiveArgs, _: &[String], _: &indicatif::ProgressBar) -> Result<LiveRead, String> {
    Err(NO_AWS.to_owned())
}

#[cfg(feature = "aws")]
pub use aws_read::read;

/// A runtime for reading AWS from the command line, and the SDK configuration from the usual
/// environment (and `profile`): throttling and transient errors retried with backoff, up to 8
/// attempts, once the credentials were checked (`shared::aws::identity`: no credentials, refused
/// credentials or an unreachable AWS fail here in seconds).
#[cfg(feature = "aws")]
pub fn aws_runtime(profile: Option<&str>) -> Result<(tokio::runtime::Runtime, aws_config::SdkConfig), String> {
    use aws_config::retry::RetryConfig;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(8));
    if let Some(p) = profile {
        loader = loader.profile_name(p);
    }
    let sdk = rt.block_on(loader.load());
    // Credentials checked once, in seconds, before reads that would retry each failure.
    rt.block_on(shared::aws::identity::caller_account(&sdk))?;
    Ok((rt, sdk))
}

/// The accounts of organizational units (and of every OU below them), from AWS Organizations
/// (ListChildren, ListAccountsForParent; the management account's or a delegated
/// administrator's credentials).
#[cfg(feature = "aws")]
pub async fn accounts_in_ous(
    sdk: &aws_config::SdkConfig,
    ous: &[String],
) -> Result<std::collections::BTreeSet<String>, String> {
    use aws_sdk_organizations::types::ChildType;
    let client = aws_sdk_organizations::Client::new(sdk);
    let mut accounts = std::collections::BTreeSet::new();
    let mut queue: Vec<String> = ous.to_vec();
    let mut seen = std::collections::BTreeSet::new();
    while let Some(parent) = queue.pop() {
        if !seen.insert(parent.clone()) {
            continue;
        }
        let named = |e: &dyn std::fmt::Display| format!("organizational unit {parent}: {e}");
        let mut pages = client
            .list_accounts_for_parent()
            .parent_id(&parent)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| named(&aws_sdk_organizations::error::DisplayErrorContext(e)))?;
            accounts.extend(page.accounts().iter().filter_map(|a| a.id().map(str::to_owned)));
        }
        let mut pages = client
            .list_children()
            .parent_id(&parent)
            .child_type(ChildType::OrganizationalUnit)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| named(&aws_sdk_organizations::error::DisplayErrorContext(e)))?;
            queue.extend(page.children().iter().filter_map(|c| c.id().map(str::to_owned)));
        }
    }
    Ok(accounts)
}

#[cfg(feature = "aws")]
mod aws_read {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use aws_config::{Region, SdkConfig};
    use chrono::Utc;
    use indicatif::ProgressBar;
    use shared::aws::config::ConfigApi;
    use shared::aws::facts::ServiceFacts;
    use shared::domain::graph::region_key;
    use shared::domain::model::types::{self, Recording};
    use shared::domain::model::ConfigurationItem;
    use shared::domain::vocab::GLOBAL_REGION;
    use tokio::sync::Semaphore;

    use super::{LiveArgs, LiveRead};
    use crate::inputs::{Incoming, Input, Scope};

    const SHAPE: &str = "a live read of AWS Config";

    /// Reads AWS Config as `args` say.
    pub fn read(args: &LiveArgs, declared: &[String], progress: &ProgressBar) -> Result<LiveRead, String> {
        let (rt, sdk) = super::aws_runtime(args.profile.as_deref())?;
        rt.block_on(async {
            match &args.aggregator {
                Some(name) => read_aggregator(&sdk, name, args, declared, progress).await,
                None => read_regions(&sdk, args, declared, progress).await,
            }
        })
    }

    fn in_region(sdk: &SdkConfig, region: &str) -> SdkConfig {
        sdk.to_builder().region(Region::new(region.to_owned())).build()
    }

    async fn read_regions(
        sdk: &SdkConfig,
        args: &LiveArgs,
        declared: &[String],
        progress: &ProgressBar,
    ) -> Result<LiveRead, String> {
        let every = matches!(args.regions.as_slice(), [all] if all == "all");
        let regions = match args.regions.as_slice() {
            [] => vec![sdk
                .region()
                .map(ToString::to_string)
                .ok_or("no region: pass --regions, or set one in the profile or AWS_REGION")?],
            [all] if all == "all" => shared::aws::facts::listed_regions(&aws_sdk_ssm::Client::new(sdk))
                .await
                .map_err(|e| format!("listing every region: {e}"))?,
            list => list.to_vec(),
        };
        let limit = Arc::new(Semaphore::new(args.concurrency.max(1)));
        let mut tasks = tokio::task::JoinSet::new();
        for (n, region) in regions.iter().enumerate() {
            let (sdk, limit, region) = (in_region(sdk, region), limit.clone(), region.clone());
            let declared = declared.to_vec();
            tasks.spawn(async move {
                let _permit = limit.acquire_owned().await;
                (n, region.clone(), read_region(&sdk, &region, &declared).await)
            });
        }
        let mut results = Vec::new();
        let mut done = 0;
        while let Some(joined) = tasks.join_next().await {
            let (n, region, outcome) = joined.map_err(|e| format!("a region's read stopped: {e}"))?;
            done += 1;
            progress.set_message(format!("read {done}/{} regions", regions.len()));
            results.push((n, region, outcome));
        }
        results.sort_by_key(|r| r.0);
        let mut read = LiveRead {
            inputs: Vec::new(),
            failures: Vec::new(),
            notes: Vec::new(),
        };
        for (_, region, outcome) in results {
            match outcome {
                Ok((input, note)) => {
                    read.inputs.push(input);
                    read.notes.extend(note);
                }
                // `--regions all` lists opt-in regions the account may not have enabled: there
                // the credentials are not recognised, and the region is skipped with a note.
                Err(e) if every && not_enabled(&e) => read.notes.push(format!(
                    "{region}: not enabled for this account (the credentials are not recognised there), skipped"
                )),
                Err(e) => read.failures.push(format!("{region}: {e}")),
            }
        }
        Ok(read)
    }

    /// Whether a region's error says the account has not enabled that (opt-in) region.
    fn not_enabled(error: &str) -> bool {
        ["UnrecognizedClientException", "InvalidClientTokenId", "AuthFailure"]
            .iter()
            .any(|code| error.contains(code))
    }

    /// One region of the credentials' account: the recorder, every item of the types the checks read,
    /// and the facts only the service APIs know.
    async fn read_region(
        sdk: &SdkConfig,
        region: &str,
        declared: &[String],
    ) -> Result<(Input, Option<String>), String> {
        let at = Utc::now();
        let config = ConfigApi::new(aws_sdk_config::Client::new(sdk));
        let scopes = config.recording_scopes().await.map_err(|e| e.to_string())?;
        let account = config.recorder_account().await.map_err(|e| e.to_string())?;
        let recorded = types::recorded_by(&scopes);
        let mut keys = Vec::new();
        for t in types::recorded() {
            keys.extend(config.all_of_type(t.name).await.map_err(|e| e.to_string())?);
        }
        let json = config.batch_get_json(&keys).await.map_err(|e| e.to_string())?;
        let (mut plain, bodies): (Vec<ConfigurationItem>, Vec<Box<str>>) =
            parse(json)?.into_iter().map(|i| (i.item, i.body)).unzip();
        let facts = ServiceFacts::new(
            aws_sdk_ssm::Client::new(sdk),
            aws_sdk_eks::Client::new(sdk),
            aws_sdk_cloudwatchlogs::Client::new(sdk),
        );
        let mut texts: Vec<Option<Box<str>>> = vec![None; plain.len()];
        for (n, f) in facts.facts(&plain).await.map_err(|e| e.to_string())? {
            texts[n] = Some(serde_json::to_string(&f).map_err(|e| e.to_string())?.into());
            plain[n].resource.apply_live(f).map_err(|e| e.to_string())?;
        }
        let items: Vec<Incoming> = plain
            .into_iter()
            .zip(bodies)
            .zip(texts)
            .map(|((item, body), facts)| Incoming { item, body, facts })
            .collect();
        let account = account.or_else(|| items.first().map(|i| i.item.account_id.clone()));
        let (scope, note) = match (&account, scopes.is_empty()) {
            (Some(account), false) => {
                let mut covers: BTreeMap<(String, String), std::collections::BTreeSet<String>> = BTreeMap::new();
                for t in recorded.iter().copied().chain(declared.iter().map(String::as_str)) {
                    let key = region_key(t, region);
                    if key == GLOBAL_REGION || types::by_name(t).is_some_and(|i| i.recording == Recording::Regional) {
                        covers
                            .entry((account.clone(), key.to_owned()))
                            .or_default()
                            .insert(t.to_owned());
                    }
                }
                covers.entry((account.clone(), region.to_owned())).or_default();
                (Some(Scope { time: Some(at), covers }), None)
            }
            _ => (
                None,
                Some(match &account {
                    Some(a) => format!(
                        "account {a} {region}: no configuration recorder, so nothing there is known not to exist"
                    ),
                    None => format!(
                        "{region}: no configuration recorder (and no items to name the account), so nothing there is known not to exist"
                    ),
                }),
            ),
        };
        let source = match &account {
            Some(a) => format!("AWS Config {a} {region}"),
            None => format!("AWS Config {region}"),
        };
        Ok((
            Input {
                source,
                shape: SHAPE,
                snapshot_id: None,
                read: items.len(),
                ignored: BTreeMap::new(),
                items,
                errors: Vec::new(),
                scope,
            },
            note,
        ))
    }

    fn parse(json: Vec<serde_json::Value>) -> Result<Vec<Incoming>, String> {
        json.into_iter()
            .map(|v| {
                let body = v.to_string();
                let item = ConfigurationItem::from_json(&body, None)
                    .map_err(|e| format!("AWS Config returned an item this version cannot read: {e}"))?;
                Ok(Incoming {
                    item,
                    body: body.into(),
                    facts: None,
                })
            })
            .collect()
    }

    /// The organization through a Config aggregator: one input per source account and region. With
    /// `--assume-role`, each source account's regions are read in full with the role instead (a
    /// complete recording, and the service-API facts); an account whose role cannot be assumed keeps
    /// the aggregator's items, and is listed.
    async fn read_aggregator(
        sdk: &SdkConfig,
        name: &str,
        args: &LiveArgs,
        declared: &[String],
        progress: &ProgressBar,
    ) -> Result<LiveRead, String> {
        let config = ConfigApi::new(aws_sdk_config::Client::new(sdk));
        let names: Vec<&str> = types::recorded().map(|t| t.name).collect();
        progress.set_message(format!("listing resources in aggregator {name}"));
        let keys = config.aggregate_keys(name, &names).await.map_err(|e| e.to_string())?;
        let mut read = LiveRead {
            inputs: Vec::new(),
            failures: Vec::new(),
            notes: Vec::new(),
        };
        // Source account → its regions with regional resources.
        let mut sources: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
        for k in &keys {
            let regions = sources.entry(k.account_id.clone()).or_default();
            if region_key(&k.key.resource_type, &k.region) != GLOBAL_REGION {
                regions.insert(k.region.clone());
            }
        }
        let mut from_aggregator: Vec<&shared::aws::config::AggregateKey> = keys.iter().collect();
        if let Some(role) = &args.assume_role {
            let limit = Arc::new(Semaphore::new(args.concurrency.max(1)));
            let mut tasks = tokio::task::JoinSet::new();
            // One assumed role per account, its credentials shared by the account's regions.
            let members = Arc::new(shared::aws::members::MemberConfigs::new(
                sdk,
                role.as_str(),
                "defender-prereqs",
            ));
            for (account, regions) in &sources {
                let mut regions: Vec<String> = regions.iter().cloned().collect();
                if regions.is_empty() {
                    regions.extend(sdk.region().map(ToString::to_string));
                }
                for region in regions {
                    let (limit, account, members) = (limit.clone(), account.clone(), members.clone());
                    let declared = declared.to_vec();
                    tasks.spawn(async move {
                        let _permit = limit.acquire_owned().await;
                        let read = match members.config(&account, Some(&region)).await {
                            Ok(member) => read_region(&member, &region, &declared).await,
                            Err(e) => Err(e.to_string()),
                        };
                        (account, region.clone(), read)
                    });
                }
            }
            let mut assumed: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
            let mut failed: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
            let mut unread: Vec<String> = Vec::new();
            let mut results = Vec::new();
            while let Some(joined) = tasks.join_next().await {
                results.push(joined.map_err(|e| format!("a region's read stopped: {e}"))?);
                progress.set_message(format!("read {} account regions", results.len()));
            }
            results.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
            for (account, region, outcome) in results {
                match outcome {
                    Ok((input, note)) => {
                        assumed.insert(account);
                        read.inputs.push(input);
                        read.notes.extend(note);
                    }
                    Err(e) => {
                        failed.insert(account.clone());
                        unread.push(format!("{account} {region}: {e}"));
                    }
                }
            }
            // Not a failure of the scan: the account is still read, from the aggregator's items
            // (partial, so absence proves nothing there), and the report says which and why.
            if !unread.is_empty() {
                read.notes.push(format!(
                    "role {role} could not be used in {} account(s), read from the aggregator's items instead \
                     (partial: the checks that need absence or service-API facts stay INSUFFICIENT_DATA there): {}",
                    failed.len(),
                    unread.join("; ")
                ));
            }
            // What the role read replaces the aggregator's items of that account; where the role
            // could not read a region, the aggregator's items of the account stay.
            from_aggregator.retain(|k| !assumed.contains(&k.account_id) || failed.contains(&k.account_id));
        }
        progress.set_message(format!(
            "reading {} resources from aggregator {name}",
            from_aggregator.len()
        ));
        let owned: Vec<shared::aws::config::AggregateKey> = from_aggregator.into_iter().cloned().collect();
        let json = if owned.is_empty() {
            Vec::new()
        } else {
            config
                .aggregate_items_json(name, &owned)
                .await
                .map_err(|e| e.to_string())?
        };
        let mut by_source: BTreeMap<(String, String), Vec<Incoming>> = BTreeMap::new();
        for incoming in parse(json)? {
            let i = &incoming.item;
            by_source
                .entry((i.account_id.clone(), region_key(&i.resource_type, &i.region).to_owned()))
                .or_default()
                .push(incoming);
        }
        let partial: Vec<String> = by_source
            .keys()
            .map(|(a, _)| a.clone())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        read.inputs
            .extend(by_source.into_iter().map(|((account, region), items)| Input {
                source: format!("aggregator {name}: {account} {region}"),
                shape: "a Config aggregator's items",
                snapshot_id: None,
                read: items.len(),
                ignored: BTreeMap::new(),
                items,
                errors: Vec::new(),
                scope: None,
            }));
        if !partial.is_empty() {
            read.notes.push(format!(
                "aggregator {name}: for {} an aggregator does not show what the recorders record, nor the SSM, \
                 EKS and CloudWatch Logs facts: absence there proves nothing and those checks stay \
                 INSUFFICIENT_DATA (--assume-role ROLE reads each account in full)",
                partial.join(", ")
            ));
        }
        Ok(read)
    }
}
