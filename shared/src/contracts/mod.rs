//! Wire contracts: what AWS sends us and what we send to AWS and to subscribers, parsed into and
//! rendered from the domain's types. No I/O.

pub mod cloudtrail;

pub mod config_rule;

pub mod metrics;

pub mod events;
/// Security Hub findings (ASFF) of recorded results.
pub mod findings;

pub mod config_query;
pub mod stream;
