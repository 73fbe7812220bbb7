//! Defender for Servers (EC2): SSM reachability and Arc auto-provisioning prerequisites.

use super::cspm::{ROLE_PERMISSIONS, ROLE_TRIGGERS};
use super::{
    account_roles_outcome, declared, no_extra, role_item_outcome, Check, Compliance, Ctx, Outcome, RoleRequirement,
    Trigger,
};
use crate::domain::model::{Ec2Instance, Resource};
use crate::domain::vocab::Plan;

use crate::domain::model::types::{ec2, iam, ssm};
use crate::domain::vocab::ACCOUNT_TYPE;
use Compliance::{Compliant as C, InsufficientData as U, NonCompliant as NC, NotApplicable as NA};

const EC2: &str = "ec2.amazonaws.com";
const IAM: &str = "iam.amazonaws.com";

/// The instance, when the item is one.
pub(super) fn ec2<'a>(ctx: &Ctx<'a>) -> Option<&'a Ec2Instance> {
    match &ctx.item.resource {
        Resource::Ec2Instance(i) => Some(i),
        _ => None,
    }
}

/// NOT_APPLICABLE (or unknown) when the instance is outside Defender for Servers' scope:
/// not running, or carrying an exclusion tag.
pub(super) fn scope(ctx: &Ctx<'_>, inst: &Ec2Instance) -> Option<Outcome> {
    if let Some(t) = ctx
        .settings
        .servers
        .exclusion_tags
        .iter()
        .find(|t| ctx.item.has_tag(&t.key, t.value.as_deref()))
    {
        return Some(Outcome::not_applicable(format!("excluded by tag {}", t.key)));
    }
    match inst.state.as_ref().and_then(|s| s.name.as_deref()) {
        Some("running") => None,
        Some(state) => Some(Outcome::not_applicable(format!("instance is {state}"))),
        None => Some(Outcome::unknown("instance state is not in the configuration item")),
    }
}

fn instance_or_na<'a>(ctx: &Ctx<'a>) -> Result<&'a Ec2Instance, Outcome> {
    let inst = ec2(ctx).ok_or_else(|| Outcome::not_applicable("not an EC2 instance"))?;
    match scope(ctx, inst) {
        Some(o) => Err(o),
        None => Ok(inst),
    }
}

fn applicable(ctx: &Ctx<'_>) -> Outcome {
    let _ = or_return!(instance_or_na(ctx));
    Outcome::compliant("running instance in a connector region: in Defender for Servers' scope")
}

/// `servers.applicable`: whether the instance is in Defender for Servers' scope.
pub static APPLICABLE: Check = Check {
    id: "servers.applicable",
    plan: Plan::Servers,
    title: "Instance is in Defender for Servers' scope (running, not excluded, connector region)",
    resource_types: &[ec2::INSTANCE.name],
    triggers: &[Trigger::ConfigChange(ec2::INSTANCE.name), Trigger::Ec2StateChange],
    remediation: "Nothing to fix: stopped, excluded or out-of-region instances are reported NOT_APPLICABLE. The \
        scope rule is inferred; set servers.exclusion_tags and connector_regions in settings.",
    permissions: &["ec2:DescribeInstances"],
    inferred: true,
    outcomes: &[C, NA, U],
    evaluate: applicable,
};

pub(super) fn instance_profile(ctx: &Ctx<'_>) -> Outcome {
    let inst = or_return!(instance_or_na(ctx));
    match inst.iam_instance_profile.as_ref().and_then(|p| p.arn.as_deref()) {
        Some(arn) => Outcome::compliant(format!("instance profile {arn} attached")),
        None => Outcome::non_compliant(
            "no IAM instance profile attached (the connector's 30-day automation only fixes instances that existed \
             when its stack was created)",
        ),
    }
}

