//! Graph passes, run in this order by [`optimize`]:
//!
//! 1. [`fold_constants`] — infers every value's type and shape, evaluates nodes whose inputs
//!    are all known at load time, and folds the shape arithmetic exporters emit (including
//!    `Reshape` targets that only copy a symbolic batch dimension).
//! 2. [`remove_dead_nodes`] — drops nodes no graph output depends on.
//!
//! Every pass keeps nodes in topological order and must not change what the graph computes;
//! their tests run a graph before and after on the same inputs.

mod fold_constants;
mod remove_dead_nodes;
mod symbolic;

pub use fold_constants::fold_constants;
pub use remove_dead_nodes::remove_dead_nodes;

use crate::error::EngineError;
use crate::ir::Graph;

/// Runs every load-time pass in order.
pub fn optimize(graph: &mut Graph) -> Result<(), EngineError> {
    fold_constants(graph)?;
    remove_dead_nodes(graph);
    Ok(())
}
