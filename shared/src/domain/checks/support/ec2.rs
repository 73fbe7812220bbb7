//! EC2 instances as the Servers and SQL checks see them: scope, operating system and egress.

use crate::domain::checks::{Ctx, Outcome};
use crate::domain::model::{Ec2Instance, Resource};

/// The instance, when the item is one.
pub(crate) fn ec2_instance<'a>(ctx: &Ctx<'a>) -> Option<&'a Ec2Instance> {
    match &ctx.item.resource {
        Resource::Ec2Instance(i) => Some(i),
        _ => None,
    }
}

/// NOT_APPLICABLE (or unknown) when the instance is outside Defender for Servers' scope:
/// not running, or carrying an exclusion tag.
pub(crate) fn scope(ctx: &Ctx<'_>, inst: &Ec2Instance) -> Option<Outcome> {
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

pub(crate) fn instance_or_na<'a>(ctx: &Ctx<'a>) -> Result<&'a Ec2Instance, Outcome> {
    let inst = ec2_instance(ctx).ok_or_else(|| Outcome::not_applicable("not an EC2 instance"))?;
    match scope(ctx, inst) {
        Some(o) => Err(o),
        None => Ok(inst),
    }
}

/// How an instance reaches the internet (or doesn't).
pub(crate) enum Egress {
    /// A default route through this target.
    Internet(String),
    /// A proxy is declared.
    Proxy,
    /// No default route: why.
    None(String),
    /// Routes are not in the input: why.
    Unknown(String),
}

pub(crate) fn egress(ctx: &Ctx<'_>, inst: &Ec2Instance) -> Egress {
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

/// Egress to Azure endpoints: declared, or at least a route that could carry it.
pub(crate) fn declared_egress(ctx: &Ctx<'_>, inst: &Ec2Instance, fact: Option<bool>, what: &str, key: &str) -> Outcome {
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

/// What the OS of an instance is, from SSM inventory first, else from `platformDetails`.
pub(crate) struct Os {
    pub name: String,
    pub windows: bool,
    /// Windows Server release year (2012 for 2012 R2 counts as `r2`).
    pub windows_year: Option<u32>,
    pub r2: bool,
}

pub(crate) fn os_of(ctx: &Ctx<'_>, inst: &Ec2Instance) -> Option<Os> {
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
