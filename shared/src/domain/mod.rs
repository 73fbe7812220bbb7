//! The pure core: what a configuration item says, how resources relate, what each check decides
//! and how results roll up into plan readiness. Depends on nothing outside this module.
//!
//! Modules, bottom first (each uses only those before it): [`vocab`], [`error`], [`azure`], [`settings`],
//! [`model`], [`graph`], [`checks`], [`plans`], [`engine`], [`state`], [`snapshot`].

pub mod vocab;

pub mod error;

pub mod azure;

pub mod settings;

pub mod model;

pub mod graph;

pub mod checks;

pub mod plans;

pub mod engine;

pub mod state;

pub mod snapshot;
