//! `govcloud-agent`: runs on each Linux router of the government extranet, observes links,
//! addresses and routes through netlink, reports telemetry to the controller over mutual TLS,
//! and converges the kernel to the configuration the controller derives (issues 6 and 7).
