//! # defender-prereqs library
//!
//! Five layers, each a module that may use only the ones above it in this list, except that the
//! `azure` adapter uses the domain alone (`shared/tests/layers.rs` fails on any other dependency,
//! and on any cycle between modules):
//!
//! - [`domain`]: the pure core. Configuration items and the description of every resource type
//!   the checks read, the resource graph, the check catalog, the engine, plan readiness,
//!   settings, state comparison and snapshot files. No I/O besides reading local files, no AWS SDK.
//! - [`contracts`]: the wire formats of AWS and of our own outputs: Config rule invocations and
//!   PutEvaluations, CloudTrail events, the state table's stream records, the events we publish
//!   and the embedded metrics we print.
//! - [`app`]: the application: the ports (narrow traits over the outside world), collecting a
//!   changed resource and its neighbourhood through them, the three flows the functions run, and
//!   in-memory implementations of every port for fast tests.
//! - [`aws`] (feature `aws`): the AWS adapters of the ports over the AWS SDK for Rust, and the
//!   wiring each function uses.
//! - [`azure`] (feature `azure`): the Azure adapter: reads the Azure half (security connectors,
//!   health reports, role assignments) from Azure Resource Manager and Microsoft Graph into the
//!   domain's [`domain::azure::AzureSide`]. It uses only the domain.
//!
//! See ARCHITECTURE.md at the repository root for the flow of one event through them.

pub mod domain;

pub mod contracts;

pub mod app;

#[cfg(feature = "aws")]
pub mod aws;

#[cfg(feature = "azure")]
pub mod azure;

pub use domain::error::{Error, Result};
