//! The few figures probation needs, read from a server's Prometheus text (`/metrics`,
//! DESIGN §5): which digest it serves, how many inference requests it answered and how many
//! failed on its side, and the latency histogram of `/predict`. Everything else is skipped, so
//! new metric families never break the deployer.

use std::collections::BTreeMap;

/// Counters and the histogram at one moment. Subtracting two gives a window.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    /// The `digest` label of `litecnn_model_info`.
    pub serving: Option<String>,
    /// Answers of the inference routes (`/predict`, `/v2/models/{name}/infer`).
    pub requests: u64,
    /// Of those, the server's own failures: 5xx except 503 (503 is a full queue or no model,
    /// i.e. load, which says nothing about the model).
    pub errors: u64,
    /// `/predict` server-side latency (`stage="total"`): cumulative counts by upper bound, in
    /// seconds, ascending, `+Inf` last.
    pub buckets: Vec<(f64, u64)>,
}

impl Snapshot {
    /// What happened between `earlier` and `self`.
    pub fn since(&self, earlier: &Snapshot) -> Snapshot {
        let before: BTreeMap<u64, u64> = earlier
            .buckets
            .iter()
            .map(|(le, n)| (le.to_bits(), *n))
            .collect();
        Snapshot {
            serving: self.serving.clone(),
            requests: self.requests.saturating_sub(earlier.requests),
            errors: self.errors.saturating_sub(earlier.errors),
            buckets: self
                .buckets
                .iter()
                .map(|(le, n)| {
                    let was = before.get(&le.to_bits()).copied().unwrap_or(0);
                    (*le, n.saturating_sub(was))
                })
                .collect(),
        }
    }

    /// Requests in the latency histogram.
    pub fn timed(&self) -> u64 {
        self.buckets.last().map_or(0, |(_, n)| *n)
    }

    /// The `q` quantile in milliseconds, interpolated inside its bucket as Prometheus'
    /// `histogram_quantile` does; `None` without observations. In the `+Inf` bucket it is the
    /// largest finite bound: a lower bound, which still breaches any limit below it.
    pub fn quantile_ms(&self, q: f64) -> Option<f64> {
        let total = self.timed();
        if total == 0 {
            return None;
        }
        let rank = q * total as f64;
        let mut lower = (0.0, 0u64);
        for &(le, n) in &self.buckets {
            if n as f64 >= rank {
                if le.is_infinite() {
                    return Some(lower.0 * 1e3);
                }
                let inside = (n - lower.1) as f64;
                let fraction = if inside > 0.0 {
                    (rank - lower.1 as f64) / inside
                } else {
                    1.0
                };
                return Some((lower.0 + (le - lower.0) * fraction) * 1e3);
            }
            lower = (le, n);
        }
        None
    }
}

/// Reads a snapshot from exposition text (Prometheus 0.0.4 or OpenMetrics).
pub fn parse(text: &str) -> Snapshot {
    let mut snap = Snapshot::default();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((name, labels, value)) = sample(line) else {
            continue;
        };
        match name {
            "litecnn_model_info" if value > 0.0 => snap.serving = labels.get("digest").cloned(),
            "litecnn_http_requests_total" | "litecnn_http_requests" => {
                let route = labels.get("route").map_or("", String::as_str);
                if !is_inference(route) {
                    continue;
                }
                snap.requests += value as u64;
                let status: u16 = labels
                    .get("status")
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                if status >= 500 && status != 503 {
                    snap.errors += value as u64;
                }
            }
            "litecnn_predict_stage_duration_seconds_bucket"
                if labels.get("stage").map(String::as_str) == Some("total") =>
            {
                let le = match labels.get("le").map(String::as_str) {
                    Some("+Inf") => f64::INFINITY,
                    Some(bound) => match bound.parse() {
                        Ok(b) => b,
                        Err(_) => continue,
                    },
                    None => continue,
                };
                snap.buckets.push((le, value as u64));
            }
            _ => {}
        }
    }
    snap.buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    snap
}

fn is_inference(route: &str) -> bool {
    route == "/predict" || (route.starts_with("/v2/models/") && route.ends_with("/infer"))
}

/// `name{k="v",…} value [timestamp]` → its parts; `None` for anything else.
fn sample(line: &str) -> Option<(&str, BTreeMap<String, String>, f64)> {
    let line = line.trim();
    let (name, labels, rest) = match line.find('{') {
        Some(open) => {
            let close = open + line[open..].rfind('}')?;
            (
                &line[..open],
                labels(&line[open + 1..close]),
                &line[close + 1..],
            )
        }
        None => {
            let (name, rest) = line.split_once(' ')?;
            (name, BTreeMap::new(), rest)
        }
    };
    let value = rest.split_whitespace().next()?.parse().ok()?;
    Some((name, labels, value))
}

/// `k="v",k2="v2"`; values may hold escaped quotes and commas.
fn labels(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut rest = text;
    while let Some((key, after)) = rest.split_once("=\"") {
        let mut value = String::new();
        let mut chars = after.char_indices();
        let mut end = after.len();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, escaped)) = chars.next() {
                        value.push(if escaped == 'n' { '\n' } else { escaped });
                    }
                }
                '"' => {
                    end = i + 1;
                    break;
                }
                c => value.push(c),
            }
        }
        out.insert(key.trim_matches([',', ' ']).to_owned(), value);
        rest = &after[end..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"# HELP litecnn_http_requests HTTP requests
# TYPE litecnn_http_requests counter
litecnn_http_requests_total{route="/predict",method="POST",status="200"} 90
litecnn_http_requests_total{route="/predict",method="POST",status="503"} 4
litecnn_http_requests_total{route="/predict",method="POST",status="500"} 2
litecnn_http_requests_total{route="/v2/models/{name}/infer",method="POST",status="500"} 1
litecnn_http_requests_total{route="/metrics",method="GET",status="500"} 7
litecnn_predict_stage_duration_seconds_bucket{stage="total",le="0.001"} 50
litecnn_predict_stage_duration_seconds_bucket{stage="total",le="0.002"} 90
litecnn_predict_stage_duration_seconds_bucket{stage="total",le="+Inf"} 100
litecnn_predict_stage_duration_seconds_bucket{stage="inference",le="+Inf"} 100
litecnn_model_info{name="m",version="v, \"2\"",digest="sha256:ab"} 1
# EOF
"#;

    #[test]
    fn reads_inference_requests_errors_histogram_and_digest() {
        let s = parse(TEXT);
        assert_eq!(s.serving.as_deref(), Some("sha256:ab"));
        assert_eq!(s.requests, 97);
        assert_eq!(s.errors, 3, "500s of inference routes only, never 503");
        assert_eq!(s.buckets, [(0.001, 50), (0.002, 90), (f64::INFINITY, 100)]);
        // Rank 50 is the top of the first bucket; rank 99 lies in +Inf: the last finite bound.
        assert_eq!(s.quantile_ms(0.5), Some(1.0));
        assert_eq!(s.quantile_ms(0.7), Some(1.5));
        assert_eq!(s.quantile_ms(0.99), Some(2.0));
    }

    #[test]
    fn a_window_is_the_difference() {
        let end = parse(TEXT);
        let start = parse(
            &TEXT
                .replace("} 90", "} 80")
                .replace("le=\"0.001\"} 50", "le=\"0.001\"} 45"),
        );
        let w = end.since(&start);
        assert_eq!(w.requests, 10);
        assert_eq!(w.buckets[0], (0.001, 5));
        assert_eq!(w.buckets[1], (0.002, 10));
        assert_eq!(Snapshot::default().quantile_ms(0.99), None);
    }
}
