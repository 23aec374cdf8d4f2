//! `govcloud-apiserver`: a single-node, Kubernetes-compatible API server on SQLite, for local
//! mode and tests (issue 3). Generic: it knows nothing of govcloud's kinds.
