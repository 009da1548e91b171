//! Reading rows of `history --json` in tests.

use serde_json::Value;

/// The step names of a history row, in order.
pub fn step_names(row: &Value) -> Vec<&str> {
    row["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect()
}

/// `name:ok` for each step of a history row; every duration must be non-negative.
pub fn step_outcomes(row: &Value) -> Vec<String> {
    row["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            assert!(s["ms"].as_f64().unwrap() >= 0.0, "{s}");
            format!("{}:{}", s["name"].as_str().unwrap(), s["ok"])
        })
        .collect()
}
