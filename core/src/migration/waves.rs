//! Waves: a system's wave is one more than the latest wave of its dependencies (1 without
//! any). Completed systems keep their wave (they count as done in it) but take no window;
//! blocked and classified systems have none.

use super::graph::Graph;
use super::input::SystemInput;

/// The wave of every system, by index; `None` for blocked and classified systems.
pub fn assign(systems: &[SystemInput], graph: &Graph) -> Vec<Option<u32>> {
    let mut waves: Vec<Option<u32>> = vec![None; systems.len()];
    for &v in graph.order() {
        let v = v as usize;
        if systems[v].is_classified() || graph.block(v).is_some() {
            continue;
        }
        // Dependencies come first in the order; a completed system may depend on one without
        // a wave (blocked or classified), which is ignored: it is done all the same.
        let latest = graph
            .dependencies(v)
            .iter()
            .filter_map(|&d| waves[d as usize])
            .max()
            .unwrap_or(0);
        waves[v] = Some(latest.saturating_add(1));
    }
    waves
}

#[cfg(test)]
mod tests {
    use govcloud_crds::migration::system::MigrationPhase;

    use super::*;
    use crate::migration::testing::system;

    #[test]
    fn a_wave_follows_the_latest_dependency() {
        let mut done = system("a/done", &[]);
        done.phase = MigrationPhase::Completed;
        let systems = [
            system("a/base", &[]),
            system("a/mid", &["a/base"]),
            system("a/top", &["a/mid", "a/base", "a/done"]),
            done,
            system("a/broken", &["a/ghost"]),
        ];
        let graph = Graph::build(&systems).expect("builds");
        assert_eq!(
            assign(&systems, &graph),
            vec![Some(1), Some(2), Some(3), Some(1), None]
        );
    }
}
