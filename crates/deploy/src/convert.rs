//! Step 4, convert (DESIGN §4.1): for checkpoint sources, the user's `--convert` command turns
//! the fetched checkpoint into a bundle on this machine (the original users' conversion
//! script, or `litecnn-publish export ... --out {output}`). `{input}` and `{output}` are
//! replaced by shell-quoted paths; the command runs under `sh -c` with a time limit.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Checks a `--convert` template once, before any attempt.
pub fn check_template(template: &str) -> Result<(), String> {
    for placeholder in ["{input}", "{output}"] {
        if !template.contains(placeholder) {
            return Err(format!(
                "--convert must contain {placeholder} (e.g. \"litecnn-publish export ... --checkpoint {{input}} --out {{output}}\")"
            ));
        }
    }
    Ok(())
}

/// Runs the conversion; on failure the message ends with the tail of its output.
pub fn run(template: &str, input: &Path, output: &Path, limit: Duration) -> Result<String, String> {
    let command = template
        .replace("{input}", &shell_quote(&input.to_string_lossy()))
        .replace("{output}", &shell_quote(&output.to_string_lossy()));
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(&command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start sh: {e}"))?;
    // Drain both pipes on threads so a chatty converter never blocks on a full pipe.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_string(&mut text);
            }
            text
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if start.elapsed() < limit => std::thread::sleep(Duration::from_millis(50)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("the conversion took longer than {}s and was stopped", limit.as_secs()));
            }
            Err(e) => return Err(format!("waiting for the conversion: {e}")),
        }
    };
    let out = stdout.join().unwrap_or_default();
    let err = stderr.join().unwrap_or_default();
    if status.success() {
        Ok(format!("{:.1}s: {}", start.elapsed().as_secs_f64(), last_line(&out, &err)))
    } else {
        Err(format!("the conversion failed ({status}): {}", tail(&format!("{out}{err}"), 600)))
    }
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn last_line(out: &str, err: &str) -> String {
    let all = format!("{out}\n{err}");
    all.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("done")
        .trim()
        .to_owned()
}

fn tail(text: &str, max: usize) -> String {
    let text = text.trim();
    if text.len() <= max {
        return text.to_owned();
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    format!("…{}", &text[start..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitutes_quoted_paths_and_reports_failures() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("it's.pth");
        std::fs::write(&input, b"ckpt").unwrap();
        let output = dir.path().join("out dir");
        let ok = run("mkdir {output} && cp {input} {output}/x && echo converted", &input, &output, Duration::from_secs(10)).unwrap();
        assert!(ok.ends_with("converted"), "{ok}");
        assert_eq!(std::fs::read(output.join("x")).unwrap(), b"ckpt");

        let err = run("echo bad weights >&2; exit 4", &input, &output, Duration::from_secs(10)).unwrap_err();
        assert!(err.contains("bad weights") && err.contains('4'), "{err}");
        let slow = run("sleep 5", &input, &output, Duration::from_millis(200)).unwrap_err();
        assert!(slow.contains("longer than"), "{slow}");
        assert!(check_template("convert {input}").is_err());
    }
}
