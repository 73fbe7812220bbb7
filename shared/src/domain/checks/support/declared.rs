//! Facts AWS Config cannot show, declared in settings.

use crate::domain::checks::Outcome;

/// Outcome of a declared fact: COMPLIANT if declared true, NON_COMPLIANT if false, unknown if absent.
pub(crate) fn declared(fact: Option<bool>, what: &str, key: &str, how: &str) -> Outcome {
    match fact {
        Some(true) => Outcome::compliant(format!("declared: {what} (settings facts.{key})")),
        Some(false) => Outcome::non_compliant(format!("declared not met: {what} (settings facts.{key})")),
        None => Outcome::unknown(format!("not declared: {what}; {how}, then set facts.{key} in settings")),
    }
}
