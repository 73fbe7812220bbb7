//! The application: ports, collection through them, and the flows the functions run.

pub mod ports;

pub mod collect;

pub mod record;

pub mod flows;

pub mod pace;

pub mod error;

pub mod memory;
