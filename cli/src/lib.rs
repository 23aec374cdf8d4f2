//! `govctl`: the self-service command line of departments, counties, network engineers and
//! auditors, speaking to the controller's HTTPS API with a tenant-scoped token.
//!
//! [`cli`] holds the clap types alone; [`settings`] resolves flags, environment and the settings
//! file after parsing; [`client`] is the API, one typed method per endpoint; [`output`] renders
//! the API's views; [`inventory`] (CSV) and [`manifests`] (YAML) read the systems that
//! `govctl migration submit` sends; [`commands`] ties them together; [`exit`] maps errors to
//! exit codes.

pub mod cli;
pub mod client;
pub mod commands;
pub mod exit;
pub mod inventory;
pub mod manifests;
pub mod output;
pub mod settings;