/// `servers.instance-profile`: the instance has an IAM instance profile.
pub static INSTANCE_PROFILE: Check = Check {
    id: "servers.instance-profile",
    plan: Plan::Servers,
    title: "Instance has an IAM instance profile",
    resource_types: &[ec2::INSTANCE.name],
    triggers: &[
        Trigger::ConfigChange(ec2::INSTANCE.name),
        Trigger::CloudTrail(EC2, "AssociateIamInstanceProfile"),
        Trigger::CloudTrail(EC2, "DisassociateIamInstanceProfile"),
        Trigger::CloudTrail(EC2, "ReplaceIamInstanceProfileAssociation"),
        Trigger::Ec2StateChange,
    ],
    remediation: "Attach an instance profile whose role has AmazonSSMManagedInstanceCore: \
        aws ec2 associate-iam-instance-profile --instance-id <id> --iam-instance-profile Name=<profile>.",
    permissions: &["ec2:DescribeInstances", "ec2:DescribeIamInstanceProfileAssociations"],
    inferred: false,
    outcomes: &[C, NC, NA, U],
    evaluate: instance_profile,
};

/// Actions an inline policy must allow to stand in for AmazonSSMManagedInstanceCore.
const SSM_CORE_ACTIONS: &[&str] = &[
    "ssm:UpdateInstanceInformation",
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
    "ec2messages:GetMessages",
];

pub(super) fn ssm_core_policy(ctx: &Ctx<'_>) -> Outcome {
    let inst = or_return!(instance_or_na(ctx));
    let s = &ctx.settings.servers;
    if s.default_host_management {
        return Outcome::compliant(
            "Default Host Management Configuration declared on (settings servers.default_host_management; DHMC, not \
             MS-documented)",
        );
    }
    let Some(profile) = inst.iam_instance_profile.as_ref().and_then(|p| p.arn.as_deref()) else {
        return Outcome::non_compliant("no instance profile, so no role grants AmazonSSMManagedInstanceCore");
    };
    let Some(role_item) = ctx.graph.role_for_profile(profile) else {
        if ctx.graph.records(&ctx.item.account_id, iam::ROLE.name) {
            return Outcome::non_compliant(format!("no recorded IAM role belongs to instance profile {profile}"));
        }
        return Outcome::unknown(format!(
            "the role of instance profile {profile} is not in the input (no AWS::IAM::Role items for this account)"
        ));
    };
    let Resource::IamRole(role) = &role_item.resource else {
        return Outcome::unknown("the instance profile's role could not be read");
    };
    let name = role.role_name.as_deref().unwrap_or(&role_item.resource_id);
    if role.has_managed_policy(&s.ssm_core_policy_arn) {
        return Outcome::compliant(format!("role {name} has AmazonSSMManagedInstanceCore"));
    }
    if s.accept_equivalent_inline_policy && SSM_CORE_ACTIONS.iter().all(|a| role.inline_allows(a)) {
        return Outcome::compliant(format!(
            "role {name} has an inline policy equivalent to AmazonSSMManagedInstanceCore (accepted by settings; inferred)"
        ));
    }
    Outcome::non_compliant(format!(
        "role {name} (instance profile {profile}) lacks {}",
        s.ssm_core_policy_arn
    ))
}

/// `servers.ssm-core-policy`: the instance profile's role has AmazonSSMManagedInstanceCore.
pub static SSM_CORE_POLICY: Check = Check {
    id: "servers.ssm-core-policy",
    plan: Plan::Servers,
    title: "Instance profile role has AmazonSSMManagedInstanceCore",
    resource_types: &[ec2::INSTANCE.name],
    triggers: &[
        Trigger::ConfigChange(ec2::INSTANCE.name),
        Trigger::ConfigChange(iam::ROLE.name),
        Trigger::CloudTrail(IAM, "AttachRolePolicy"),
        Trigger::CloudTrail(IAM, "DetachRolePolicy"),
        Trigger::CloudTrail(IAM, "AddRoleToInstanceProfile"),
        Trigger::CloudTrail(IAM, "RemoveRoleFromInstanceProfile"),
        Trigger::CloudTrail(IAM, "DeleteInstanceProfile"),
        Trigger::CloudTrail("ssm.amazonaws.com", "UpdateServiceSetting"),
    ],
    remediation: "aws iam attach-role-policy --role-name <role> --policy-arn \
        arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore. Accepting an equivalent inline policy and Default Host \
        Management Configuration are inferred (settings servers.accept_equivalent_inline_policy, \
        servers.default_host_management).",
    permissions: &[
        "iam:GetInstanceProfile",
        "iam:ListAttachedRolePolicies",
        "iam:ListRolePolicies",
        "iam:GetRolePolicy",
        "ssm:GetServiceSetting",
    ],
    inferred: true,
    outcomes: &[C, NC, NA, U],
    evaluate: ssm_core_policy,
};

