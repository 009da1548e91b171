//! Decoding a `ModelProto` from a reader without ever holding the whole file: the graph's
//! initializers (nearly all of a CNN file's bytes) are decoded one message at a time, straight
//! from the file, and every other field is gathered and decoded by prost. Peak memory is then one
//! copy of the weights, where reading the file and then decoding it needs two.
//!
//! The result equals `ModelProto::decode` of the same bytes (tested on every model at hand).

use std::io::Read;

use prost::Message;

use crate::error::{LoadError, bail};
use crate::proto::{GraphProto, ModelProto, TensorProto};

/// `ModelProto.graph` and `GraphProto.initializer` (onnx.proto field numbers).
const MODEL_GRAPH: u64 = 7;
const GRAPH_INITIALIZER: u64 = 5;

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
    let mut message = Vec::new();
    while input.left > 0 {
        let key = input.varint()?;
        if key >> 3 == GRAPH_INITIALIZER && key & 7 == LENGTH_DELIMITED {
            let len = input.varint()?;
            message.clear();
            input.read_into(len, &mut message)?;
            initializers.push(TensorProto::decode(message.as_slice()).map_err(malformed)?);
        } else {
            input.copy_field(key, &mut rest)?;
        }
    }
    let mut graph = GraphProto::decode(rest.as_slice()).map_err(malformed)?;
    graph.initializer = initializers;
    Ok(graph)
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
        g.name = Some("g".into());
        m
    }

    #[test]
    fn equals_prost_on_a_model_with_initializers() {
        let m = sample();
        let bytes = m.encode_to_vec();
        assert_eq!(decode(&bytes).unwrap(), m);
        assert_eq!(
            decode(&bytes).unwrap(),
            ModelProto::decode(bytes.as_slice()).unwrap()
        );
    }

    #[test]
    fn every_truncation_is_an_error_or_what_prost_reads() {
        let bytes = sample().encode_to_vec();
        for cut in (0..bytes.len()).step_by(97).chain([1, 2, bytes.len() - 1]) {
            let ours = decode(&bytes[..cut]);
            let theirs = ModelProto::decode(&bytes[..cut]);
            match (ours, theirs) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "cut {cut}"),
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
            let theirs = ModelProto::decode(bytes.as_slice()).unwrap();
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
