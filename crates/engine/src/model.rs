//! A loaded, optimised model and its executor.
//!
//! Execution walks the nodes in order, keeping each intermediate tensor only until its last
//! reader has run, so peak memory is the widest cut of the graph rather than its sum.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use litecnn_kernels::ThreadTeam;
use litecnn_kernels::fast::buffers::{self, Slot};

use crate::buffer_plan::BufferPlan;
use crate::error::EngineError;
use crate::ir::{Dim, Graph, Value, ValueId};
use crate::ops::{self, Kernels};
use crate::passes;
use crate::tensor::{Tensor, TensorData};

/// How a model is prepared and run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelOptions {
    pub kernels: Kernels,
    /// Threads one run may use (each large op is split over them); at least 1.
    pub threads: usize,
    /// The layout the fast kernels run the convolutions in.
    pub layout: Layout,
    /// Whether channels-last 3×3 stride-1 convolutions may run on Winograd's F(2×2, 3×3)
    /// where it pays (fewer multiplications; results differ from the direct sum by rounding).
    pub winograd: bool,
}

/// Where a 4-D activation keeps its channels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Layout {
    /// NHWC through the body of the network (the `channels_last` pass), NCHW at its edges.
    #[default]
    ChannelsLast,
    /// NCHW throughout, as imported.
    ChannelsFirst,
}

impl Default for ModelOptions {
    fn default() -> Self {
        ModelOptions {
            kernels: Kernels::default(),
            threads: 1,
            layout: Layout::default(),
            winograd: true,
        }
    }
}

/// The environment variable that selects the fast kernels' layout: `nhwc` (the default) or
/// `nchw`, for comparing the two.
pub const LAYOUT_ENV: &str = "LITECNN_LAYOUT";

/// The environment variable that turns Winograd convolutions `on` (the default) or `off`, for
/// comparing the two.
pub const WINOGRAD_ENV: &str = "LITECNN_WINOGRAD";

/// The environment variable that selects the kernels: `fast` (the default) or `reference`
/// (the unfused graph on the oracle kernels, for whole-network comparisons).
pub const KERNELS_ENV: &str = "LITECNN_KERNELS";

impl ModelOptions {
    /// The defaults, with the kernels taken from [`KERNELS_ENV`], the layout from
    /// [`LAYOUT_ENV`] and Winograd from [`WINOGRAD_ENV`] when they are set.
    pub fn from_env() -> Result<ModelOptions, EngineError> {
        let kernels = env_choice(
            KERNELS_ENV,
            ("fast", Kernels::Fast),
            ("reference", Kernels::Reference),
        )?;
        let layout = env_choice(
            LAYOUT_ENV,
            ("nhwc", Layout::ChannelsLast),
            ("nchw", Layout::ChannelsFirst),
        )?;
        let winograd = env_choice(WINOGRAD_ENV, ("on", true), ("off", false))?;
        Ok(ModelOptions {
            kernels,
            layout,
            winograd,
            ..ModelOptions::default()
        })
    }
}

/// The value of environment variable `var`: `default` when unset, empty or named, `other`
/// when named, an error naming both otherwise.
fn env_choice<T>(var: &str, default: (&str, T), other: (&str, T)) -> Result<T, EngineError> {
    match std::env::var(var) {
        Err(_) => Ok(default.1),
        Ok(v) if v.is_empty() || v == default.0 => Ok(default.1),
        Ok(v) if v == other.0 => Ok(other.1),
        Ok(v) => Err(EngineError::Options(format!(
            "{var}={v:?}: expected {:?} or {:?}",
            default.0, other.0
        ))),
    }
}

/// A model ready to run. Immutable and shareable across threads.
#[derive(Debug)]
pub struct Model {
    graph: Graph,
    /// For each value, the index of the last node that reads it (`usize::MAX` for graph outputs).
    last_use: Vec<usize>,
    options: ModelOptions,
    /// The threads a run executes on: the kernels split their work over this team.
    team: ThreadTeam,
    /// Which intermediates share a buffer (fast kernels only: they recycle outputs).
    buffer_plan: Option<BufferPlan>,
}

impl Model {
    /// Optimises `graph` with the options of [`ModelOptions::from_env`].
    pub fn new(graph: Graph) -> Result<Model, EngineError> {
        Model::with_options(graph, ModelOptions::from_env()?)
    }

    /// Optimises `graph` for `options` and checks that every node can be inferred.
    pub fn with_options(mut graph: Graph, options: ModelOptions) -> Result<Model, EngineError> {
        check_topological(&graph)?;
        passes::optimize(&mut graph, &options)?;
        let last_use = last_uses(&graph);
        let buffer_plan =
            (options.kernels == Kernels::Fast).then(|| BufferPlan::new(&graph, &last_use));
        // The weights the passes replaced (folded, packed, transformed) are free but still
        // resident until the allocator hands its free pages back.
        litecnn_kernels::allocator::return_free_memory();
        Ok(Model {
            graph,
            last_use,
            team: thread_team(options.threads)?,
            options,
            buffer_plan,
        })
    }

