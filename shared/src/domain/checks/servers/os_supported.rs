//! `servers.os-supported`: the instance runs an Azure Arc-supported OS.

use crate::domain::checks::support::ec2::{instance_or_na, os_of};
use crate::domain::checks::{Check, Ctx, Outcome, Trigger};
use crate::domain::model::types::{ec2, ssm};
use crate::domain::vocab::Compliance::{
    Compliant as C, InsufficientData as U, NonCompliant as NC, NotApplicable as NA,
};
use crate::domain::vocab::Plan;

pub(crate) fn evaluate(ctx: &Ctx<'_>) -> Outcome {
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
    // EC2's platformDetails names a billing product, not always a distribution: "Linux/UNIX" and
    // the licence-included "Linux with SQL Server Standard/Web/Enterprise" (Ubuntu, RHEL, SLES or
    // Amazon Linux 2 images) say only that it is Linux.
    if lower.starts_with("linux") {
        return Outcome::unknown(format!(
            "platformDetails \"{}\" does not name the Linux distribution; SSM inventory (PlatformName) would",
            os.name
        ));
    }
    Outcome::non_compliant(format!("{} is not an Azure Arc-supported operating system", os.name))
}

/// `servers.os-supported`: the instance runs an Azure Arc-supported OS.
pub static CHECK: Check = Check {
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
    gating: true,
    outcomes: &[C, NC, NA, U],
    evaluate,
};
