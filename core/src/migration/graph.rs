//! The dependency graph of the campaign: dependencies resolved to systems, cycles found with
//! Tarjan's algorithm (iterative, so a long chain cannot overflow the stack, and linear, so a
//! cycle is reported rather than looped on), and the systems that cannot be scheduled.
//!
//! A system is blocked when a dependency is missing, when it depends on a classified system,
//! when it is on a cycle (a self-loop is a cycle of one), or when one of its dependencies is
//! blocked. Completed and classified systems are never blocked: the first are done, the second
//! never move.

use std::collections::HashMap;
use std::fmt;

use govcloud_crds::migration::plan::BlockerReason;

use super::error::PlanError;
use super::input::{Hold, SystemInput};

/// Why one system cannot be scheduled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Block {
    /// The system is on a dependency cycle.
    Cycle,
    /// A dependency names no selected system.
    MissingDependency { dependency: String },
    /// A dependency is classified and never migrates.
    ClassifiedDependency { dependency: String },
    /// A dependency is blocked; `root` is why the chain is.
    DependencyBlocked {
        dependency: String,
        root: BlockerReason,
    },
    /// No occurrence of the windows within the planning horizon can take the system.
    NoWindow,
    /// The system itself cannot proceed until operations act (a hard [`Hold`]).
    ///
    /// [`Hold`]: super::input::Hold
    Held { reason: BlockerReason },
}

impl Block {
    /// The status reason this block is counted under. The CRD has no reason of its own for a
    /// blocked dependency, so such a system is counted under its chain's root reason.
    pub fn reason(&self) -> BlockerReason {
        match self {
            Self::Cycle => BlockerReason::DependencyCycle,
            Self::MissingDependency { .. } => BlockerReason::MissingDependency,
            Self::ClassifiedDependency { .. } => BlockerReason::ClassifiedDependency,
            Self::DependencyBlocked { root, .. } => *root,
            Self::NoWindow => BlockerReason::NoWindowBeforeDeadline,
            Self::Held { reason } => *reason,
        }
    }
}

impl fmt::Display for Block {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cycle => f.write_str("the system is on a dependency cycle"),
            Self::MissingDependency { dependency } => {
                write!(f, "dependency {dependency} does not exist")
            }
            Self::ClassifiedDependency { dependency } => {
                write!(
                    f,
                    "dependency {dependency} is classified and never migrates"
                )
            }
            Self::DependencyBlocked { dependency, root } => {
                write!(f, "dependency {dependency} is blocked ({root:?})")
            }
            Self::NoWindow => f.write_str("no maintenance window within the planning horizon"),
            Self::Held { reason } => write!(f, "the system itself is blocked ({reason:?})"),
        }
    }
}

/// The resolved graph: edges from a system to its dependencies, in compressed rows.
#[derive(Clone, Debug)]
pub struct Graph {
    offsets: Vec<u32>,
    targets: Vec<u32>,
    /// Every system, dependencies before their dependents (cycle members together).
    order: Vec<u32>,
    /// Whether each system is on a cycle.
    on_cycle: Vec<bool>,
    /// Why each system is blocked, if it is.
    blocks: Vec<Option<Block>>,
}

const UNVISITED: u32 = u32::MAX;

impl Graph {
    /// Builds the graph of `systems`, finds its cycles and blocked systems.
    pub fn build(systems: &[SystemInput]) -> Result<Self, PlanError> {
        let count = systems.len();
        let mut index: HashMap<&str, u32> = HashMap::with_capacity(count);
        for (i, system) in (0u32..).zip(systems) {
            if index.insert(system.key.as_str(), i).is_some() {
                return Err(PlanError::DuplicateSystem {
                    system: system.key.clone(),
                });
            }
        }
        let mut offsets = Vec::with_capacity(count + 1);
        let mut targets = Vec::with_capacity(systems.iter().map(|s| s.depends_on.len()).sum());
        let mut blocks: Vec<Option<Block>> = vec![None; count];
        offsets.push(0);
        for (system, block) in systems.iter().zip(&mut blocks) {
            let schedulable = !system.is_completed() && !system.is_classified();
            if schedulable && let Some(Hold::Hard(reason)) = system.hold {
                *block = Some(Block::Held { reason });
            }
            for dependency in &system.depends_on {
                match index.get(dependency.as_str()) {
                    Some(&target) => {
                        targets.push(target);
                        if schedulable
                            && block.is_none()
                            && systems[target as usize].is_classified()
                        {
                            *block = Some(Block::ClassifiedDependency {
                                dependency: dependency.clone(),
                            });
                        }
                    }
                    None if schedulable
                        && !matches!(block, Some(Block::MissingDependency { .. })) =>
                    {
                        *block = Some(Block::MissingDependency {
                            dependency: dependency.clone(),
                        });
                    }
                    None => {}
                }
            }
            offsets.push(u32::try_from(targets.len()).unwrap_or(u32::MAX));
        }
        let mut graph = Self {
            offsets,
            targets,
            order: Vec::with_capacity(count),
            on_cycle: vec![false; count],
            blocks,
        };
        graph.tarjan();
        graph.propagate(systems);
        Ok(graph)
    }

