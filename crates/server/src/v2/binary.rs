//! The binary tensor extension (what `tritonclient` sends by default): the body is the JSON
//! header, `Inference-Header-Content-Length` bytes long, followed by the raw little-endian
//! bytes of every input whose `parameters.binary_data_size` says so, in input order. Answers
//! use the same layout for outputs asked for with `binary_data`.

use axum::http::HeaderMap;

use crate::error::ApiError;

/// The header naming the length of the JSON part of a body.
pub const HEADER_LENGTH: &str = "inference-header-content-length";

/// The `Inference-Header-Content-Length` of a request, if it has one.
pub fn json_length(headers: &HeaderMap) -> Result<Option<usize>, ApiError> {
    let Some(value) = headers.get(HEADER_LENGTH) else {
        return Ok(None);
    };
    let length = value
        .to_str()
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "Inference-Header-Content-Length must be a byte count, not {value:?}"
            ))
        })?;
    Ok(Some(length))
}

/// The JSON part and the binary part of a request body; without a JSON length, it is all JSON.
pub fn split(json_length: Option<usize>, body: &[u8]) -> Result<(&[u8], &[u8]), ApiError> {
    let Some(length) = json_length else {
        return Ok((body, &[]));
    };
    if length > body.len() {
        return Err(ApiError::BadRequest(format!(
            "Inference-Header-Content-Length is {length} but the body has only {} bytes",
            body.len()
        )));
    }
    Ok(body.split_at(length))
}

/// Hands out the binary part input by input, and checks it is used up exactly.
pub struct Parts<'a> {
    rest: &'a [u8],
}

impl<'a> Parts<'a> {
    pub fn new(binary: &'a [u8]) -> Parts<'a> {
        Parts { rest: binary }
    }

    /// The next `size` bytes, for input `name`.
    pub fn take(&mut self, name: &str, size: u64) -> Result<&'a [u8], ApiError> {
        let available = self.rest.len();
        let size = usize::try_from(size)
            .ok()
            .filter(|&s| s <= available)
            .ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "input {name:?}: binary_data_size is {size} but only {available} bytes of \
                     binary data remain (truncated body?)"
                ))
            })?;
        let (part, rest) = self.rest.split_at(size);
        self.rest = rest;
        Ok(part)
    }

    pub fn finish(self) -> Result<(), ApiError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(ApiError::BadRequest(format!(
                "{} bytes of binary data follow the inputs that declare binary_data_size",
                self.rest.len()
            )))
        }
    }
}

/// Little-endian FP32 values of input `name`.
pub fn f32_values(name: &str, bytes: &[u8]) -> Result<Vec<f32>, ApiError> {
    if !bytes.len().is_multiple_of(4) {
        return Err(ApiError::BadRequest(format!(
            "input {name:?}: {} bytes of binary data is not a whole number of FP32 values",
            bytes.len()
        )));
    }
    Ok(bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

/// The little-endian bytes of `values`.
pub fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with_length(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(HEADER_LENGTH, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn the_header_length_splits_json_from_binary() {
        assert_eq!(json_length(&with_length(" 7 ")).unwrap(), Some(7));
        assert_eq!(json_length(&HeaderMap::new()).unwrap(), None);
        for bad in ["-1", "seven", "", "7.0"] {
            let err = json_length(&with_length(bad)).unwrap_err();
            assert_eq!(err.code(), "bad_request", "{bad}");
        }
        let body = b"{\"a\":1}\x01\x02";
        assert_eq!(split(Some(7), body).unwrap(), (&body[..7], &body[7..]));
        assert_eq!(split(Some(9), body).unwrap(), (&body[..], &[][..]));
        assert_eq!(split(None, body).unwrap(), (&body[..], &[][..]));
        let err = split(Some(10), body).unwrap_err();
        assert!(err.to_string().contains("only 9 bytes"), "{err}");
    }

    #[test]
    fn parts_must_cover_the_binary_data_exactly() {
        let mut parts = Parts::new(&[1, 2, 3, 4, 5]);
        assert_eq!(parts.take("a", 2).unwrap(), &[1, 2]);
        assert!(
            parts
                .take("b", 4)
                .unwrap_err()
                .to_string()
                .contains("truncated")
        );
        assert_eq!(parts.take("b", 3).unwrap(), &[3, 4, 5]);
        parts.finish().unwrap();
        let mut parts = Parts::new(&[1, 2, 3]);
        parts.take("a", 1).unwrap();
        assert!(parts.finish().unwrap_err().to_string().contains("2 bytes"));
    }

    #[test]
    fn fp32_values_round_trip_through_little_endian_bytes() {
        let values = [1.5f32, -0.0, f32::MIN_POSITIVE, 3.0e38];
        assert_eq!(f32_values("x", &f32_bytes(&values)).unwrap(), values);
        assert_eq!(f32_bytes(&[1.0]), [0, 0, 0x80, 0x3f]);
        assert!(f32_values("x", &[0; 6]).is_err());
    }
}
