//! A synthetic province of municipal government clouds, for scale and fault tests and for the
//! province benchmark: `cities` cities shaped like the Ankang example (tenants in three levels,
//! routers and their extranet links, IPv6 pools, systems to migrate with their campaign,
//! dedicated networks, disaster recovery, provincial reporting), written as manifests that
//! `kubectl apply --server-side -f DIR` and `govcloud-controller local --seed DIR` apply in
//! file-name order. The same spec always gives byte-identical files.
//!
//! ```no_run
//! use govcloud_tests::province::{CitySize, ProvinceSpec, generate};
//! let province = generate(&ProvinceSpec { seed: 1, cities: 3, city: CitySize::small() });
//! let files = province.write_to(std::path::Path::new("province"))?;
//! println!("{} objects in {} files", province.object_count(), files.len());
//! # Ok::<(), std::io::Error>(())
//! ```

mod address_plan;
mod disaster_recovery;
mod layout;
mod manifest;
mod network;
mod networks;
mod quota;
mod random;
mod reporting;
mod systems;
mod tenants;

pub use address_plan::{MAX_CITIES, city_pool_prefix, dr_pool_prefix};
pub use layout::{city_code, city_division_code};
pub use manifest::{ManifestFile, Province};

use layout::CityLayout;
use manifest::Slot;
use random::Stream;

/// What to generate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProvinceSpec {
    /// Seed of every random choice; the same spec gives the same files.
    pub seed: u64,
    /// Number of cities (1 to [`MAX_CITIES`]).
    pub cities: usize,
    /// The size of every city.
    pub city: CitySize,
}

/// The size of one city.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CitySize {
    /// Departments (市级部门), children of the city tenant.
    pub departments: usize,
    /// Sub-units of each department (its centres and bureaus), the third level of tenants.
    pub units_per_department: usize,
    /// County-level units (县、市、区): a tenant and a county core router each.
    pub counties: usize,
    /// Townships and streets of each county: a tenant and an access router each.
    pub townships_per_county: usize,
    /// Systems of the migration campaign (`SystemMigration`), about 1 % of them classified.
    pub systems: usize,
    /// Dedicated networks to consolidate, classified and unclassified.
    pub dedicated_networks: usize,
    /// Departments with a disaster recovery plan (the first of them also has a drill).
    pub dr_plans: usize,
}

impl CitySize {
    /// A city at the scale of a real one: about 500 tenants, 152 routers with 151 links,
    /// 5,000 systems and 50 dedicated networks, about 6,400 objects.
    pub fn large() -> Self {
        Self {
            departments: 50,
            units_per_department: 6,
            counties: 10,
            townships_per_county: 14,
            systems: 5000,
            dedicated_networks: 50,
            dr_plans: 5,
        }
    }

    /// A city for tests: 21 tenants, 10 routers, 200 systems, about 280 objects.
    pub fn small() -> Self {
        Self {
            departments: 4,
            units_per_department: 2,
            counties: 2,
            townships_per_county: 3,
            systems: 200,
            dedicated_networks: 6,
            dr_plans: 2,
        }
    }

    /// Tenants of one city: the city, departments and their units, counties and townships.
    pub fn tenants(&self) -> usize {
        1 + self.departments * (1 + self.units_per_department)
            + self.counties * (1 + self.townships_per_county)
    }

    /// Routers of one city: the city core, the DR centre, county cores and townships.
    pub fn routers(&self) -> usize {
        2 + self.counties * (1 + self.townships_per_county)
    }

    /// Extranet links of one city: one per county and township, and one to the DR centre.
    pub fn links(&self) -> usize {
        1 + self.counties * (1 + self.townships_per_county)
    }
}

impl Default for CitySize {
    fn default() -> Self {
        Self::large()
    }
}

/// The largest sizes the generator supports, set by the schemas (a router has at most 256
/// interfaces, two per link member pair) and by the names and division codes it makes.
pub const MAX_COUNTIES: usize = 99;
/// See [`MAX_COUNTIES`].
pub const MAX_TOWNSHIPS_PER_COUNTY: usize = 120;
/// See [`MAX_COUNTIES`].
pub const MAX_DEPARTMENTS: usize = 99;
/// See [`MAX_COUNTIES`].
pub const MAX_UNITS_PER_DEPARTMENT: usize = 50;

/// A spec the generator cannot honour.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProvinceError {
    /// A count is outside what the generator supports.
    #[error("{what} must be between {min} and {max}, not {value}")]
    OutOfRange {
        what: &'static str,
        value: usize,
        min: usize,
        max: usize,
    },
}

impl ProvinceSpec {
    /// Checks that every count is one the generator supports.
    pub fn validate(&self) -> Result<(), ProvinceError> {
        let checks = [
            ("cities", self.cities, 1, MAX_CITIES),
            ("departments", self.city.departments, 1, MAX_DEPARTMENTS),
            (
                "units per department",
                self.city.units_per_department,
                0,
                MAX_UNITS_PER_DEPARTMENT,
            ),
            ("counties", self.city.counties, 1, MAX_COUNTIES),
            (
                "townships per county",
                self.city.townships_per_county,
                0,
                MAX_TOWNSHIPS_PER_COUNTY,
            ),
            ("systems", self.city.systems, 1, 1_000_000),
            (
                "dedicated networks",
                self.city.dedicated_networks,
                0,
                10_000,
            ),
            ("DR plans", self.city.dr_plans, 0, self.city.departments),
        ];
        for (what, value, min, max) in checks {
            if value < min || value > max {
                return Err(ProvinceError::OutOfRange {
                    what,
                    value,
                    min,
                    max,
                });
            }
        }
        Ok(())
    }
}

/// Generates the province of `spec`.
///
/// # Panics
///
/// When `spec` is out of range; call [`ProvinceSpec::validate`] first on a spec from outside.
pub fn generate(spec: &ProvinceSpec) -> Province {
    if let Err(error) = spec.validate() {
        panic!("cannot generate this province: {error}");
    }
    let root = Stream::new(spec.seed);
    let mut province = Province::new(spec.clone());
    for index in 1..=spec.cities {
        let mut stream = root.fork(index as u64);
        let layout = CityLayout::new(index, &spec.city, &mut stream);
        let systems = systems::plan(&layout, spec.city.systems, &mut stream);
        let quotas = quota::plan(&layout, &systems, &mut stream);
        let code = &layout.code;
        province.add(Slot::Namespaces, code, tenants::namespaces(&layout));
        province.add(Slot::Tenants, code, tenants::tenants(&layout, &quotas));
        province.add(Slot::QuotaRequests, code, quota::requests(&layout, &quotas));
        province.add(Slot::Routers, code, network::routers(&layout));
        province.add(
            Slot::ExtranetLinks,
            code,
            network::links(&layout, &mut stream),
        );
        province.add(Slot::AddressPools, code, address_plan::pools(&layout));
        province.add(
            Slot::DedicatedNetworks,
            code,
            networks::dedicated_networks(&layout, spec.city.dedicated_networks, &mut stream),
        );
        province.add(Slot::Systems, code, systems::manifests(&layout, &systems));
        province.add(
            Slot::MigrationPlan,
            code,
            vec![systems::campaign(&layout, spec.city.systems)],
        );
        province.add(Slot::QuotaReview, code, vec![quota::review(&layout)]);
        province.add(
            Slot::DisasterRecovery,
            code,
            disaster_recovery::plans(&layout, spec.city.dr_plans),
        );
        province.add(
            Slot::ProvincialReporting,
            code,
            vec![reporting::reporting(&layout)],
        );
    }
    province
}
