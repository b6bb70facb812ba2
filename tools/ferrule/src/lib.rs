//! Ferrule admin CLI library: config model and validation, configfs access (real and fake),
//! declarative apply, readers for status/devices/sessions, and importers.
#![deny(missing_docs)]

pub mod cli;
pub mod fake;
pub mod fs;
pub mod import;
pub mod model;
pub mod parse;
pub mod plan;
pub mod read;
pub mod table;
pub mod wwpn;
