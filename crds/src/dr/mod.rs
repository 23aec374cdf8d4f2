//! Disaster recovery: a tenant's recovery objectives and backups, and the drills that prove them.

pub mod drill;
pub mod plan;
