//! # defender-prereqs core
//!
//! Pure domain logic shared by the CLI and the Lambda functions: it parses AWS Config
//! configuration items, joins them into a [`graph::ResourceGraph`], evaluates every prerequisite
//! check of Microsoft Defender for Cloud's AWS plans ([`checks::ALL`]) and rolls the results up
//! into per-plan readiness ([`plans`]). It has no AWS SDK dependency and does no I/O besides
//! reading local files in [`snapshot`] and [`settings`].

#[cfg(feature = "aws")]
pub mod aws;
pub mod checks;
pub mod engine;
pub mod error;
pub mod graph;
pub mod live;
pub mod metrics;
pub mod model;
pub mod pipeline;
pub mod plans;
pub mod ports;
pub mod rule;
pub mod settings;
pub mod snapshot;
pub mod state;
pub mod trail;
pub mod usecase;

pub use error::{Error, Result};
