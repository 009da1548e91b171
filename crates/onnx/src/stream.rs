//! Decoding a `ModelProto` from a reader without ever holding the whole file: the graph's
//! initializers (nearly all of a CNN file's bytes) are decoded one field at a time, straight
//! from the file, and every other field is gathered and decoded by prost. The `raw_data` of a
//! float tensor is read in small chunks straight into its `float_data`, so loading holds one
//! copy of the weights, in their final form, and leaves no freed byte copies behind in the
//! heap (those stayed resident: 16 MB of ResNet18's).
//!
//! The result equals `ModelProto::decode` of the same bytes, with float tensors' `raw_data`
//! moved to `float_data` (tested on every model at hand).

use std::io::Read;

use prost::Message;

use crate::error::{LoadError, bail};
use crate::proto::{GraphProto, ModelProto, TensorProto};

/// `ModelProto.graph` and `GraphProto.initializer` (onnx.proto field numbers).
const MODEL_GRAPH: u64 = 7;
const GRAPH_INITIALIZER: u64 = 5;
const TENSOR_RAW_DATA: u64 = 9;
/// `TensorProto.DataType.FLOAT`.
const FLOAT: i32 = 1;
/// Bytes read per chunk of a `raw_data` field.
const RAW_CHUNK: usize = 64 * 1024;

const VARINT: u64 = 0;
const FIXED64: u64 = 1;
const LENGTH_DELIMITED: u64 = 2;
const FIXED32: u64 = 5;

/// Reads a serialized `ModelProto` of `len` bytes from `reader`.
pub fn decode_model(reader: impl Read, len: u64) -> Result<ModelProto, LoadError> {
    let mut input = Input { reader, left: len };
    let mut rest = Vec::new();
    let mut graph = None;
    while input.left > 0 {
        let key = input.varint()?;
        if key >> 3 == MODEL_GRAPH && key & 7 == LENGTH_DELIMITED {
            if graph.is_some() {
                // Protobuf would merge two graph fields; no writer emits that, so refuse it.
                bail!(Malformed, "file is not an ONNX model: it has two graphs");
            }
            let graph_len = input.varint()?;
            graph = Some(decode_graph(&mut input.nested(graph_len)?)?);
        } else {
            input.copy_field(key, &mut rest)?;
        }
    }
    let mut model = ModelProto::decode(rest.as_slice()).map_err(malformed)?;
    model.graph = graph;
    Ok(model)
}

fn decode_graph<R: Read>(input: &mut Input<R>) -> Result<GraphProto, LoadError> {
    let mut rest = Vec::new();
    let mut initializers = Vec::new();
    while input.left > 0 {
        let key = input.varint()?;
        if key >> 3 == GRAPH_INITIALIZER && key & 7 == LENGTH_DELIMITED {
            let len = input.varint()?;
            initializers.push(decode_tensor(&mut input.nested(len)?)?);
        } else {
            input.copy_field(key, &mut rest)?;
        }
    }
    let mut graph = GraphProto::decode(rest.as_slice()).map_err(malformed)?;
    graph.initializer = initializers;
    Ok(graph)
}

/// One `TensorProto`, its `raw_data` read as little-endian 32-bit words: the elements
/// themselves for a float tensor (moved to `float_data`), re-assembled into bytes otherwise.
fn decode_tensor<R: Read>(input: &mut Input<R>) -> Result<TensorProto, LoadError> {
    let mut rest = Vec::new();
    let mut raw = None;
    while input.left > 0 {
        let key = input.varint()?;
        if key >> 3 == TENSOR_RAW_DATA && key & 7 == LENGTH_DELIMITED {
            let len = input.varint()?;
            // As in protobuf, a repeated `bytes` field keeps its last value.
            raw = Some(input.raw_words(len)?);
        } else {
            input.copy_field(key, &mut rest)?;
        }
    }
    let mut tensor = TensorProto::decode(rest.as_slice()).map_err(malformed)?;
    match raw {
        Some(Raw::Words(words))
            if tensor.data_type == Some(FLOAT) && tensor.float_data.is_empty() =>
        {
            // Reuses the words' allocation: same size and alignment.
            tensor.float_data = words.into_iter().map(f32::from_bits).collect();
        }
        Some(Raw::Words(words)) => {
            tensor.raw_data = Some(words.iter().flat_map(|w| w.to_le_bytes()).collect());
        }
        Some(Raw::Bytes(bytes)) => tensor.raw_data = Some(bytes),
        None => {}
    }
    Ok(tensor)
}

/// A `raw_data` field: whole little-endian 32-bit words when its length allows.
enum Raw {
    Words(Vec<u32>),
    Bytes(Vec<u8>),
}

