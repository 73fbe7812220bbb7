"""Defender for Servers prerequisite checks on one EC2 instance, in plain Python.

The comparison baseline for bench/: the same decisions as the Rust catalog's `servers.*` checks on
`AWS::EC2::Instance` (shared/src/domain/checks/servers/), written the way a team would write them
in an rdklib rule today. `Related` holds the items the checks read besides the instance (its
profile's role, its SSM inventory, its VPC's route tables and endpoints); the rule (rule.py)
fills it from the AWS Config API, the scan (scan.py) from a snapshot.

Default settings only (no exclusion tags, no proxy, no DHMC, AmazonSSMManagedInstanceCore).
"""

import json
import re

SSM_CORE = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
SSM_SERVICES = ("ssm", "ssmmessages", "ec2messages")
SUPPORTED_LINUX = ("ubuntu", "debian", "red hat", "rhel", "suse", "sles", "rocky", "oracle", "centos", "alma")

C, NC, NA, U = "COMPLIANT", "NON_COMPLIANT", "NOT_APPLICABLE", "INSUFFICIENT_DATA"


class Related:
    """What the checks read besides the instance."""

    def __init__(self, role=None, inventory=None, route_tables=(), endpoints=(), roles_recorded=False):
        self.role = role
        self.inventory = inventory
        self.route_tables = list(route_tables)
        self.endpoints = list(endpoints)
        self.roles_recorded = roles_recorded


def configuration(item):
    """An item's configuration, a JSON string in the Config API, an object in snapshots."""
    c = item.get("configuration")
    if isinstance(c, str):
        c = json.loads(c)
    return c or {}


def _scope(cfg):
    state = (cfg.get("state") or {}).get("name")
    if state is None:
        return (U, "instance state is not in the configuration item")
    if state != "running":
        return (NA, f"instance is {state}")
    return None


def _profile_arn(cfg):
    return (cfg.get("iamInstanceProfile") or {}).get("arn")


def instance_profile(cfg, rel):
    arn = _profile_arn(cfg)
    if arn:
        return (C, f"instance profile {arn} attached")
    return (NC, "no IAM instance profile attached")


def ssm_core_policy(cfg, rel):
    profile = _profile_arn(cfg)
    if not profile:
        return (NC, "no instance profile, so no role grants AmazonSSMManagedInstanceCore")
    if rel.role is None:
        if rel.roles_recorded:
            return (NC, f"no recorded IAM role belongs to instance profile {profile}")
        return (U, f"the role of instance profile {profile} is not in the input")
    role = configuration(rel.role)
    name = role.get("roleName") or rel.role.get("resourceId")
    if any(p.get("policyArn") == SSM_CORE for p in role.get("attachedManagedPolicies") or []):
        return (C, f"role {name} has AmazonSSMManagedInstanceCore")
    return (NC, f"role {name} (instance profile {profile}) lacks {SSM_CORE}")


def _status(status, agent=None):
    agent = f" (agent {agent})" if agent else ""
    if status in ("Online", "Active"):
        return (C, f"SSM agent {status}{agent}")
    if status == "":
        return (NC, "instance is not registered with AWS Systems Manager")
    return (NC, f"SSM agent is {status}{agent}: Arc cannot be auto-provisioned")


def _inventory_info(inv):
    content = (configuration(inv).get("AWS:InstanceInformation") or {}).get("Content") or {}
    return next(iter(content.values()), None) if isinstance(content, dict) else None


def ssm_agent_online(cfg, rel):
    if rel.inventory is None:
        return (U, "no SSM inventory item for this instance")
    info = _inventory_info(rel.inventory) or {}
    sup = rel.inventory.get("supplementaryConfiguration") or {}
    status = sup.get("instanceStatus")
    if isinstance(status, str) and status.startswith('"'):
        status = json.loads(status)
    return _status(status or info.get("InstanceStatus") or "Active", info.get("AgentVersion"))


def _route_table(cfg, rel):
    subnet, vpc = cfg.get("subnetId"), cfg.get("vpcId")
    main = None
    for rt in rel.route_tables:
        for a in configuration(rt).get("associations") or []:
            if subnet and a.get("subnetId") == subnet:
                return rt
            if a.get("main") and configuration(rt).get("vpcId") == vpc:
                main = rt
    return main


def _egress(cfg, rel):
    """('internet', target) | ('none', why) | ('unknown', why)."""
    subnet = cfg.get("subnetId")
    if not subnet:
        return ("unknown", "the instance's subnet is not in the configuration item")
    rt = _route_table(cfg, rel)
    if rt is None:
        return ("unknown", f"no route table for {subnet} in the input")
    routes = [
        r
        for r in configuration(rt).get("routes") or []
        if r.get("destinationCidrBlock") == "0.0.0.0/0" and r.get("state") != "blackhole"
    ]
    if not routes:
        return ("none", f"route table {rt.get('resourceId')} has no active default route")
    r = routes[0]
    via = r.get("natGatewayId") or r.get("transitGatewayId") or r.get("instanceId") or r.get("networkInterfaceId")
    if via:
        return ("internet", via)
    gw = r.get("gatewayId")
    if gw and gw.startswith("igw-"):
        if cfg.get("publicIpAddress"):
            return ("internet", gw)
        return ("none", f"default route goes to {gw} but the instance has no public IP address")
    if gw:
        return ("internet", gw)
    return ("unknown", "the default route's target is not in the configuration item")


