//! `govctl`: the self-service command line of departments, counties, network engineers and
//! auditors, speaking to the controller's HTTPS API with a tenant-scoped token (issue 4).
