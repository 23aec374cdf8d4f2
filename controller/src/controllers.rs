//! The controllers the leader runs — the same in `run` and in local mode, which share one
//! composition (`operator::start` → `runtime::run_controllers` → each capability's `run`) — with
//! the kind each reconciles and the field manager of the status it writes. The architecture page
//! lists exactly these; a test compares them, and counts the `Controller::new` calls in the
//! source so that a controller cannot be started without being listed here.

use crate::{addressing, consolidation, migration, network, tenancy};

/// One controller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ControllerInfo {
    /// Its name in metrics (`govcloud_reconciliations_total{controller}`) and logs.
    pub name: &'static str,
    /// The kind it reconciles.
    pub reconciles: &'static str,
    /// The field manager of what it writes.
    pub field_manager: &'static str,
    /// The capability (module of the controller crate) that starts it.
    pub capability: &'static str,
}

/// Every controller, in the order the capabilities start them.
pub const CONTROLLERS: &[ControllerInfo] = &[
    ControllerInfo {
        name: tenancy::controller::CONTROLLER,
        reconciles: "Tenant",
        field_manager: tenancy::controller::FIELD_MANAGER,
        capability: "tenancy",
    },
    ControllerInfo {
        name: tenancy::request_controller::CONTROLLER,
        reconciles: "QuotaRequest",
        field_manager: tenancy::request_controller::FIELD_MANAGER,
        capability: "tenancy",
    },
    ControllerInfo {
        name: migration::system_controller::CONTROLLER,
        reconciles: "SystemMigration",
        field_manager: migration::system_controller::FIELD_MANAGER,
        capability: "migration",
    },
    ControllerInfo {
        name: migration::plan_controller::CONTROLLER,
        reconciles: "MigrationPlan",
        field_manager: migration::plan_controller::FIELD_MANAGER,
        capability: "migration",
    },
    ControllerInfo {
        name: network::router_controller::CONTROLLER,
        reconciles: "Router",
        field_manager: network::router_controller::FIELD_MANAGER,
        capability: "network",
    },
    ControllerInfo {
        name: network::link_controller::CONTROLLER,
        reconciles: "ExtranetLink",
        field_manager: network::link_controller::FIELD_MANAGER,
        capability: "network",
    },
    ControllerInfo {
        name: addressing::controller::CONTROLLER,
        reconciles: "AddressPool",
        field_manager: addressing::controller::FIELD_MANAGER,
        capability: "addressing",
    },
    ControllerInfo {
        name: addressing::controller::ROUTER_CONTROLLER,
        reconciles: "Router",
        field_manager: addressing::controller::ROUTER_FIELD_MANAGER,
        capability: "addressing",
    },
    ControllerInfo {
        name: consolidation::controller::CONTROLLER,
        reconciles: "DedicatedNetwork",
        field_manager: consolidation::controller::FIELD_MANAGER,
        capability: "consolidation",
    },
];

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn names_and_field_managers_are_distinct() {
        let names: BTreeSet<_> = CONTROLLERS.iter().map(|c| c.name).collect();
        let managers: BTreeSet<_> = CONTROLLERS.iter().map(|c| c.field_manager).collect();
        assert_eq!(names.len(), CONTROLLERS.len());
        assert_eq!(managers.len(), CONTROLLERS.len());
    }
}