fn status_outcome(status: &str, agent: Option<&str>) -> Outcome {
    let agent = agent.map(|a| format!(" (agent {a})")).unwrap_or_default();
    match status {
        "Online" | "Active" => Outcome::compliant(format!("SSM agent {status}{agent}")),
        "" => Outcome::non_compliant("instance is not registered with AWS Systems Manager"),
        s => Outcome::non_compliant(format!("SSM agent is {s}{agent}: Arc cannot be auto-provisioned")),
    }
}

/// An inventory item's status: `supplementaryConfiguration.instanceStatus`, else the content's
/// `InstanceStatus`; an inventory without either is taken as active (it is only written while the
/// agent reports).
fn inventory_outcome(inv: &crate::domain::model::SsmInventory) -> Outcome {
    let info = inv.info();
    let status = inv
        .instance_status
        .as_deref()
        .or(info.and_then(|i| i.instance_status.as_deref()));
    status_outcome(
        status.unwrap_or("Active"),
        info.and_then(|i| i.agent_version.as_deref()),
    )
}

pub(super) fn ssm_agent_online(ctx: &Ctx<'_>) -> Outcome {
    if let Resource::SsmInventory(inv) = &ctx.item.resource {
        return inventory_outcome(inv);
    }
    let inst = or_return!(instance_or_na(ctx));
    if let Some(ping) = inst.live.ssm_ping_status.as_deref() {
        return status_outcome(ping, None);
    }
    let id = inst.instance_id.as_deref().unwrap_or(&ctx.item.resource_id);
    match ctx.graph.inventory_for(id) {
        Some(inv_item) => match &inv_item.resource {
            Resource::SsmInventory(inv) => inventory_outcome(inv),
            _ => Outcome::unknown("SSM inventory could not be read"),
        },
        None => Outcome::unknown(
            "no SSM inventory item for this instance; its PingStatus needs ssm:DescribeInstanceInformation (a live \
             scan) or an SSM Inventory association recorded by Config",
        ),
    }
}

/// `servers.ssm-agent-online`: the SSM agent is registered and online.
pub static SSM_AGENT_ONLINE: Check = Check {
    id: "servers.ssm-agent-online",
    plan: Plan::Servers,
    title: "SSM agent is registered and online",
    resource_types: &[ec2::INSTANCE.name, ssm::INVENTORY.name],
    triggers: &[
        Trigger::ConfigChange(ec2::INSTANCE.name),
        Trigger::ConfigChange(ssm::INVENTORY.name),
        Trigger::Periodic,
    ],
    remediation: "Install or start the SSM agent (preinstalled on most AWS AMIs), give the instance a role with \
        AmazonSSMManagedInstanceCore and a network path to SSM, then check Fleet Manager. Without SSM, Defender \
        cannot auto-provision the Azure Arc agent.",
    permissions: &["ssm:DescribeInstanceInformation"],
    inferred: false,
    outcomes: &[C, NC, NA, U],
    evaluate: ssm_agent_online,
};

/// How an instance reaches the internet (or doesn't).
pub(super) enum Egress {
    /// A default route through this target.
    Internet(String),
    /// A proxy is declared.
    Proxy,
    /// No default route: why.
    None(String),
    /// Routes are not in the input: why.
    Unknown(String),
}

