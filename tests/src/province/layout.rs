//! The shape of one generated city: its code and division codes, its tenants in three levels
//! (the city; departments and counties; departments' units and townships) and the sites its
//! routers stand at. Every name starts with the city's code, so names are unique province-wide.

use super::CitySize;
use super::random::Stream;

/// Departments' short names (the first part of their tenants' names) and Chinese names.
const DEPARTMENTS: &[(&str, &str)] = &[
    ("finance", "财政局"),
    ("ndrc", "发展和改革委员会"),
    ("police", "公安局"),
    ("health", "卫生健康委员会"),
    ("education", "教育局"),
    ("hrss", "人力资源和社会保障局"),
    ("natres", "自然资源局"),
    ("ecology", "生态环境局"),
    ("housing", "住房和城乡建设局"),
    ("transport", "交通运输局"),
    ("water", "水利局"),
    ("agriculture", "农业农村局"),
    ("commerce", "商务局"),
    ("culture", "文化和旅游局"),
    ("emergency", "应急管理局"),
    ("samr", "市场监督管理局"),
    ("medins", "医疗保障局"),
    ("statistics", "统计局"),
    ("forestry", "林业局"),
    ("archives", "档案馆"),
    ("services", "政务服务中心"),
    ("justice", "司法局"),
    ("civil", "民政局"),
    ("audit", "审计局"),
    ("veterans", "退役军人事务局"),
];

/// The code that prefixes every name of city `index` (1-based): `c01`, `c02`, …
pub fn city_code(index: usize) -> String {
    format!("c{index:02}")
}

/// The GB/T 2260-style division code of city `index` (illustrative, in province 61).
pub fn city_division_code(index: usize) -> String {
    format!("61{index:02}00")
}

/// A tenant's level, as the `Tenant` schema names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    City,
    Department,
    County,
    Township,
}

impl Level {
    /// The schema's name of the level.
    pub fn schema_name(self) -> &'static str {
        match self {
            Self::City => "City",
            Self::Department => "Department",
            Self::County => "County",
            Self::Township => "Township",
        }
    }

    /// The value of the `govcloud.io/level` label.
    pub fn label(self) -> &'static str {
        match self {
            Self::City => "city",
            Self::Department => "department",
            Self::County => "county",
            Self::Township => "township",
        }
    }
}

/// One tenant of the city.
#[derive(Clone, Debug)]
pub struct TenantNode {
    pub name: String,
    pub display_name: String,
    pub level: Level,
    /// Index of the parent in [`CityLayout::tenants`]; parents come before their children.
    pub parent: Option<usize>,
    pub division_code: String,
    /// Indices of the children.
    pub children: Vec<usize>,
}

/// A township: its tenant and its access router share the name.
#[derive(Clone, Debug)]
pub struct Township {
    pub name: String,
    /// Number within its county, from 1.
    pub number: usize,
    pub display_name: String,
    pub division_code: String,
}

/// A county: its tenant, its core router (`<name>-core`) and its townships.
#[derive(Clone, Debug)]
pub struct County {
    pub name: String,
    /// Number within its city, from 1.
    pub number: usize,
    pub display_name: String,
    pub division_code: String,
    pub townships: Vec<Township>,
}

impl County {
    /// Its core router.
    pub fn router(&self) -> String {
        format!("{}-core", self.name)
    }
}

/// The shape of one city.
#[derive(Clone, Debug)]
pub struct CityLayout {
    /// 1-based.
    pub index: usize,
    pub code: String,
    pub display_name: String,
    pub division_code: String,
    /// Parents before children: the city first.
    pub tenants: Vec<TenantNode>,
    /// Indices of the departments in `tenants`.
    pub departments: Vec<usize>,
    pub counties: Vec<County>,
}