fn malformed(e: prost::DecodeError) -> LoadError {
    LoadError::new(
        crate::error::ErrorKind::Malformed,
        format!("file is not an ONNX model: protobuf decode failed: {e}"),
    )
}

/// A reader limited to the bytes of the message being decoded.
struct Input<R> {
    reader: R,
    left: u64,
}

impl<R: Read> Input<R> {
    fn byte(&mut self) -> Result<u8, LoadError> {
        let mut b = [0u8];
        self.read_exact(&mut b)?;
        Ok(b[0])
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), LoadError> {
        if (buf.len() as u64) > self.left {
            bail!(
                Malformed,
                "file is not an ONNX model: a field runs past its end"
            );
        }
        self.reader
            .read_exact(buf)
            .map_err(|e| LoadError::new(crate::error::ErrorKind::Io, format!("reading: {e}")))?;
        self.left -= buf.len() as u64;
        Ok(())
    }

    fn varint(&mut self) -> Result<u64, LoadError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        bail!(
            Malformed,
            "file is not an ONNX model: a varint is longer than 10 bytes"
        )
    }

    /// Appends `len` bytes to `out`, in chunks, so a lying length cannot allocate past the file.
    fn read_into(&mut self, len: u64, out: &mut Vec<u8>) -> Result<(), LoadError> {
        if len > self.left {
            bail!(
                Malformed,
                "file is not an ONNX model: a field runs past its end"
            );
        }
        let start = out.len();
        out.resize(start + len as usize, 0);
        self.read_exact(&mut out[start..])
    }

    /// The next `len` bytes as little-endian 32-bit words (as bytes if `len` is not a
    /// multiple of 4), read a chunk at a time.
    fn raw_words(&mut self, len: u64) -> Result<Raw, LoadError> {
        if len > self.left {
            bail!(
                Malformed,
                "file is not an ONNX model: a field runs past its end"
            );
        }
        let len = len as usize;
        if !len.is_multiple_of(4) {
            let mut bytes = Vec::new();
            self.read_into(len as u64, &mut bytes)?;
            return Ok(Raw::Bytes(bytes));
        }
        let mut words = Vec::with_capacity(len / 4);
        let mut chunk = vec![0u8; RAW_CHUNK.min(len)];
        let mut left = len;
        while left > 0 {
            let part = &mut chunk[..RAW_CHUNK.min(left)];
            self.read_exact(part)?;
            words.extend(
                part.chunks_exact(4)
                    .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            );
            left -= part.len();
        }
        Ok(Raw::Words(words))
    }

    /// The next `len` bytes as a message of their own.
    fn nested(&mut self, len: u64) -> Result<Input<&mut R>, LoadError> {
        if len > self.left {
            bail!(
                Malformed,
                "file is not an ONNX model: a field runs past its end"
            );
        }
        self.left -= len;
        Ok(Input {
            reader: &mut self.reader,
            left: len,
        })
    }

    /// Copies one field (its key already read) to `out`, re-encoded as it was.
    fn copy_field(&mut self, key: u64, out: &mut Vec<u8>) -> Result<(), LoadError> {
        prost::encoding::encode_varint(key, out);
        match key & 7 {
            VARINT => {
                let v = self.varint()?;
                prost::encoding::encode_varint(v, out);
            }
            FIXED64 => self.read_into(8, out)?,
            FIXED32 => self.read_into(4, out)?,
            LENGTH_DELIMITED => {
                let len = self.varint()?;
                prost::encoding::encode_varint(len, out);
                self.read_into(len, out)?;
            }
            other => bail!(
                Malformed,
                "file is not an ONNX model: protobuf wire type {other} (field {})",
                key >> 3
            ),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builder::{graph, model};

    fn decode(bytes: &[u8]) -> Result<ModelProto, LoadError> {
        decode_model(bytes, bytes.len() as u64)
    }

    /// prost's decode, with the graph's float initializers' `raw_data` moved to `float_data`
    /// as `decode_model` does.
    fn prost_decode(bytes: &[u8]) -> Result<ModelProto, prost::DecodeError> {
        let mut m = ModelProto::decode(bytes)?;
        for t in m.graph.iter_mut().flat_map(|g| &mut g.initializer) {
            let whole = t.raw_data.as_ref().is_some_and(|r| r.len() % 4 == 0);
            if t.data_type == Some(FLOAT) && t.float_data.is_empty() && whole {
                let raw = t.raw_data.take().unwrap();
                t.float_data = raw
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect();
            }
        }
        Ok(m)
    }

    fn sample() -> ModelProto {
        let mut m = model(13, graph(vec![], vec![], vec![], vec![]));
        let g = m.graph.as_mut().unwrap();
        for (i, n) in [3usize, 0, 70_000].into_iter().enumerate() {
            g.initializer.push(TensorProto {
                name: Some(format!("w{i}")),
                dims: vec![n as i64],
                data_type: Some(1),
                raw_data: Some((0..n * 4).map(|b| b as u8).collect()),
                ..Default::default()
            });
        }
        // Raw data that stays raw: int64 words, an odd byte count, and a float tensor that
        // also has `float_data` (the importer then rejects or prefers what prost would give).
        let raw = |name: &str, data_type: i32, len: usize| TensorProto {
            name: Some(name.into()),
            dims: vec![len as i64],
            data_type: Some(data_type),
            raw_data: Some((0..len).map(|b| (b * 7) as u8).collect()),
            ..Default::default()
        };
        g.initializer.push(raw("i64", 7, 16));
        g.initializer.push(raw("u8", 2, 5));
        g.initializer.push(TensorProto {
            float_data: vec![1.0],
            ..raw("both", 1, 4)
        });
        g.name = Some("g".into());
        m
    }

    #[test]
    fn equals_prost_on_a_model_with_initializers() {
        let m = sample();
        let bytes = m.encode_to_vec();
        let ours = decode(&bytes).unwrap();
        // Compared re-encoded: the bytes include NaN patterns, which are != themselves.
        assert_eq!(
            ours.encode_to_vec(),
            prost_decode(&bytes).unwrap().encode_to_vec()
        );
        let g = ours.graph.unwrap();
        assert_eq!(g.initializer[2].float_data.len(), 70_000);
        assert_eq!(g.initializer[2].raw_data, None);
        // Bytes 4..8 of the raw data, read as one little-endian float.
        assert_eq!(
            g.initializer[0].float_data[1],
            f32::from_le_bytes([4, 5, 6, 7])
        );
        for (t, source) in g.initializer[3..]
            .iter()
            .zip(&m.graph.as_ref().unwrap().initializer[3..])
        {
            assert_eq!(t.raw_data, source.raw_data, "{:?}", t.name);
        }
    }

    #[test]
    fn every_truncation_is_an_error_or_what_prost_reads() {
        let bytes = sample().encode_to_vec();
        for cut in (0..bytes.len()).step_by(97).chain([1, 2, bytes.len() - 1]) {
            let ours = decode(&bytes[..cut]);
            let theirs = prost_decode(&bytes[..cut]);
            match (ours, theirs) {
                (Ok(a), Ok(b)) => assert_eq!(a.encode_to_vec(), b.encode_to_vec(), "cut {cut}"),
                (Err(_), Err(_)) => {}
                (a, b) => panic!("cut {cut}: ours {:?}, prost {:?}", a.is_ok(), b.is_ok()),
            }
        }
    }

    /// Every ONNX file at hand: the committed fixtures, and with ./scripts/test's environment
    /// the torchvision parity models and the ONNX backend node tests.
    fn models_at_hand() -> Vec<std::path::PathBuf> {
        let mut dirs =
            vec![std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")];
        if let Some(d) = std::env::var_os("LITECNN_PARITY_MODELS") {
            dirs.push(d.into());
        }
        let mut files: Vec<_> = dirs
            .iter()
            .flat_map(|d| std::fs::read_dir(d).into_iter().flatten().flatten())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "onnx"))
            .collect();
        if let Some(d) = std::env::var_os("LITECNN_ONNX_NODE_DATA") {
            let node = std::path::Path::new(&d).join("node");
            let cases = std::fs::read_dir(node).into_iter().flatten().flatten();
            files.extend(
                cases
                    .map(|e| e.path().join("model.onnx"))
                    .filter(|p| p.is_file()),
            );
        }
        files
    }

    #[test]
    fn equals_prost_on_every_model_at_hand() {
        let files = models_at_hand();
        assert!(files.len() >= 2, "no models found");
        for path in files {
            let bytes = std::fs::read(&path).unwrap();
            let theirs = prost_decode(bytes.as_slice()).unwrap();
            let file = std::fs::File::open(&path).unwrap();
            let ours = decode_model(std::io::BufReader::new(file), bytes.len() as u64).unwrap();
            // Compared re-encoded: some node-test attributes hold NaN, which is != itself.
            assert!(
                ours.encode_to_vec() == theirs.encode_to_vec(),
                "{} decodes differently",
                path.display()
            );
        }
    }

    #[test]
    fn a_length_past_the_end_is_refused_without_allocating_it() {
        // graph field, length 2^40
        let mut bytes = vec![(7 << 3) | 2];
        prost::encoding::encode_varint(1 << 40, &mut bytes);
        let err = decode(&bytes).unwrap_err();
        assert!(err.to_string().contains("past its end"), "{err}");
        assert!(decode(&[0xff; 11]).is_err());
    }
}
