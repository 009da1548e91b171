//! Which op types a model uses and whether litecnn implements each — read straight from the
//! protobuf, so `inspect` can list every unsupported op even when the model cannot load.

use std::collections::BTreeMap;

use crate::error::LoadError;
use crate::model;
use crate::ops::is_supported;

/// One op type used by a model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpUse {
    pub domain: String,
    pub op_type: String,
    pub count: usize,
    pub supported: bool,
}

/// The op types of a serialized model's main graph, sorted by domain then name.
pub fn op_census(bytes: &[u8]) -> Result<Vec<OpUse>, LoadError> {
    let model = model::decode(bytes)?;
    let mut counts: BTreeMap<(String, String), usize> = BTreeMap::new();
    for node in model.graph.iter().flat_map(|g| &g.node) {
        let domain = node.domain.clone().unwrap_or_default();
        let op_type = node.op_type.clone().unwrap_or_default();
        *counts.entry((domain, op_type)).or_default() += 1;
    }
    Ok(counts
        .into_iter()
        .map(|((domain, op_type), count)| OpUse {
            supported: is_supported(&domain, &op_type),
            domain,
            op_type,
            count,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;
    use crate::builder;

    #[test]
    fn counts_ops_and_flags_the_unsupported_ones() {
        let nodes = vec![
            builder::node("Relu", &["x"], &["a"], vec![]),
            builder::node("Relu", &["a"], &["b"], vec![]),
            builder::node("NonMaxSuppression", &["b"], &["c"], vec![]),
            builder::node("HardSwish", &["c"], &["y"], vec![]),
        ];
        let graph = builder::graph(nodes, vec![], vec![], vec![]);
        let bytes = builder::model(17, graph).encode_to_vec();
        let census = op_census(&bytes).unwrap();
        let summary: Vec<(&str, usize, bool)> = census
            .iter()
            .map(|u| (u.op_type.as_str(), u.count, u.supported))
            .collect();
        assert_eq!(
            summary,
            [
                ("HardSwish", 1, true),
                ("NonMaxSuppression", 1, false),
                ("Relu", 2, true)
            ]
        );
    }
}