def _endpoint_problem(ep):
    svc = ep.get("serviceName") or "endpoint"
    if (ep.get("vpcEndpointType") or "Interface").lower() != "interface":
        return f"{svc} is not an interface endpoint"
    if ep.get("privateDnsEnabled") is not True:
        return f"{svc} has private DNS disabled"
    state = ep.get("state")
    if state is None:
        return f"{svc} state unknown"
    return None if state.lower() == "available" else f"{svc} is {state}"


def ssm_network(cfg, rel, region):
    vpc = cfg.get("vpcId")
    missing, problems = [], []
    if vpc:
        eps = [configuration(e) for e in rel.endpoints]
        for s in SSM_SERVICES:
            want = f"com.amazonaws.{region}.{s}"
            found = [e for e in eps if e.get("serviceName") == want and e.get("vpcId") == vpc]
            if not found:
                missing.append(s)
            else:
                bad = [_endpoint_problem(e) for e in found]
                if all(bad):
                    problems.append(bad[0])
        if not missing and not problems:
            return (C, f"VPC {vpc} has ssm, ssmmessages and ec2messages interface endpoints")
    kind, what = _egress(cfg, rel)
    if kind == "internet":
        return (C, f"default route to the SSM endpoints via {what}")
    if kind == "none":
        parts = [what] + ([f"no VPC endpoint for {', '.join(missing)}"] if missing else []) + problems
        return (NC, "no path to AWS Systems Manager: " + "; ".join(parts))
    return (U, f"cannot tell whether SSM is reachable: {what}")


def _os_name(cfg, rel):
    if rel.inventory is not None:
        info = _inventory_info(rel.inventory) or {}
        if info.get("PlatformName"):
            v = info.get("PlatformVersion")
            return f"{info['PlatformName']} {v}" if v else info["PlatformName"]
    return cfg.get("platformDetails")


def os_supported(cfg, rel):
    name = _os_name(cfg, rel)
    if not name:
        return (U, "the operating system is not in the input")
    windows = "windows" in name.lower() or cfg.get("platform") == "windows"
    if windows:
        years = [int(w) for w in re.split(r"\D+", name) if w and 2000 <= int(w) < 2100]
        if not years:
            return (U, f"{name}: Windows version not known")
        y = years[0]
        if y > 2012 or (y == 2012 and "R2" in name):
            return (C, f"{name} is Arc-supported")
        return (NC, f"{name} is older than Windows Server 2012 R2")
    lower = name.lower()
    if lower.startswith("amazon linux"):
        if lower.startswith("amazon linux 2"):
            return (C, f"{name} is Arc-supported")
        return (NC, f"{name} (Amazon Linux 1) is not Arc-supported")
    if any(s in lower for s in SUPPORTED_LINUX):
        return (C, f"{name} is an Arc-supported distribution")
    if lower == "linux/unix":
        return (U, "Linux/UNIX: distribution not known (needs SSM inventory)")
    return (NC, f"{name} is not an Azure Arc-supported operating system")


def agentless_eligible(cfg, rel):
    codes = cfg.get("productCodes") or []
    if any((p.get("productCodeType") or "").lower() == "marketplace" for p in codes):
        return (NA, "Marketplace AMI: agentless scanning skips third-party licensed images")
    return (C, "EBS volumes of this instance can be scanned agentlessly")


def arc_egress(cfg, rel):
    kind, what = _egress(cfg, rel)
    if kind == "none":
        return (NC, f"egress unverified and no internet or proxy path ({what})")
    return (U, "firewall egress to Azure Arc cannot be proven from AWS: declare it")


CHECKS = (
    ("servers.instance-profile", instance_profile),
    ("servers.ssm-core-policy", ssm_core_policy),
    ("servers.ssm-agent-online", ssm_agent_online),
    ("servers.os-supported", os_supported),
    ("servers.agentless-eligible", agentless_eligible),
    ("servers.arc-egress", arc_egress),
)


def evaluate(item, rel):
    """Every servers check of one instance: [(check id, compliance, annotation)]."""
    cfg = configuration(item)
    out_of_scope = _scope(cfg)
    if out_of_scope:
        return [("servers.applicable", *out_of_scope)] + [(cid, *out_of_scope) for cid, _ in CHECKS] + [
            ("servers.ssm-network", *out_of_scope)
        ]
    out = [("servers.applicable", C, "running instance: in Defender for Servers' scope")]
    out += [(cid, *f(cfg, rel)) for cid, f in CHECKS]
    out.append(("servers.ssm-network", *ssm_network(cfg, rel, item.get("awsRegion", ""))))
    return out


def aggregate(results):
    """One Config evaluation for the resource, as the Rust rule reports it (shared/src/contracts/config_rule.rs)."""

    def summary(c):
        return "; ".join(f"{cid}: {a}" for cid, comp, a in results if comp == c)

    kinds = {comp for _, comp, _ in results}
    if NC in kinds:
        return NC, summary(NC)[:256]
    if U in kinds:
        return NA, ("INSUFFICIENT_DATA: " + summary(U))[:256]
    if C in kinds:
        return C, ("compliant: " + ", ".join(cid for cid, comp, _ in results if comp == C))[:256]
    return NA, summary(NA)[:256]
