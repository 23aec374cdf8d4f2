//! `govcloud-apiserver`: a single-node, Kubernetes-compatible API server on SQLite, for local
//! mode and tests (ADR 0004). Generic: it knows nothing of govcloud's kinds; custom resources
//! are served once their CRDs are created.

pub mod admission;
pub mod api;
pub mod audit;
pub mod auth;
pub mod builtin;
pub mod discovery;
pub mod error;
pub mod jsonpath;
pub mod kubeconfig;
pub mod openapi;
pub mod patch;
pub mod pki;
pub mod request;
pub mod resource;
pub mod selector;
pub mod server;
pub mod store;
pub mod table;
pub mod tls;