    /// The same model running on `threads` threads.
    pub fn with_threads(self, threads: usize) -> Result<Model, EngineError> {
        Ok(Model {
            team: thread_team(threads)?,
            options: ModelOptions {
                threads,
                ..self.options
            },
            ..self
        })
    }

    pub fn options(&self) -> ModelOptions {
        self.options
    }

    /// Bytes of the buffers a warm run keeps for its intermediates, as planned at load (0 on
    /// the reference kernels, which keep none).
    pub fn planned_activation_bytes(&self) -> usize {
        self.buffer_plan
            .as_ref()
            .map_or(0, |plan| plan.total() * size_of::<f32>())
    }

    /// The optimised graph (for inspection).
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    pub fn inputs(&self) -> Vec<&Value> {
        self.graph
            .inputs
            .iter()
            .map(|&id| self.graph.value(id))
            .collect()
    }

    pub fn outputs(&self) -> Vec<&Value> {
        self.graph
            .outputs
            .iter()
            .map(|&id| self.graph.value(id))
            .collect()
    }

    /// Runs the model on one tensor per graph input, in declaration order.
    pub fn run(&self, inputs: Vec<Tensor>) -> Result<Vec<Tensor>, EngineError> {
        self.check_inputs(&inputs)?;
        self.team.run(|| self.run_nodes(inputs, None))
    }

    /// [`Model::run`] that also adds each node's wall time to `node_times` (one entry per node
    /// of [`Model::graph`], in order; resized to fit), for `litecnn bench --profile`.
    pub fn run_profiled(
        &self,
        inputs: Vec<Tensor>,
        node_times: &mut Vec<Duration>,
    ) -> Result<Vec<Tensor>, EngineError> {
        self.check_inputs(&inputs)?;
        node_times.resize(self.graph.nodes.len(), Duration::ZERO);
        self.team.run(|| self.run_nodes(inputs, Some(node_times)))
    }

    fn run_nodes(
        &self,
        inputs: Vec<Tensor>,
        mut node_times: Option<&mut Vec<Duration>>,
    ) -> Result<Vec<Tensor>, EngineError> {
        let mut slots: Vec<Option<Arc<Tensor>>> = vec![None; self.graph.values.len()];
        // The planned buffer each value's data came from, to hand it back to after its last
        // reader.
        let mut buffer_of: Vec<Option<Slot>> = vec![None; self.graph.values.len()];
        for (&id, tensor) in self.graph.inputs.iter().zip(inputs) {
            slots[id.index()] = Some(Arc::new(tensor));
        }
        for (&id, value) in &self.graph.constants {
            slots[id.index()] = Some(value.clone());
        }
        for (step, node) in self.graph.nodes.iter().enumerate() {
            let args: Vec<Option<&Tensor>> = node
                .inputs
                .iter()
                .map(|i| i.and_then(|id| slots[id.index()].as_deref()))
                .collect();
            let start = node_times.is_some().then(Instant::now);
            let slot = match (&self.buffer_plan, &node.outputs[..]) {
                (Some(plan), &[id]) => plan.slot(id),
                _ => None,
            };
            let (outputs, took_slot) = buffers::with_output_slot(slot, || {
                ops::eval_with(self.options.kernels, &node.op, &args, node.outputs.len())
            });
            let outputs = outputs.map_err(|e| EngineError::node(node, e))?;
            if took_slot {
                buffer_of[node.outputs[0].index()] = slot;
            }
            if let (Some(times), Some(start)) = (node_times.as_deref_mut(), start) {
                times[step] += start.elapsed();
            }
            for (&id, t) in node.outputs.iter().zip(outputs) {
                slots[id.index()] = Some(Arc::new(t));
            }
            for id in node.inputs.iter().flatten() {
                if self.last_use[id.index()] != step {
                    continue;
                }
                let Some(done) = slots[id.index()].take() else {
                    continue;
                };
                if let Some(slot) = buffer_of[id.index()] {
                    recycle(done, slot);
                } else if self.graph.inputs.contains(id) {
                    recycle_input(done);
                }
            }
        }
        self.graph
            .outputs
            .iter()
            .map(|&id| take_output(&mut slots, id, self.graph.value(id)))
            .collect()
    }

    /// Rejects inputs whose count, type or shape the model cannot take, naming the input.
    fn check_inputs(&self, inputs: &[Tensor]) -> Result<(), EngineError> {
        if inputs.len() != self.graph.inputs.len() {
            return Err(EngineError::Input {
                name: String::from("*"),
                message: format!(
                    "the model takes {} input(s), got {}",
                    self.graph.inputs.len(),
                    inputs.len()
                ),
            });
        }
        let mut symbols: HashMap<Arc<str>, usize> = HashMap::new();
        for (&id, tensor) in self.graph.inputs.iter().zip(inputs) {
            check_input(self.graph.value(id), tensor, &mut symbols)?;
        }
        Ok(())
    }
}

