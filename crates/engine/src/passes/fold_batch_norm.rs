//! Folds an inference-mode BatchNormalization into the Conv that feeds it:
//! `bn(conv(x, W) + B) = conv(x, W * s) + (B - mean) * s + beta` with `s = scale / sqrt(var + eps)`
//! per output channel. The new weight and bias are computed once, in f64, at load; the old
//! ones become unused and are dropped by `remove_dead_nodes`.

use std::sync::Arc;

use super::uses::{producers, reader_counts};
use crate::ir::{Dim, Graph, Op, Value, ValueId};
use crate::tensor::{DType, Tensor, TensorData};

pub fn fold_batch_norm(graph: &mut Graph) {
    let readers = reader_counts(graph);
    let producer = producers(graph);
    let mut removed = vec![false; graph.nodes.len()];
    for (bn_index, gone) in removed.iter_mut().enumerate() {
        if let Some(fold) = foldable(graph, &readers, &producer, bn_index) {
            apply(graph, bn_index, fold, &readers);
            *gone = true;
        }
    }
    let mut index = 0;
    graph.nodes.retain(|_| {
        index += 1;
        !removed[index - 1]
    });
}

/// A BatchNormalization that can fold into the conv at `conv`: per output channel, the weight
/// factor and the new bias.
struct Fold {
    conv: usize,
    weight: ValueId,
    factor: Vec<f64>,
    bias: Vec<f32>,
}

/// When node `bn_index` is a BatchNormalization with constant parameters whose input comes
/// only from a Conv with constant weight (and bias), how to fold it.
fn foldable(
    graph: &Graph,
    readers: &[usize],
    producer: &[Option<usize>],
    bn_index: usize,
) -> Option<Fold> {
    let bn = &graph.nodes[bn_index];
    let Op::BatchNormalization { epsilon } = bn.op else {
        return None;
    };
    let x = bn.inputs.first().copied().flatten()?;
    if readers[x.index()] != 1 {
        return None;
    }
    let conv_index = producer[x.index()]?;
    let conv = &graph.nodes[conv_index];
    if !matches!(conv.op, Op::Conv(_)) {
        return None;
    }
    let constant =
        |slot: Option<&Option<ValueId>>| -> Option<&[f32]> { graph.constant((*slot?)?)?.as_f32() };
    let weight = conv.inputs.get(1).copied().flatten()?;
    let w = graph.constant(weight)?;
    let out_channels = *w.shape().first()?;
    if w.dtype() != DType::F32 || out_channels == 0 {
        return None;
    }
    let params: Vec<&[f32]> = (1..5)
        .map(|i| constant(bn.inputs.get(i)).filter(|p| p.len() == out_channels))
        .collect::<Option<_>>()?;
    let (scale, beta, mean, var) = (params[0], params[1], params[2], params[3]);
    let bias = match conv.inputs.get(2).copied().flatten() {
        None => None,
        Some(_) => Some(constant(conv.inputs.get(2)).filter(|b| b.len() == out_channels)?),
    };
    let factor: Vec<f64> = (0..out_channels)
        .map(|c| scale[c] as f64 / (var[c] as f64 + epsilon as f64).sqrt())
        .collect();
    let bias = (0..out_channels)
        .map(|c| {
            let b0 = bias.map_or(0.0, |b| b[c] as f64);
            ((b0 - mean[c] as f64) * factor[c] + beta[c] as f64) as f32
        })
        .collect();
    Some(Fold {
        conv: conv_index,
        weight,
        factor,
        bias,
    })
}

/// Rewrites the conv with the folded weight and bias and gives it the BatchNorm's outputs. A
/// weight only this conv reads is scaled in place, so loading never holds two copies of it.
fn apply(graph: &mut Graph, bn_index: usize, fold: Fold, readers: &[usize]) {
    let conv_name = graph.nodes[fold.conv].name.clone();
    let weight = match graph.constants.remove(&fold.weight) {
        Some(w) if readers[fold.weight.index()] == 1 => w,
        Some(w) => {
            graph.constants.insert(fold.weight, w.clone());
            w
        }
        None => return,
    };
    let shape = weight.shape().to_vec();
    let mut data = match Arc::try_unwrap(weight) {
        Ok(tensor) => tensor.into_data(),
        Err(shared) => shared.data().clone(),
    };
    if let TensorData::F32(values) = &mut data {
        let per_channel = values.len() / fold.factor.len();
        for (chunk, &f) in values.chunks_mut(per_channel).zip(&fold.factor) {
            chunk.iter_mut().for_each(|v| *v = (*v as f64 * f) as f32);
        }
    }
    let channels = fold.bias.len();
    let w = add_constant(graph, format!("{conv_name}.bn_folded_weight"), shape, data);
    let b = add_constant(
        graph,
        format!("{conv_name}.bn_folded_bias"),
        vec![channels],
        TensorData::F32(fold.bias.into()),
    );
    let outputs = graph.nodes[bn_index].outputs.clone();
    let conv = &mut graph.nodes[fold.conv];
    conv.inputs.resize(3, None);
    conv.inputs[1] = Some(w);
    conv.inputs[2] = Some(b);
    conv.outputs = outputs;
}

fn add_constant(graph: &mut Graph, name: String, shape: Vec<usize>, data: TensorData) -> ValueId {
    let id = graph.add_value(Value {
        name,
        dtype: Some(DType::F32),
        shape: Some(shape.iter().map(|&d| Dim::Known(d)).collect()),
    });
    // The shape came from a tensor holding exactly this data.
    if let Ok(tensor) = Tensor::new(shape, data) {
        graph.constants.insert(id, Arc::new(tensor));
    }
    id
}
