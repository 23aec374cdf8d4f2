//! Router agents: enrollment and telemetry.
//!
//! - **The agent CA** ([`ca`]): a CA of its own under the data directory
//!   (`pki/agents-ca.{crt,key}`), separate from the API server's. It signs each router's client
//!   certificate (subject common name = the router's name, random serial) with a key generated
//!   by the controller or from the router's CSR, and the agent listener's serving certificate.
//! - **Enrollment** ([`enrollment`]): `POST|GET /v1/routers/{name}/certificates` and
//!   `POST …/{serial}/revocation` on the controller's API, for operations of a root tenant;
//!   certificates are recorded by serial in SQL (never their keys) and audited.
//! - **The agent listener** ([`listener`]): HTTPS on its own port with mutual TLS; a handshake
//!   without a certificate of the agent CA fails. Each request's certificate is checked against
//!   SQL ([`peer`]): unknown or revoked serials are refused at once.
//! - **Telemetry** ([`telemetry`], [`report`]): `POST /v1/telemetry` accepts a
//!   `TelemetryReport` only for the certificate's router and an existing `Router`, checks it,
//!   and stores its links as samples with the report's record in one transaction; a report
//!   sent twice is stored once. Refusals are logged and counted by reason.
//! - **Desired configuration** ([`config`]): `GET /v1/config` serves the certificate's router
//!   its configuration (`crate::routing`) with its generation and an `ETag`; `If-None-Match`
//!   and `?waitSeconds=N` make it a conditional GET or a long poll.
//!
//! See `docs/adr/0008-agent-enrollment-and-telemetry.md`.

pub mod ca;
pub mod config;
pub mod enrollment;
pub mod identity;
pub mod listener;
pub mod peer;
pub mod report;
pub mod state;
pub mod telemetry;

pub use ca::{AgentCa, CaError, KeySource};
pub use config::CONFIG_PATH;
pub use listener::{AgentApiConfig, AgentApiError, RunningAgentApi, TELEMETRY_PATH, serve};
