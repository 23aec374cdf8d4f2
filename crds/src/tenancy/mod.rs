//! Tenancy: departments and counties as tenants, and their requests for quota.

pub mod quota_request;
pub mod tenant;