/// Hands an intermediate's buffer back to its planned slot for the next output planned there
/// (see `litecnn_kernels::fast::buffers`). Other intermediates are freed: no planned output
/// would take them, so keeping them would only hold memory.
fn recycle(tensor: Arc<Tensor>, slot: Slot) {
    if let Ok(tensor) = Arc::try_unwrap(tensor)
        && let TensorData::F32(data) = tensor.into_data()
    {
        buffers::give_to_slot(data.into_storage(), slot);
    }
}

/// Keeps a graph input's buffer for the next [`input_buffer`] on this thread: a server that
/// preprocesses each request's input on the thread that runs it then reuses one buffer.
fn recycle_input(tensor: Arc<Tensor>) {
    if let Ok(tensor) = Arc::try_unwrap(tensor)
        && let TensorData::F32(data) = tensor.into_data()
    {
        buffers::give_input(data.into_storage());
    }
}

/// A buffer of `len` floats for a model input, made from one a finished run on this thread
/// handed back when it could (its contents are unspecified: write every element).
pub fn input_buffer(len: usize) -> Vec<f32> {
    buffers::take_input(len)
}

/// Returns the buffers runs on this thread kept for the next run (outputs, input, scratch) to
/// the allocator. A server calls it on the thread that loaded, checked and warmed a model, which
/// never runs a request: otherwise that thread would pin a run's worth of activations.
pub fn release_thread_buffers() {
    litecnn_kernels::fast::release_thread_buffers();
}

/// Bytes runs on this thread keep for the next run (see [`release_thread_buffers`]).
pub fn kept_thread_bytes() -> usize {
    litecnn_kernels::fast::kept_thread_bytes()
}

fn thread_team(threads: usize) -> Result<ThreadTeam, EngineError> {
    if threads == 0 {
        return Err(EngineError::Options("threads must be at least 1".into()));
    }
    ThreadTeam::new(threads)
        .map_err(|e| EngineError::Options(format!("cannot start {threads} threads: {e}")))
}

fn check_input(
    decl: &Value,
    tensor: &Tensor,
    symbols: &mut HashMap<Arc<str>, usize>,
) -> Result<(), EngineError> {
    let fail = |message: String| EngineError::Input {
        name: decl.name.clone(),
        message,
    };
    if let Some(dtype) = decl.dtype
        && dtype != tensor.dtype()
    {
        return Err(fail(format!("expected {dtype}, got {}", tensor.dtype())));
    }
    let Some(dims) = &decl.shape else {
        return Ok(());
    };
    let shown = || {
        dims.iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    if dims.len() != tensor.rank() {
        return Err(fail(format!(
            "expected shape [{}], got {:?}",
            shown(),
            tensor.shape()
        )));
    }
    for (dim, &actual) in dims.iter().zip(tensor.shape()) {
        let ok = match dim {
            Dim::Known(n) => *n == actual,
            Dim::Symbol(s) if &**s == "?" => true,
            Dim::Symbol(s) => *symbols.entry(s.clone()).or_insert(actual) == actual,
        };
        if !ok {
            return Err(fail(format!(
                "expected shape [{}], got {:?}",
                shown(),
                tensor.shape()
            )));
        }
    }
    Ok(())
}

fn take_output(
    slots: &mut [Option<Arc<Tensor>>],
    id: ValueId,
    value: &Value,
) -> Result<Tensor, EngineError> {
    let t = slots[id.index()].take().ok_or_else(|| {
        EngineError::Graph(format!("output \"{}\" was never computed", value.name))
    })?;
    // A graph output listed twice, or also a constant, is shared: clone only then.
    Ok(Arc::try_unwrap(t).unwrap_or_else(|shared| (*shared).clone()))
}

fn last_uses(graph: &Graph) -> Vec<usize> {
    let mut last = vec![0usize; graph.values.len()];
    for (step, node) in graph.nodes.iter().enumerate() {
        for id in node.inputs.iter().flatten() {
            last[id.index()] = step;
        }
    }
    for id in &graph.outputs {
        last[id.index()] = usize::MAX;
    }
    last
}

/// Every node input must be a graph input, a constant, or an earlier node's output.
fn check_topological(graph: &Graph) -> Result<(), EngineError> {
    let mut ready = vec![false; graph.values.len()];
    for id in graph.inputs.iter().chain(graph.constants.keys()) {
        ready[id.index()] = true;
    }
    for node in &graph.nodes {
        for id in node.inputs.iter().flatten() {
            if !ready.get(id.index()).copied().unwrap_or(false) {
                return Err(EngineError::Graph(format!(
                    "node \"{}\" reads \"{}\" before it is produced",
                    node.name,
                    graph
                        .values
                        .get(id.index())
                        .map_or("?", |v| v.name.as_str())
                )));
            }
        }
        for id in &node.outputs {
            ready[id.index()] = true;
        }
    }
    Ok(())
}
