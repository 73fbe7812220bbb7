//! Facts only service APIs know, fetched for the items being evaluated: SSM `PingStatus`
//! (DescribeInstanceInformation), EKS authentication mode, access entries and node-group AMI
//! types, and the EKS audit-log subscription filter. A call the function may not make (access
//! denied) or the API does not offer leaves the fact unknown (INSUFFICIENT_DATA), never false.

use std::collections::HashMap;

use super::port_error;
use crate::app::ports::PortError;
use crate::domain::model::{ConfigurationItem, LiveFacts, Resource};

/// The service clients.
#[derive(Debug, Clone)]
pub struct ServiceFacts {
    ssm: aws_sdk_ssm::Client,
    eks: aws_sdk_eks::Client,
    logs: aws_sdk_cloudwatchlogs::Client,
}

/// Whether an error means "this fact cannot be had here" rather than a failure worth retrying.
fn unavailable<E: aws_sdk_config::error::ProvideErrorMetadata>(
    e: &aws_sdk_config::error::SdkError<E, aws_sdk_config::config::http::HttpResponse>,
) -> bool {
    let status = e.raw_response().map(|r| r.status().as_u16());
    let code = e.as_service_error().and_then(|s| s.code()).unwrap_or_default();
    code.contains("AccessDenied")
        || code.contains("UnauthorizedOperation")
        || code == "UnrecognizedClientException"
        || code == "NotImplemented"
        || matches!(status, Some(403 | 404 | 501))
}

macro_rules! or_unknown {
    ($call:expr, $op:literal) => {
        match $call {
            Ok(v) => Some(v),
            Err(e) if unavailable(&e) => {
                tracing::warn!(operation = $op, error = %aws_smithy_types::error::display::DisplayErrorContext(&e), "fact unavailable");
                None
            }
            Err(e) => return Err(port_error($op, e)),
        }
    };
}

impl ServiceFacts {
    /// The IAM actions the service-API facts need (each one a check declares too).
    pub const PERMISSIONS: &'static [&'static str] = &[
        "ssm:DescribeInstanceInformation",
        "eks:DescribeCluster",
        "eks:ListAccessEntries",
        "eks:ListNodegroups",
        "eks:DescribeNodegroup",
        "logs:DescribeSubscriptionFilters",
    ];
}

impl ServiceFacts {
    /// Wraps clients built once per cold start.
    pub fn new(ssm: aws_sdk_ssm::Client, eks: aws_sdk_eks::Client, logs: aws_sdk_cloudwatchlogs::Client) -> Self {
        Self { ssm, eks, logs }
    }

    /// Facts for the EC2 instances and EKS clusters among `items`, by index.
    pub async fn facts(&self, items: &[ConfigurationItem]) -> Result<Vec<(usize, LiveFacts)>, PortError> {
        let mut out = Vec::new();
        let instances: Vec<(usize, &str)> = items
            .iter()
            .enumerate()
            .filter(|(_, i)| matches!(&i.resource, Resource::Ec2Instance(_)) && i.status.is_evaluable())
            .map(|(n, i)| (n, i.resource_id.as_str()))
            .collect();
        for chunk in instances.chunks(50) {
            if let Some(pings) = self.ping_status(chunk.iter().map(|(_, id)| *id)).await? {
                for (n, id) in chunk {
                    // Not listed by SSM = not registered.
                    let status = pings.get(*id).cloned().unwrap_or_default();
                    out.push((
                        *n,
                        LiveFacts {
                            ssm_ping_status: Some(status),
                            ..LiveFacts::default()
                        },
                    ));
                }
            }
        }
        for (n, item) in items.iter().enumerate() {
            if let Resource::EksCluster(c) = &item.resource {
                let name = c.name.as_deref().unwrap_or(&item.resource_id);
                out.push((n, self.cluster_facts(name).await?));
            }
        }
        Ok(out)
    }

