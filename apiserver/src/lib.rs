//! `govcloud-apiserver`: a single-node, Kubernetes-compatible API server on SQLite, for local
//! mode and tests (DESIGN.md §6). Generic: it knows nothing of govcloud's kinds; custom resources
//! are served once their CRDs are created.

pub mod builtin;
pub mod error;
pub mod resource;
