//! Test support: a loopback stand-in for AWS JSON-1.1 services that records every request.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod azure;
pub mod config_world;
pub mod denied;
pub mod fixtures;
pub mod http;
pub mod iam;
pub mod lambda;
pub mod moto;
pub mod proxy;
pub mod runtime_api;
pub mod stream;
pub mod stub;