    async fn ping_status(&self, ids: impl Iterator<Item = &str>) -> Result<Option<HashMap<String, String>>, PortError> {
        use aws_sdk_ssm::types::InstanceInformationStringFilter;
        let ids: Vec<String> = ids.map(str::to_owned).collect();
        let filter = InstanceInformationStringFilter::builder()
            .key("InstanceIds")
            .set_values(Some(ids))
            .build()
            .map_err(|e| PortError {
                operation: "ssm:DescribeInstanceInformation",
                message: e.to_string(),
                retryable: false,
            })?;
        let mut map = HashMap::new();
        let mut token = None;
        loop {
            let resp = self
                .ssm
                .describe_instance_information()
                .filters(filter.clone())
                .set_next_token(token)
                .send()
                .await;
            let Some(resp) = or_unknown!(resp, "ssm:DescribeInstanceInformation") else {
                return Ok(None);
            };
            for info in resp.instance_information_list() {
                if let (Some(id), Some(ping)) = (info.instance_id(), info.ping_status()) {
                    map.insert(id.to_owned(), ping.as_str().to_owned());
                }
            }
            match resp.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => return Ok(Some(map)),
            }
        }
    }

    async fn cluster_facts(&self, name: &str) -> Result<LiveFacts, PortError> {
        let mut f = LiveFacts::default();
        if let Some(d) = or_unknown!(
            self.eks.describe_cluster().name(name).send().await,
            "eks:DescribeCluster"
        ) {
            f.authentication_mode = d
                .cluster()
                .and_then(|c| c.access_config())
                .and_then(|a| a.authentication_mode())
                .map(|m| m.as_str().to_owned());
        }
        // A CONFIG_MAP cluster has no access entries (and ListAccessEntries refuses it).
        f.access_entry_principals = if f.authentication_mode.as_deref() == Some("CONFIG_MAP") {
            Some(Vec::new())
        } else {
            let entries = self.eks.list_access_entries().cluster_name(name).send().await;
            or_unknown!(entries, "eks:ListAccessEntries").map(|r| r.access_entries().to_vec())
        };
        if let Some(groups) = or_unknown!(
            self.eks.list_nodegroups().cluster_name(name).send().await,
            "eks:ListNodegroups"
        ) {
            let mut types = Vec::new();
            let mut known = true;
            for g in groups.nodegroups() {
                let d = self
                    .eks
                    .describe_nodegroup()
                    .cluster_name(name)
                    .nodegroup_name(g)
                    .send()
                    .await;
                match or_unknown!(d, "eks:DescribeNodegroup") {
                    Some(d) => types.extend(d.nodegroup().and_then(|n| n.ami_type()).map(|t| t.as_str().to_owned())),
                    None => known = false,
                }
            }
            f.nodegroup_ami_types = known.then_some(types);
        }
        let group = format!("/aws/eks/{name}/cluster");
        let filters = self
            .logs
            .describe_subscription_filters()
            .log_group_name(&group)
            .send()
            .await;
        f.audit_log_subscription = match filters {
            Ok(r) => Some(
                r.subscription_filters()
                    .iter()
                    .any(|s| s.destination_arn().is_some_and(|d| d.contains(":firehose:"))),
            ),
            // No log group: nothing is subscribed.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                Some(false)
            }
            Err(e) if unavailable(&e) => None,
            Err(e) => return Err(port_error("logs:DescribeSubscriptionFilters", e)),
        };
        Ok(f)
    }
}

/// The functions' reader: AWS Config for configuration, the service APIs for the facts Config
/// does not record.
#[derive(Debug, Clone)]
pub struct LiveReader {
    /// AWS Config.
    pub config: super::config::ConfigApi,
    /// SSM, EKS, CloudWatch Logs.
    pub facts: ServiceFacts,
}

impl crate::app::ports::ConfigReader for LiveReader {
    async fn batch_get(&self, keys: &[crate::domain::vocab::ResourceKey]) -> Result<Vec<ConfigurationItem>, PortError> {
        self.config.batch_get(keys).await
    }

    async fn select(
        &self,
        lookup: &crate::domain::model::Lookup,
    ) -> Result<Vec<crate::domain::vocab::ResourceKey>, PortError> {
        self.config.select(lookup).await
    }

    async fn latest(&self, key: &crate::domain::vocab::ResourceKey) -> Result<Option<ConfigurationItem>, PortError> {
        self.config.latest(key).await
    }

    async fn list_page(
        &self,
        resource_type: &'static str,
        limit: usize,
        token: Option<String>,
    ) -> Result<(Vec<crate::domain::vocab::ResourceKey>, Option<String>), PortError> {
        self.config.list_page(resource_type, limit, token).await
    }
}

impl crate::app::ports::FactReader for LiveReader {
    async fn facts(&self, items: &[ConfigurationItem]) -> Result<Vec<(usize, LiveFacts)>, PortError> {
        self.facts.facts(items).await
    }
}

/// The IAM action [`listed_regions`] needs (the CLI's `--regions all`; never a function's).
pub const REGION_LIST_PERMISSIONS: &[&str] = &["ssm:GetParametersByPath"];

/// Every region AWS lists, from the public SSM parameters under
/// `/aws/service/global-infrastructure/regions` (`ssm:GetParametersByPath`).
pub async fn listed_regions(ssm: &aws_sdk_ssm::Client) -> Result<Vec<String>, PortError> {
    const OP: &str = "ssm:GetParametersByPath";
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let resp = ssm
            .get_parameters_by_path()
            .path("/aws/service/global-infrastructure/regions")
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| port_error(OP, e))?;
        out.extend(resp.parameters().iter().filter_map(|p| p.value().map(str::to_owned)));
        match resp.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => break,
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}