pub(super) fn egress(ctx: &Ctx<'_>, inst: &Ec2Instance) -> Egress {
    if ctx.settings.servers.proxy_declared {
        return Egress::Proxy;
    }
    let Some(subnet) = inst.subnet_id.as_deref() else {
        return Egress::Unknown("the instance's subnet is not in the configuration item".to_owned());
    };
    let Some(rt_item) = ctx.graph.route_table_for(subnet, inst.vpc_id.as_deref()) else {
        return Egress::Unknown(format!(
            "no route table for {subnet} in the input (record AWS::EC2::RouteTable)"
        ));
    };
    let Resource::RouteTable(rt) = &rt_item.resource else {
        return Egress::Unknown("route table could not be read".to_owned());
    };
    let default = rt
        .routes
        .iter()
        .filter(|r| r.destination_cidr_block.as_deref() == Some("0.0.0.0/0"))
        .find(|r| r.state.as_deref() != Some("blackhole"));
    let Some(route) = default else {
        return Egress::None(format!(
            "route table {} has no active default route",
            rt_item.resource_id
        ));
    };
    if let Some(nat) = route.nat_gateway_id.as_deref().or(route.transit_gateway_id.as_deref()) {
        return Egress::Internet(nat.to_owned());
    }
    if let Some(appliance) = route.instance_id.as_deref().or(route.network_interface_id.as_deref()) {
        return Egress::Internet(appliance.to_owned());
    }
    match route.gateway_id.as_deref() {
        Some(igw) if igw.starts_with("igw-") => {
            if inst.public_ip_address.is_some() {
                Egress::Internet(igw.to_owned())
            } else {
                Egress::None(format!(
                    "default route goes to {igw} but the instance has no public IP address"
                ))
            }
        }
        Some(other) => Egress::Internet(other.to_owned()),
        None => Egress::Unknown("the default route's target is not in the configuration item".to_owned()),
    }
}

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

pub(super) fn ssm_network(ctx: &Ctx<'_>) -> Outcome {
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
pub static SSM_NETWORK: Check = Check {
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
    outcomes: &[C, NC, NA, U],
    evaluate: ssm_network,
};

/// Egress to Azure endpoints: declared, or at least a route that could carry it.
pub(super) fn declared_egress(ctx: &Ctx<'_>, inst: &Ec2Instance, fact: Option<bool>, what: &str, key: &str) -> Outcome {
    match fact {
        Some(true) => Outcome::compliant(format!("declared: {what} (settings facts.{key})")),
        Some(false) => Outcome::non_compliant(format!("declared blocked: {what} (settings facts.{key})")),
        None => match egress(ctx, inst) {
            Egress::None(why) => Outcome::non_compliant(format!(
                "egress unverified and no internet or proxy path ({why}): {what} is impossible (VPC endpoints do not \
                 serve Azure)"
            )),
            Egress::Internet(t) => Outcome::unknown(format!(
                "a route via {t} exists, but firewall egress cannot be proven from AWS: confirm {what}, then set \
                 facts.{key}"
            )),
            Egress::Proxy => Outcome::unknown(format!(
                "a proxy is declared: confirm it allows {what}, then set facts.{key}"
            )),
            Egress::Unknown(why) => Outcome::unknown(format!("{why}; confirm {what}, then set facts.{key}")),
        },
    }
}

fn arc_egress(ctx: &Ctx<'_>) -> Outcome {
    let inst = or_return!(instance_or_na(ctx));
    let fact = ctx.settings.facts_for(&ctx.item.account_id).arc_egress_allowed;
    declared_egress(
        ctx,
        inst,
        fact,
        "outbound 443 to the Azure Arc endpoints",
        "arc_egress_allowed",
    )
}

/// `servers.arc-egress`: the instance can reach Azure Arc.
pub static ARC_EGRESS: Check = Check {
    id: "servers.arc-egress",
    plan: Plan::Servers,
    title: "Instance can reach the Azure Arc endpoints",
    resource_types: &[ec2::INSTANCE.name],
    triggers: &[
        Trigger::Periodic,
        Trigger::ConfigChange(ec2::INSTANCE.name),
        Trigger::ConfigChange(ec2::ROUTE_TABLE.name),
    ],
    remediation: "Allow outbound 443 to aka.ms, download.microsoft.com, packages.microsoft.com, login.windows.net, \
        login.microsoftonline.com, pas.windows.net, management.azure.com, *.his.arc.azure.com, \
        *.guestconfiguration.azure.com, *.guestnotificationservice.azure.com, azgn*.servicebus.windows.net and \
        *.blob.core.windows.net, then declare it with facts.arc_egress_allowed.",
    permissions: &["ec2:DescribeRouteTables"],
    inferred: false,
    outcomes: &[C, NC, NA, U],
    evaluate: arc_egress,
};

/// What the OS of an instance is, from SSM inventory first, else from `platformDetails`.
pub(super) struct Os {
    pub name: String,
    pub windows: bool,
    /// Windows Server release year (2012 for 2012 R2 counts as `r2`).
    pub windows_year: Option<u32>,
    pub r2: bool,
}

pub(super) fn os_of(ctx: &Ctx<'_>, inst: &Ec2Instance) -> Option<Os> {
    let id = inst.instance_id.as_deref().unwrap_or(&ctx.item.resource_id);
    let inv_name = ctx.graph.inventory_for(id).and_then(|i| match &i.resource {
        // SSM splits the OS: PlatformName "Amazon Linux" + PlatformVersion "2".
        Resource::SsmInventory(inv) => inv.info().and_then(|x| {
            let name = x.platform_name.as_deref()?;
            Some(match x.platform_version.as_deref() {
                Some(v) if !v.is_empty() => format!("{name} {v}"),
                _ => name.to_owned(),
            })
        }),
        _ => None,
    });
    let name = inv_name.or_else(|| inst.platform_details.clone())?;
    let windows = name.to_ascii_lowercase().contains("windows") || inst.platform.as_deref() == Some("windows");
    let windows_year = name
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse::<u32>().ok())
        .find(|y| (2000..2100).contains(y));
    let r2 = name.contains("R2");
    Some(Os {
        name,
        windows,
        windows_year,
        r2,
    })
}