impl CityLayout {
    /// Lays out city `index` of `size`.
    pub fn new(index: usize, size: &CitySize, stream: &mut Stream) -> Self {
        let code = city_code(index);
        let display_name = format!("示例市{index:02}");
        let division_code = city_division_code(index);
        let mut layout = Self {
            index,
            code: code.clone(),
            display_name: display_name.clone(),
            division_code: division_code.clone(),
            tenants: vec![TenantNode {
                name: code.clone(),
                display_name: display_name.clone(),
                level: Level::City,
                parent: None,
                division_code: division_code.clone(),
                children: Vec::new(),
            }],
            departments: Vec::new(),
            counties: Vec::new(),
        };
        // Departments take names from the list in a shuffled order, so cities differ.
        let order = stream.sample(DEPARTMENTS.len(), DEPARTMENTS.len());
        let mut rotation: Vec<usize> = order;
        let start = stream.below(rotation.len());
        rotation.rotate_left(start);
        for number in 0..size.departments {
            let (short, chinese) = DEPARTMENTS[rotation[number % DEPARTMENTS.len()]];
            let round = number / DEPARTMENTS.len();
            let name = if round == 0 {
                format!("{code}-{short}")
            } else {
                format!("{code}-{short}-{}", round + 1)
            };
            let department_display = if round == 0 {
                format!("{display_name}{chinese}")
            } else {
                format!("{display_name}{chinese}（第{}分局）", round + 1)
            };
            let department = layout.push(
                name.clone(),
                department_display.clone(),
                Level::Department,
                0,
                division_code.clone(),
            );
            layout.departments.push(department);
            for unit in 1..=size.units_per_department {
                layout.push(
                    format!("{name}-u{unit}"),
                    format!("{department_display}直属第{unit}中心"),
                    Level::Department,
                    department,
                    division_code.clone(),
                );
            }
        }
        for number in 1..=size.counties {
            let name = format!("{code}-county{number:02}");
            let county_display = format!("{display_name}第{number}县");
            let county_division = format!("61{index:02}{number:02}");
            let county = layout.push(
                name.clone(),
                county_display.clone(),
                Level::County,
                0,
                county_division.clone(),
            );
            let mut townships = Vec::new();
            for township in 1..=size.townships_per_county {
                // Streets (街道, 0xx) first, then towns (镇, 1xx), as division codes number them.
                let streets = size.townships_per_county.div_ceil(4);
                let (kind, local) = if township <= streets {
                    ("街道", township)
                } else {
                    ("镇", 100 + township - streets)
                };
                let township_name = format!("{name}-t{township:02}");
                let township_display = format!("{county_display}第{township}{kind}");
                let township_division = format!("{county_division}{local:03}");
                layout.push(
                    township_name.clone(),
                    township_display.clone(),
                    Level::Township,
                    county,
                    township_division.clone(),
                );
                townships.push(Township {
                    name: township_name,
                    number: township,
                    display_name: township_display,
                    division_code: township_division,
                });
            }
            layout.counties.push(County {
                name,
                number,
                display_name: county_display,
                division_code: county_division,
                townships,
            });
        }
        layout
    }

    fn push(
        &mut self,
        name: String,
        display_name: String,
        level: Level,
        parent: usize,
        division_code: String,
    ) -> usize {
        let index = self.tenants.len();
        self.tenants.push(TenantNode {
            name,
            display_name,
            level,
            parent: Some(parent),
            division_code,
            children: Vec::new(),
        });
        self.tenants[parent].children.push(index);
        index
    }

    /// The city core router.
    pub fn core_router(&self) -> String {
        format!("{}-core", self.code)
    }

    /// The router of the city's off-site DR centre, a second city-level site.
    pub fn dr_router(&self) -> String {
        format!("{}-dr", self.code)
    }

    /// The e-mail domain of the city (under example.org).
    pub fn domain(&self) -> String {
        format!("{}.example.org", self.code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_come_before_children_and_names_are_unique() {
        let layout = CityLayout::new(3, &CitySize::large(), &mut Stream::new(1));
        assert_eq!(layout.tenants.len(), CitySize::large().tenants());
        let mut names: Vec<&str> = layout.tenants.iter().map(|t| t.name.as_str()).collect();
        assert!(names.iter().all(|n| n.starts_with("c03") && n.len() <= 63));
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), layout.tenants.len());
        for (index, tenant) in layout.tenants.iter().enumerate() {
            if let Some(parent) = tenant.parent {
                assert!(parent < index);
                assert!(layout.tenants[parent].children.contains(&index));
            }
        }
    }
}
