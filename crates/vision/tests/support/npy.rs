//! Just enough of the `.npy` format to read what `numpy.save` writes for a C-ordered float32
//! array: magic, version, header length, a Python-dict header, raw little-endian data.

use std::path::Path;

/// `(shape, values)` of a little-endian float32 `.npy` file; panics with the path otherwise.
pub fn read_f32(path: &Path) -> (Vec<usize>, Vec<f32>) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        bytes.starts_with(b"\x93NUMPY"),
        "{}: not .npy",
        path.display()
    );
    let (header_len, start) = match bytes[6] {
        1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
        _ => (
            u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize,
            12,
        ),
    };
    let header = std::str::from_utf8(&bytes[start..start + header_len]).unwrap();
    assert!(
        header.contains("'descr': '<f4'"),
        "{}: {header}",
        path.display()
    );
    assert!(header.contains("'fortran_order': False"), "{header}");
    let shape = parse_shape(header);
    let values: Vec<f32> = bytes[start + header_len..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(values.len(), shape.iter().product::<usize>(), "{header}");
    (shape, values)
}

/// The tuple after `'shape': `, e.g. `(1, 3, 224, 224)`.
fn parse_shape(header: &str) -> Vec<usize> {
    let tuple = header.split("'shape': (").nth(1).expect("shape in header");
    let tuple = &tuple[..tuple.find(')').expect("closing parenthesis")];
    tuple
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().expect("integer dimension"))
        .collect()
}
