//! `sql.os-version`: Windows Server 2012 R2+ with SQL Server 2012+.

use crate::domain::checks::support::ec2::os_of;
use crate::domain::checks::support::sql_host::{sql_application, sql_instance};
use crate::domain::checks::{Check, Ctx, Outcome, Trigger};
use crate::domain::model::types::{ec2, ssm};
use crate::domain::vocab::Compliance::{
    Compliant as C, InsufficientData as U, NonCompliant as NC, NotApplicable as NA,
};
use crate::domain::vocab::Plan;

pub(crate) fn evaluate(ctx: &Ctx<'_>) -> Outcome {
    let (inst, _) = or_return!(sql_instance(ctx));
    let Some(os) = os_of(ctx, inst) else {
        return Outcome::unknown("the operating system is not in the input");
    };
    if !os.windows {
        return Outcome::non_compliant(format!(
            "{}: Defender for SQL on machines supports SQL Server on Windows only",
            os.name
        ));
    }
    match os.windows_year {
        Some(y) if y < 2012 || (y == 2012 && !os.r2) => {
            return Outcome::non_compliant(format!("{} is older than Windows Server 2012 R2", os.name));
        }
        Some(_) => {}
        None => return Outcome::unknown(format!("{}: Windows version not known (needs SSM inventory)", os.name)),
    }
    let id = inst.instance_id.as_deref().unwrap_or(&ctx.item.resource_id);
    match sql_application(ctx, id) {
        Some((name, version)) => {
            let major = version
                .as_deref()
                .and_then(crate::domain::vocab::version_parts)
                .and_then(|v| v.first().copied());
            match major {
                // SQL Server 2012 is version 11.
                Some(m) if m < 11 => Outcome::non_compliant(format!("{name} is older than SQL Server 2012")),
                _ => Outcome::compliant(format!("{} with {name}", os.name)),
            }
        }
        None => Outcome::compliant(format!("{} (SQL Server version from inventory not available)", os.name)),
    }
}

/// `sql.os-version`: Windows Server 2012 R2+ with SQL Server 2012+.
pub static CHECK: Check = Check {
    id: "sql.os-version",
    plan: Plan::Sql,
    title: "SQL Server runs on Windows Server 2012 R2+ and is SQL Server 2012+",
    resource_types: &[ec2::INSTANCE.name],
    triggers: &[
        Trigger::ConfigChange(ec2::INSTANCE.name),
        Trigger::ConfigChange(ssm::INVENTORY.name),
    ],
    remediation: "Upgrade to Windows Server 2012 R2 or later and SQL Server 2012 or later; SQL Server on Linux is \
        not supported by Defender for SQL on machines.",
    permissions: &["ssm:DescribeInstanceInformation", "ssm:ListInventoryEntries"],
    inferred: false,
    gating: true,
    outcomes: &[C, NC, NA, U],
    evaluate,
};
