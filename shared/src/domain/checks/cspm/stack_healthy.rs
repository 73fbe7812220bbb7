//! `cspm.stack-healthy`: the connector's CloudFormation stack completed.

use crate::domain::checks::{Check, Ctx, Outcome, Trigger};
use crate::domain::model::types::cloudformation;
use crate::domain::model::Resource;
use crate::domain::vocab::Compliance::{
    Compliant as C, InsufficientData as U, NonCompliant as NC, NotApplicable as NA,
};
use crate::domain::vocab::Plan;

pub(crate) fn evaluate(ctx: &Ctx<'_>) -> Outcome {
    let Resource::CfnStack(stack) = &ctx.item.resource else {
        return Outcome::not_applicable("not a CloudFormation stack");
    };
    let names = &ctx.settings.connector_stack_names;
    let name = stack
        .stack_name
        .as_deref()
        .or(ctx.item.resource_name.as_deref())
        .unwrap_or_default();
    if names.is_empty() {
        return Outcome::not_applicable("no connector stack configured (settings connector_stack_names)");
    }
    if !names.iter().any(|n| n == name) {
        return Outcome::not_applicable(format!("stack {name} is not a configured connector stack"));
    }
    match stack.stack_status.as_deref() {
        None => Outcome::unknown(format!("stack {name}: StackStatus is not in the configuration item")),
        Some(s) if s.contains("FAILED") || s.contains("ROLLBACK") => {
            Outcome::non_compliant(format!("connector stack {name} is {s}"))
        }
        Some(s) if s.ends_with("_COMPLETE") => Outcome::compliant(format!("connector stack {name} is {s}")),
        Some(s) => Outcome::unknown(format!("connector stack {name} is {s} (in progress)")),
    }
}

/// `cspm.stack-healthy`: the connector's CloudFormation stack completed.
pub static CHECK: Check = Check {
    id: "cspm.stack-healthy",
    plan: Plan::Cspm,
    title: "Connector CloudFormation stack is in a complete state",
    resource_types: &[cloudformation::STACK.name],
    triggers: &[Trigger::ConfigChange(cloudformation::STACK.name)],
    remediation: "Open the stack's events in CloudFormation, fix the failed resource (often a name clash with an \
        existing OIDC provider or role) and update the stack; delete stacks stuck in ROLLBACK_COMPLETE and redeploy. \
        The StackStatus path in the configuration item is inferred.",
    permissions: &["cloudformation:DescribeStacks"],
    inferred: true,
    gating: true,
    outcomes: &[C, NC, NA, U],
    evaluate,
};
