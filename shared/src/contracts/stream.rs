//! The state table's stream records, as the readiness rollup reads them: which rows are results,
//! and whose account they belong to. The key layout itself is the DynamoDB adapter's
//! (`aws::dynamo`); this is the part of it the rollup's input contract depends on.

/// The account of a result row's keys (`RES#<account>#<region>#<type>#<id>`, `CHECK#<check>`),
/// or `None` for the table's other rows (history, plan readiness), which do not affect readiness.
pub fn result_row_account<'a>(pk: &'a str, sk: &str) -> Option<&'a str> {
    if !sk.starts_with("CHECK#") {
        return None;
    }
    let rest = pk.strip_prefix("RES#")?;
    rest.split('#').next().filter(|a| !a.is_empty())
}
