//! The government network: routers, extranet link pairs, the IPv6 plan and dedicated networks.

pub mod address_pool;
pub mod dedicated_network;
pub mod extranet_link;
pub mod router;
