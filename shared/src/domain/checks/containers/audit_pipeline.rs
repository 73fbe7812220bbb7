//! `containers.audit-pipeline`: the CloudWatch → Firehose → S3 → SQS audit-log pipeline exists.

use crate::domain::vocab::GLOBAL_REGION;
use crate::domain::checks::support::eks::cluster;
use crate::domain::checks::{Check, Ctx, Outcome, Trigger};
use crate::domain::model::types::{eks, iam};
use crate::domain::vocab::Compliance::{
    Compliant as C, InsufficientData as U, NonCompliant as NC, NotApplicable as NA,
};
use crate::domain::vocab::Plan;

pub(crate) fn evaluate(ctx: &Ctx<'_>) -> Outcome {
    let c = or_return!(cluster(ctx));
    let account = &ctx.item.account_id;
    let missing: Vec<String> = ctx
        .settings
        .roles
        .containers_pipeline
        .iter()
        .filter(|alts| !alts.iter().any(|n| ctx.graph.role_by_name(account, n).is_some()))
        .map(|alts| alts.join(" or "))
        .collect();
    if !missing.is_empty() {
        if !ctx.graph.records(account, GLOBAL_REGION, iam::ROLE.name) {
            return Outcome::unknown(
                "the audit-log pipeline roles cannot be confirmed: no AWS::IAM::Role items in the input",
            );
        }
        return Outcome::non_compliant(format!("audit-log pipeline roles missing: {}", missing.join("; ")));
    }
    let name = c.name.as_deref().unwrap_or(&ctx.item.resource_id);
    match c.live.audit_log_subscription {
        Some(true) => Outcome::compliant(format!(
            "pipeline roles present; /aws/eks/{name}/cluster is subscribed to Firehose"
        )),
        Some(false) => Outcome::non_compliant(format!(
            "/aws/eks/{name}/cluster has no subscription filter to Kinesis Data Firehose"
        )),
        None => Outcome::unknown(format!(
            "pipeline roles present; the subscription filter on /aws/eks/{name}/cluster needs \
             logs:DescribeSubscriptionFilters (live scan)"
        )),
    }
}

/// `containers.audit-pipeline`: the CloudWatch → Firehose → S3 → SQS audit-log pipeline exists.
pub static CHECK: Check = Check {
    id: "containers.audit-pipeline",
    plan: Plan::Containers,
    title: "Audit-log pipeline (CloudWatch → Firehose → S3 → SQS) and its roles exist",
    resource_types: &[eks::CLUSTER.name],
    triggers: &[
        Trigger::ConfigChange("AWS::KinesisFirehose::DeliveryStream"),
        Trigger::ConfigChange("AWS::SQS::Queue"),
        Trigger::ConfigChange("AWS::S3::Bucket"),
        Trigger::ConfigChange(iam::ROLE.name),
        Trigger::CloudTrail("logs.amazonaws.com", "DeleteSubscriptionFilter"),
        Trigger::CloudTrail("firehose.amazonaws.com", "DeleteDeliveryStream"),
        Trigger::CloudTrail("sqs.amazonaws.com", "DeleteQueue"),
        Trigger::CloudTrail("s3.amazonaws.com", "DeleteBucket"),
        Trigger::Periodic,
    ],
    remediation: "Update the connector's CloudFormation stack with Containers enabled (it creates \
        MDCContainersK8sRole, MDCContainersK8sDataCollectionRole, MDCContainersK8sCloudWatchToKinesisRole and \
        MDCContainersK8sKinesisToS3Role) and leave room in your quotas for the SQS queue, Firehose stream and S3 \
        bucket Defender creates in the cluster's region. The log-group name is inferred.",
    permissions: &[
        "logs:DescribeSubscriptionFilters",
        "iam:GetRole",
        "firehose:DescribeDeliveryStream",
    ],
    inferred: true,
    gating: true,
    outcomes: &[C, NC, NA, U],
    evaluate,
};
