//! Reading and writing float32 `.npy` files (NumPy format versions 1–3, little-endian,
//! C order) — the tensor exchange format of `litecnn run`.

use std::fs;
use std::path::Path;

use anyhow::{Context, bail, ensure};
use litecnn_engine::Tensor;

const MAGIC: &[u8] = b"\x93NUMPY";
/// Refuse headers larger than this: real ones are ~128 bytes.
const MAX_HEADER: usize = 1 << 16;

pub fn read_f32(path: &Path) -> anyhow::Result<Tensor> {
    let bytes = fs::read(path)?;
    parse_f32(&bytes)
}

pub fn parse_f32(bytes: &[u8]) -> anyhow::Result<Tensor> {
    ensure!(
        bytes.starts_with(MAGIC) && bytes.len() >= 10,
        "not a .npy file (bad magic)"
    );
    let (header_len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 => {
            ensure!(bytes.len() >= 12, "truncated .npy header");
            (u32::from_le_bytes(bytes[8..12].try_into()?) as usize, 12)
        }
        v => bail!("unsupported .npy format version {v}"),
    };
    ensure!(
        header_len <= MAX_HEADER,
        "implausible .npy header length {header_len}"
    );
    let header = bytes
        .get(start..start + header_len)
        .context("truncated .npy header")?;
    let header = std::str::from_utf8(header).context(".npy header is not text")?;
    let shape = parse_header(header)?;
    let count = shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .context("tensor size overflows")?;
    let body = &bytes[start + header_len..];
    ensure!(
        body.len() == count * 4,
        "shape {shape:?} needs {} data bytes, the file has {}",
        count * 4,
        body.len()
    );
    let data = body
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    Ok(Tensor::from_f32(shape, data)?)
}

/// Checks dtype and order and returns the shape from a header such as
/// `{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 224, 224), }`.
fn parse_header(header: &str) -> anyhow::Result<Vec<usize>> {
    let descr = field(header, "descr").context(".npy header has no descr")?;
    let descr = descr.trim_matches(|c| c == '\'' || c == '"');
    ensure!(
        descr == "<f4" || descr == "=f4",
        "expected float32 data ('<f4'), the file holds '{descr}'; convert with x.astype(numpy.float32)"
    );
    let fortran = field(header, "fortran_order").context(".npy header has no fortran_order")?;
    ensure!(
        fortran.trim() == "False",
        "Fortran-ordered arrays are not supported"
    );
    let shape = field(header, "shape").context(".npy header has no shape")?;
    let inner = shape.trim().trim_start_matches('(').trim_end_matches(')');
    inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .with_context(|| format!("bad dimension {s:?} in .npy shape"))
        })
        .collect()
}

/// The raw text of `'key': value` in the header dict (a tuple value keeps its parentheses).
fn field<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let at = header.find(&format!("'{key}'"))?;
    let rest = header[at + key.len() + 2..]
        .trim_start()
        .strip_prefix(':')?
        .trim_start();
    let end = if rest.starts_with('(') {
        rest.find(')')? + 1
    } else {
        rest.find([',', '}'])?
    };
    Some(&rest[..end])
}

pub fn write_f32(path: &Path, tensor: &Tensor) -> anyhow::Result<()> {
    let data = tensor
        .as_f32()
        .with_context(|| format!("output is {}, not float32", tensor.dtype()))?;
    fs::write(path, encode_f32(tensor.shape(), data))?;
    Ok(())
}

pub fn encode_f32(shape: &[usize], data: &[f32]) -> Vec<u8> {
    let dims = match shape {
        [d] => format!("({d},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {dims}, }}");
    // Pad so the data starts on a 64-byte boundary, as NumPy does.
    let unpadded = MAGIC.len() + 4 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + data.len() * 4);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    data.iter()
        .for_each(|v| out.extend_from_slice(&v.to_le_bytes()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_shapes_of_every_rank() {
        for shape in [vec![], vec![3], vec![2, 3], vec![1, 3, 4, 5]] {
            let n: usize = shape.iter().product();
            let data: Vec<f32> = (0..n).map(|i| i as f32 * 0.5 - 1.0).collect();
            let bytes = encode_f32(&shape, &data);
            assert_eq!((bytes.len() - n * 4) % 64, 0);
            let t = parse_f32(&bytes).unwrap();
            assert_eq!(t.shape(), &shape[..]);
            assert_eq!(t.as_f32().unwrap(), &data[..]);
        }
    }

    #[test]
    fn rejects_other_dtypes_and_truncation_with_a_reason() {
        let mut bytes = encode_f32(&[2, 2], &[1.0; 4]);
        let at = bytes.windows(3).position(|w| w == b"<f4").unwrap();
        let mut f8 = bytes.clone();
        f8[at + 2] = b'8';
        let err = parse_f32(&f8).unwrap_err().to_string();
        assert!(err.contains("'<f8'"), "{err}");
        bytes.truncate(bytes.len() - 1);
        let err = parse_f32(&bytes).unwrap_err().to_string();
        assert!(err.contains("needs 16 data bytes"), "{err}");
        assert!(parse_f32(b"PK\x03\x04zip").is_err());
    }
}