    /// Number of systems.
    pub fn len(&self) -> usize {
        self.on_cycle.len()
    }

    /// Whether there are no systems.
    pub fn is_empty(&self) -> bool {
        self.on_cycle.is_empty()
    }

    /// The dependencies of system `i`, as indices.
    pub fn dependencies(&self, i: usize) -> &[u32] {
        &self.targets[self.offsets[i] as usize..self.offsets[i + 1] as usize]
    }

    /// Every system, dependencies first.
    pub fn order(&self) -> &[u32] {
        &self.order
    }

    /// Whether system `i` is on a cycle.
    pub fn on_cycle(&self, i: usize) -> bool {
        self.on_cycle[i]
    }

    /// Why system `i` is blocked, if it is.
    pub fn block(&self, i: usize) -> Option<&Block> {
        self.blocks[i].as_ref()
    }

    /// Every system's block, by index.
    pub fn blocks(&self) -> &[Option<Block>] {
        &self.blocks
    }

    /// Into every system's block, by index.
    pub fn into_blocks(self) -> Vec<Option<Block>> {
        self.blocks
    }

    /// Tarjan's strongly connected components, iteratively. Components come out in reverse
    /// topological order of the edges system → dependency, i.e. dependencies first, which is
    /// the order every later stage walks.
    fn tarjan(&mut self) {
        let count = self.on_cycle.len();
        let mut index = vec![UNVISITED; count];
        let mut low = vec![0u32; count];
        let mut on_stack = vec![false; count];
        let mut stack: Vec<u32> = Vec::new();
        let mut calls: Vec<(u32, u32)> = Vec::new();
        let mut counter = 0u32;
        for root in 0..count {
            if index[root] != UNVISITED {
                continue;
            }
            let root = u32::try_from(root).unwrap_or(u32::MAX);
            index[root as usize] = counter;
            low[root as usize] = counter;
            counter += 1;
            stack.push(root);
            on_stack[root as usize] = true;
            calls.push((root, self.offsets[root as usize]));
            while let Some(frame) = calls.last_mut() {
                let (v32, position) = (frame.0, frame.1);
                let v = v32 as usize;
                if position < self.offsets[v + 1] {
                    frame.1 += 1;
                    let w32 = self.targets[position as usize];
                    let w = w32 as usize;
                    if index[w] == UNVISITED {
                        index[w] = counter;
                        low[w] = counter;
                        counter += 1;
                        stack.push(w32);
                        on_stack[w] = true;
                        calls.push((w32, self.offsets[w]));
                    } else if on_stack[w] {
                        low[v] = low[v].min(index[w]);
                    }
                    continue;
                }
                calls.pop();
                if let Some(parent) = calls.last() {
                    let parent = parent.0 as usize;
                    low[parent] = low[parent].min(low[v]);
                }
                if low[v] == index[v] {
                    let first = self.order.len();
                    while let Some(w) = stack.pop() {
                        on_stack[w as usize] = false;
                        self.order.push(w);
                        if w as usize == v {
                            break;
                        }
                    }
                    let cyclic =
                        self.order.len() - first > 1 || self.dependencies(v).contains(&v32);
                    if cyclic {
                        for &w in &self.order[first..] {
                            self.on_cycle[w as usize] = true;
                        }
                    }
                }
            }
        }
    }

