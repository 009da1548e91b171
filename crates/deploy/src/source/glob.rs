//! Shell-style wildcards for checkpoint file names: `*` (any run), `?` (one character),
//! everything else literal. Only file names are matched, so `/` needs no special case.

/// True when `name` matches `pattern`.
pub fn matches(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    // Iterative matching with one backtrack point (the last `*`): linear in practice and
    // never exponential, unlike naive recursion.
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ni));
                pi += 1;
            }
            Some(&c) if c == '?' || c == n[ni] => {
                pi += 1;
                ni += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    pi = sp + 1;
                    ni = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// True when `pattern` holds a wildcard.
pub fn is_glob(pattern: &str) -> bool {
    pattern.contains(['*', '?'])
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn matches_like_a_shell() {
        assert!(matches("*_best.pth", "LiteCNNPro_best.pth"));
        assert!(matches("*_best.pth", "_best.pth"));
        assert!(!matches("*_best.pth", "LiteCNNPro_best.pth.tmp"));
        assert!(matches("ep??.pth", "ep07.pth"));
        assert!(!matches("ep??.pth", "ep7.pth"));
        assert!(matches("*", ""));
        assert!(matches("a*b*c", "aXXbYYc"));
        assert!(!matches("a*b*c", "aXXbYY"));
        assert!(matches("best.pth", "best.pth"));
        assert!(!matches(&"*a".repeat(20), &"a".repeat(19)));
    }
}