fn os_supported(ctx: &Ctx<'_>) -> Outcome {
    let inst = or_return!(instance_or_na(ctx));
    let Some(os) = os_of(ctx, inst) else {
        return Outcome::unknown("the operating system is not in the input (no platformDetails or SSM inventory)");
    };
    let arch = inst.architecture.as_deref().unwrap_or("unknown architecture");
    let arm = if arch == "arm64" {
        " (arm64 support is newer than the 2022 Arc docs; inferred)"
    } else {
        ""
    };
    if os.windows {
        return match os.windows_year {
            Some(y) if y > 2012 || (y == 2012 && os.r2) => {
                Outcome::compliant(format!("{} is Arc-supported{arm}", os.name))
            }
            Some(_) => Outcome::non_compliant(format!("{} is older than Windows Server 2012 R2", os.name)),
            None => Outcome::unknown(format!("{}: Windows version not known (needs SSM inventory)", os.name)),
        };
    }
    let lower = os.name.to_ascii_lowercase();
    const SUPPORTED: &[&str] = &[
        "ubuntu", "debian", "red hat", "rhel", "suse", "sles", "rocky", "oracle", "centos", "alma",
    ];
    if lower.starts_with("amazon linux") {
        return if lower.starts_with("amazon linux 2023") {
            Outcome::compliant(format!("{} is Arc-supported in current docs (inferred){arm}", os.name))
        } else if lower.starts_with("amazon linux 2") {
            Outcome::compliant(format!("{} is Arc-supported{arm}", os.name))
        } else {
            Outcome::non_compliant(format!("{} (Amazon Linux 1) is not Arc-supported", os.name))
        };
    }
    if SUPPORTED.iter().any(|s| lower.contains(s)) {
        return Outcome::compliant(format!("{} is an Arc-supported distribution{arm}", os.name));
    }
    if lower == "linux/unix" {
        return Outcome::unknown("Linux/UNIX: distribution not known (needs SSM inventory)");
    }
    Outcome::non_compliant(format!("{} is not an Azure Arc-supported operating system", os.name))
}

/// `servers.os-supported`: the instance runs an Azure Arc-supported OS.
pub static OS_SUPPORTED: Check = Check {
    id: "servers.os-supported",
    plan: Plan::Servers,
    title: "Instance runs an Azure Arc-supported operating system",
    resource_types: &[ec2::INSTANCE.name],
    triggers: &[
        Trigger::ConfigChange(ec2::INSTANCE.name),
        Trigger::ConfigChange(ssm::INVENTORY.name),
    ],
    remediation: "Move the workload to Windows Server 2012 R2 or later, Ubuntu, Debian, RHEL, SLES, Rocky, Oracle \
        Linux or Amazon Linux 2. Amazon Linux 2023 and arm64 support come from newer docs (inferred).",
    permissions: &["ssm:DescribeInstanceInformation"],
    inferred: true,
    outcomes: &[C, NC, NA, U],
    evaluate: os_supported,
};

