//! Element counts of possibly symbolic shapes, as Flatten and Reshape need them: a product of
//! dims kept as a known factor times the symbols, so `[N, 3, 4]` counts `12·N`.

use std::sync::Arc;

use super::OpError;
use super::operands::show;
use crate::ir::Dim;

/// A product of dims: a known factor times a multiset of symbols (kept sorted, so two
/// products over the same symbols compare equal).
#[derive(Debug)]
pub(super) struct SymProduct {
    pub(super) known: usize,
    pub(super) symbols: Vec<Arc<str>>,
}

impl SymProduct {
    pub(super) fn of(dims: &[Dim]) -> Result<SymProduct, OpError> {
        let mut p = SymProduct {
            known: 1,
            symbols: Vec::new(),
        };
        for d in dims {
            match d {
                Dim::Known(n) => {
                    p.known = p.known.checked_mul(*n).ok_or_else(|| {
                        OpError::new(format!("element count of shape {} overflows", show(dims)))
                    })?
                }
                Dim::Symbol(s) => p.symbols.push(s.clone()),
            }
        }
        p.symbols.sort();
        Ok(p)
    }

    /// The product as one dim, when it is expressible as one.
    pub(super) fn as_dim(&self) -> Option<Dim> {
        match self.symbols.as_slice() {
            _ if self.known == 0 => Some(Dim::Known(0)),
            [] => Some(Dim::Known(self.known)),
            [s] if self.known == 1 => Some(Dim::Symbol(s.clone())),
            _ => None,
        }
    }

    /// `self.symbols` minus `other.symbols`, if the latter are all among the former.
    pub(super) fn symbols_minus(&self, other: &SymProduct) -> Option<Vec<Arc<str>>> {
        let mut left = self.symbols.clone();
        for s in &other.symbols {
            let at = left.iter().position(|l| l == s)?;
            left.remove(at);
        }
        Some(left)
    }
}
