//! `servers.ssm-network`: the instance can reach the SSM endpoints.

use crate::domain::checks::support::ec2::{egress, instance_or_na, Egress};
use crate::domain::checks::support::EC2;
use crate::domain::checks::{Check, Ctx, Outcome, Trigger};
use crate::domain::model::types::ec2;
use crate::domain::model::Resource;
use crate::domain::vocab::Compliance::{
    Compliant as C, InsufficientData as U, NonCompliant as NC, NotApplicable as NA,
};
use crate::domain::vocab::Plan;

const SSM_SERVICES: [&str; 3] = ["ssm", "ssmmessages", "ec2messages"];

fn endpoint_problem(ep: &crate::domain::model::VpcEndpoint) -> Option<String> {
    let svc = ep.service_name.as_deref().unwrap_or("endpoint");
    if ep
        .vpc_endpoint_type
        .as_deref()
        .is_some_and(|t| !t.eq_ignore_ascii_case("Interface"))
    {
        return Some(format!("{svc} is not an interface endpoint"));
    }
    if ep.private_dns_enabled != Some(true) {
        return Some(format!("{svc} has private DNS disabled"));
    }
    match ep.state.as_deref() {
        Some(s) if s.eq_ignore_ascii_case("available") => None,
        Some(s) => Some(format!("{svc} is {s}")),
        None => Some(format!("{svc} state unknown")),
    }
}

pub(crate) fn evaluate(ctx: &Ctx<'_>) -> Outcome {
    if let Resource::VpcEndpoint(ep) = &ctx.item.resource {
        let region = &ctx.item.region;
        let svc = ep.service_name.as_deref().unwrap_or_default();
        if !SSM_SERVICES
            .iter()
            .any(|s| svc == format!("com.amazonaws.{region}.{s}"))
        {
            return Outcome::not_applicable(format!("{svc} is not an SSM endpoint"));
        }
        return match endpoint_problem(ep) {
            Some(p) => Outcome::non_compliant(p),
            None => Outcome::compliant(format!("{svc} is available with private DNS")),
        };
    }
    let inst = or_return!(instance_or_na(ctx));
    let region = &ctx.item.region;
    let mut missing = Vec::new();
    let mut problems = Vec::new();
    if let Some(vpc) = inst.vpc_id.as_deref() {
        for s in SSM_SERVICES {
            let want = format!("com.amazonaws.{region}.{s}");
            let eps: Vec<_> = ctx
                .graph
                .endpoints_in_vpc(vpc)
                .filter_map(|i| match &i.resource {
                    Resource::VpcEndpoint(ep) if ep.service_name.as_deref() == Some(want.as_str()) => Some(ep),
                    _ => None,
                })
                .collect();
            if eps.is_empty() {
                missing.push(s);
            } else if let Some(all_bad) = eps.iter().map(|e| endpoint_problem(e)).collect::<Option<Vec<_>>>() {
                // Every endpoint for this service is unusable; one reason is enough.
                problems.extend(all_bad.into_iter().take(1));
            }
        }
        if missing.is_empty() && problems.is_empty() {
            return Outcome::compliant(format!(
                "VPC {vpc} has ssm, ssmmessages and ec2messages interface endpoints"
            ));
        }
    }
    match egress(ctx, inst) {
        Egress::Internet(target) => Outcome::compliant(format!("default route to the SSM endpoints via {target}")),
        Egress::Proxy => Outcome::compliant("a proxy is declared (settings servers.proxy_declared)"),
        Egress::None(why) if !missing.is_empty() && !ctx.graph.records(&ctx.item.account_id, &ctx.item.region, ec2::VPC_ENDPOINT.name) => {
            Outcome::unknown(format!(
                "not verified: {why}, and whether the VPC has endpoints for {} is not in the input (no \
                 AWS::EC2::VPCEndpoint items recorded for this account)",
                missing.join(", ")
            ))
        }
        Egress::None(why) => {
            let mut parts = vec![why];
            if !missing.is_empty() {
                parts.push(format!("no VPC endpoint for {}", missing.join(", ")));
            }
            parts.extend(problems);
            Outcome::non_compliant(format!("no path to AWS Systems Manager: {}", parts.join("; ")))
        }
        Egress::Unknown(why) => Outcome::unknown(format!("cannot tell whether SSM is reachable: {why}")),
    }
}

/// `servers.ssm-network`: the instance can reach the SSM endpoints.
pub static CHECK: Check = Check {
    id: "servers.ssm-network",
    plan: Plan::Servers,
    title: "Instance can reach ssm, ssmmessages and ec2messages",
    resource_types: &[ec2::INSTANCE.name, ec2::VPC_ENDPOINT.name],
    triggers: &[
        Trigger::ConfigChange(ec2::INSTANCE.name),
        Trigger::ConfigChange(ec2::VPC_ENDPOINT.name),
        Trigger::ConfigChange(ec2::ROUTE_TABLE.name),
        Trigger::CloudTrail(EC2, "DeleteVpcEndpoints"),
        Trigger::CloudTrail(EC2, "ModifyVpcEndpoint"),
        Trigger::CloudTrail(EC2, "ReplaceRoute"),
        Trigger::CloudTrail(EC2, "DeleteRoute"),
    ],
    remediation: "Give the subnet a default route through a NAT gateway (or an internet gateway plus a public IP), \
        or create interface endpoints com.amazonaws.<region>.ssm, .ssmmessages and .ec2messages with private DNS \
        enabled. How the path is judged from routes is inferred; declare a proxy with servers.proxy_declared.",
    permissions: &[
        "ec2:DescribeRouteTables",
        "ec2:DescribeVpcEndpoints",
        "ec2:DescribeSubnets",
    ],
    inferred: true,
    gating: true,
    outcomes: &[C, NC, NA, U],
    evaluate,
};