fn arc_autoprov_role(ctx: &Ctx<'_>) -> Outcome {
    let (f, r) = (&ctx.settings.features, &ctx.settings.roles);
    let mut reqs = Vec::new();
    if f.arc_autoprovisioning {
        reqs.push(RoleRequirement {
            what: "Arc auto-provisioning",
            names: std::slice::from_ref(&r.arc_autoprovisioning),
        });
    }
    if f.jit_access {
        reqs.push(RoleRequirement {
            what: "JIT network access",
            names: std::slice::from_ref(&r.servers_jit),
        });
    }
    if reqs.is_empty() {
        return Outcome::not_applicable(
            "Arc auto-provisioning is not declared (settings features.arc_autoprovisioning)",
        );
    }
    match &ctx.item.resource {
        Resource::Account => account_roles_outcome(ctx, &reqs, no_extra),
        _ => role_item_outcome(ctx, &reqs, no_extra),
    }
}

/// `servers.arc-autoprov-role`: the Arc auto-provisioning role exists and trusts the provider.
pub static ARC_AUTOPROV_ROLE: Check = Check {
    id: "servers.arc-autoprov-role",
    plan: Plan::Servers,
    title: "Arc auto-provisioning role exists and trusts the Defender provider",
    resource_types: &[iam::ROLE.name, ACCOUNT_TYPE],
    triggers: ROLE_TRIGGERS,
    remediation: "Update the connector's CloudFormation stack after enabling Defender for Servers so that it creates \
        DefenderForCloud-ArcAutoProvisioning (and DefenderForCloud-DefenderForServers for JIT).",
    permissions: ROLE_PERMISSIONS,
    inferred: false,
    outcomes: &[C, NC, NA, U],
    evaluate: arc_autoprov_role,
};

fn tagging_allowed(ctx: &Ctx<'_>) -> Outcome {
    declared(
        ctx.settings.facts_for(&ctx.item.account_id).defender_tags_allowed,
        "SCPs and tag policies allow Defender's tags AccountId, Cloud, InstanceId, MDFCSecurityConnector",
        "defender_tags_allowed",
        "review your tag policies and SCPs (organizations:DescribeEffectivePolicy)",
    )
}

/// `servers.tagging-allowed`: policies allow the tags Defender writes on instances.
pub static TAGGING_ALLOWED: Check = Check {
    id: "servers.tagging-allowed",
    plan: Plan::Servers,
    title: "Tag policies and SCPs allow Defender's instance tags",
    resource_types: &[ACCOUNT_TYPE],
    triggers: &[Trigger::Periodic],
    remediation: "Allow the tag keys AccountId, Cloud, InstanceId and MDFCSecurityConnector on EC2 instances in \
        your tag policies and SCPs.",
    permissions: &["organizations:DescribeEffectivePolicy"],
    inferred: false,
    outcomes: &[C, NC, U],
    evaluate: tagging_allowed,
};

fn agentless_eligible(ctx: &Ctx<'_>) -> Outcome {
    let inst = or_return!(instance_or_na(ctx));
    if !ctx.settings.features.agentless_scanning {
        return Outcome::not_applicable("agentless scanning is not declared (settings features.agentless_scanning)");
    }
    let marketplace = inst
        .product_codes
        .iter()
        .any(|p| p.product_code_type.as_deref() == Some("marketplace"));
    if marketplace {
        return Outcome::not_applicable(
            "Marketplace AMI with third-party licensing: not scanned agentlessly (inferred)",
        );
    }
    Outcome::compliant("eligible for agentless scanning (unencrypted, PMK and CMK EBS volumes are all supported)")
}

/// `servers.agentless-eligible`: the instance can be scanned agentlessly.
pub static AGENTLESS_ELIGIBLE: Check = Check {
    id: "servers.agentless-eligible",
    plan: Plan::Servers,
    title: "Instance is eligible for agentless scanning",
    resource_types: &[ec2::INSTANCE.name],
    triggers: &[Trigger::ConfigChange(ec2::INSTANCE.name)],
    remediation: "Nothing to fix: instances from Marketplace AMIs that need third-party licensing are skipped by \
        agentless scanning. Detecting them through productCodeType=marketplace is inferred.",
    permissions: &["ec2:DescribeInstances"],
    inferred: true,
    outcomes: &[C, NA, U],
    evaluate: agentless_eligible,
};