    /// Marks cycle members, then blocks every system with a blocked dependency, walking
    /// dependencies first so that a chain is settled in one pass.
    fn propagate(&mut self, systems: &[SystemInput]) {
        for position in 0..self.order.len() {
            let v = self.order[position] as usize;
            let system = &systems[v];
            if system.is_completed() || system.is_classified() {
                continue;
            }
            if self.on_cycle[v] {
                self.blocks[v] = Some(Block::Cycle);
                continue;
            }
            if self.blocks[v].is_some() {
                continue;
            }
            let blocked = self.dependencies(v).iter().find_map(|&d| {
                self.blocks[d as usize]
                    .as_ref()
                    .map(|block| Block::DependencyBlocked {
                        dependency: systems[d as usize].key.clone(),
                        root: block.reason(),
                    })
            });
            self.blocks[v] = blocked;
        }
    }
}

#[cfg(test)]
mod tests {
    use govcloud_crds::common::Classification;
    use govcloud_crds::migration::system::MigrationPhase;

    use super::*;
    use crate::migration::testing::system;

    fn blocks(systems: &[SystemInput]) -> Vec<Option<Block>> {
        Graph::build(systems).expect("builds").into_blocks()
    }

    #[test]
    fn reports_a_missing_dependency_naming_it() {
        let systems = [system("a/x", &["a/ghost"]), system("a/y", &["a/x"])];
        let blocks = blocks(&systems);
        assert_eq!(
            blocks[0],
            Some(Block::MissingDependency {
                dependency: "a/ghost".to_owned()
            })
        );
        assert_eq!(
            blocks[1],
            Some(Block::DependencyBlocked {
                dependency: "a/x".to_owned(),
                root: BlockerReason::MissingDependency
            })
        );
        assert_eq!(
            blocks[1].as_ref().map(ToString::to_string).as_deref(),
            Some("dependency a/x is blocked (MissingDependency)")
        );
    }

    #[test]
    fn blocks_dependents_of_classified_systems_but_not_the_classified() {
        let mut secret = system("a/secret", &[]);
        secret.classification = Classification::Classified;
        let systems = [secret, system("a/x", &["a/secret"])];
        let blocks = blocks(&systems);
        assert_eq!(blocks[0], None);
        assert_eq!(
            blocks[1].as_ref().map(Block::reason),
            Some(BlockerReason::ClassifiedDependency)
        );
    }

    #[test]
    fn reports_every_system_on_a_cycle_and_blocks_dependents() {
        let systems = [
            system("a/one", &["a/two"]),
            system("a/two", &["a/three"]),
            system("a/three", &["a/one"]),
            system("a/after", &["a/two"]),
            system("a/free", &[]),
            system("a/selfish", &["a/selfish"]),
        ];
        let graph = Graph::build(&systems).expect("builds");
        for i in [0, 1, 2, 5] {
            assert!(graph.on_cycle(i), "{i}");
            assert_eq!(graph.block(i), Some(&Block::Cycle));
        }
        assert!(!graph.on_cycle(3));
        assert_eq!(
            graph.block(3).map(Block::reason),
            Some(BlockerReason::DependencyCycle)
        );
        assert_eq!(graph.block(4), None);
    }

    #[test]
    fn orders_dependencies_first() {
        let systems = [
            system("a/top", &["a/mid"]),
            system("a/mid", &["a/base"]),
            system("a/base", &[]),
        ];
        let graph = Graph::build(&systems).expect("builds");
        assert_eq!(graph.order(), &[2, 1, 0]);
        assert_eq!(graph.dependencies(0), &[1]);
        assert_eq!(graph.len(), 3);
    }

    #[test]
    fn completed_systems_are_never_blocked() {
        let mut done = system("a/done", &["a/ghost"]);
        done.phase = MigrationPhase::Completed;
        let systems = [done, system("a/next", &["a/done"])];
        assert_eq!(blocks(&systems), vec![None, None]);
    }

    #[test]
    fn a_long_chain_does_not_overflow_the_stack() {
        let count = 200_000;
        let systems: Vec<SystemInput> = (0..count)
            .map(|i| {
                if i == 0 {
                    system("a/s0", &[&format!("a/s{}", count - 1)])
                } else {
                    system(&format!("a/s{i}"), &[&format!("a/s{}", i - 1)])
                }
            })
            .collect();
        let graph = Graph::build(&systems).expect("builds");
        assert!((0..count).all(|i| graph.on_cycle(i)));
    }

    #[test]
    fn refuses_a_duplicate_system() {
        let error = Graph::build(&[system("a/x", &[]), system("a/x", &[])]).expect_err("dup");
        assert_eq!(error.to_string(), "system a/x is listed twice");
    }
}
