//! The `data` of a JSON input tensor: FP32 values, given flat (`[1, 2, 3, 4]`) or nested in
//! row-major order (`[[1, 2], [3, 4]]`), as the protocol allows. Any JSON number is accepted —
//! integers and doubles alike, as clients write them — as long as it fits an `f32`; the values
//! go straight into one `Vec<f32>`, without an intermediate JSON tree.

use std::fmt;

use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, Error, SeqAccess, Visitor};

/// Row-major FP32 values, nesting flattened.
#[derive(Debug, Default, PartialEq)]
pub struct FlatF32(pub Vec<f32>);

impl<'de> Deserialize<'de> for FlatF32 {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<FlatF32, D::Error> {
        let mut values = Vec::new();
        Flatten(&mut values).deserialize(deserializer)?;
        Ok(FlatF32(values))
    }
}

/// Appends every number of one JSON value (a number or an array, at any depth) to its vector.
struct Flatten<'a>(&'a mut Vec<f32>);

impl<'de> DeserializeSeed<'de> for Flatten<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Flatten<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("FP32 numbers, flat or nested in arrays")
    }

    fn visit_f64<E: Error>(self, v: f64) -> Result<(), E> {
        let narrowed = v as f32;
        if !narrowed.is_finite() {
            return Err(E::custom(format!("{v} is out of the FP32 range")));
        }
        self.0.push(narrowed);
        Ok(())
    }

    fn visit_i64<E: Error>(self, v: i64) -> Result<(), E> {
        self.visit_f64(v as f64)
    }

    fn visit_u64<E: Error>(self, v: u64) -> Result<(), E> {
        self.visit_f64(v as f64)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let values = self.0;
        while seq.next_element_seed(Flatten(&mut *values))?.is_some() {}
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<f32>, String> {
        serde_json::from_str::<FlatF32>(text)
            .map(|d| d.0)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn flat_and_nested_data_give_the_same_row_major_values() {
        let want = vec![1.0, 2.5, -3.0, 4.0];
        assert_eq!(parse("[1, 2.5, -3, 4]").unwrap(), want);
        assert_eq!(parse("[[1, 2.5], [-3, 4]]").unwrap(), want);
        assert_eq!(parse("[[[1]], [[2.5, -3], [4]]]").unwrap(), want);
        assert_eq!(parse("[]").unwrap(), Vec::<f32>::new());
    }

    #[test]
    fn doubles_round_to_the_nearest_f32() {
        let got = parse("[0.1, 16777217, 1e-50]").unwrap();
        assert_eq!(got, vec![0.1f32, 16_777_216.0, 0.0]);
    }

    #[test]
    fn non_numbers_and_out_of_range_values_are_errors() {
        for (text, needle) in [
            ("[1, true]", "FP32 numbers"),
            ("[[1], \"2\"]", "FP32 numbers"),
            ("[null]", "FP32 numbers"),
            ("[{\"a\": 1}]", "FP32 numbers"),
            ("[1e39]", "out of the FP32 range"),
            ("[-1e300]", "out of the FP32 range"),
        ] {
            let err = parse(text).unwrap_err();
            assert!(err.contains(needle), "{text}: {err}");
        }
    }
}
