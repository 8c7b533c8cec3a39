//! A tiny regex subset for a schema's `pattern`, enough to check a generated string and to
//! write one the pattern accepts: anchors, literals, `.`, classes, `\d \w \s` (and negations),
//! quantifiers `* + ? {n} {n,} {n,m}`. Groups and alternation are not supported (the pattern
//! is then ignored).

#[derive(Debug)]
enum Atom {
    Any,
    Literal(char),
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

impl Atom {
    fn matches(&self, c: char) -> bool {
        match self {
            Atom::Any => c != '\n',
            Atom::Literal(l) => *l == c,
            Atom::Class { negated, ranges } => {
                ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c)) != *negated
            }
        }
    }

    fn sample(&self) -> char {
        const PREFERRED: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_- ";
        match self {
            Atom::Literal(c) => *c,
            _ => PREFERRED
                .chars()
                .chain(('!'..='~').filter(|c| !c.is_ascii_digit()))
                .chain('0'..='9')
                .find(|c| self.matches(*c))
                .unwrap_or('x'),
        }
    }
}

#[derive(Debug)]
struct Piece {
    atom: Atom,
    min: usize,
    max: usize,
}

#[derive(Debug)]
pub(super) struct MiniRegex {
    pieces: Vec<Piece>,
    anchored_start: bool,
    anchored_end: bool,
}

fn shorthand(c: char) -> Option<(bool, Vec<(char, char)>)> {
    let (negated, ranges) = match c {
        'd' => (false, vec![('0', '9')]),
        'D' => (true, vec![('0', '9')]),
        'w' => (false, vec![('a', 'z'), ('A', 'Z'), ('0', '9'), ('_', '_')]),
        'W' => (true, vec![('a', 'z'), ('A', 'Z'), ('0', '9'), ('_', '_')]),
        's' => (false, vec![(' ', ' '), ('\t', '\r')]),
        'S' => (true, vec![(' ', ' '), ('\t', '\r')]),
        _ => return None,
    };
    Some((negated, ranges))
}

fn unescape(c: char) -> char {
    match c {
        'n' => '\n',
        't' => '\t',
        'r' => '\r',
        other => other,
    }
}

impl MiniRegex {
    pub(super) fn parse(pattern: &str) -> Option<MiniRegex> {
        let chars: Vec<char> = pattern.chars().collect();
        let mut i = 0;
        let anchored_start = chars.first() == Some(&'^');
        if anchored_start {
            i = 1;
        }
        let mut anchored_end = false;
        let mut pieces = Vec::new();
        while i < chars.len() {
            let atom = match chars[i] {
                '$' if i + 1 == chars.len() => {
                    anchored_end = true;
                    i += 1;
                    continue;
                }
                '.' => {
                    i += 1;
                    Atom::Any
                }
                '[' => Self::class(&chars, &mut i)?,
                '\\' => {
                    let c = *chars.get(i + 1)?;
                    i += 2;
                    match shorthand(c) {
                        Some((negated, ranges)) => Atom::Class { negated, ranges },
                        None => Atom::Literal(unescape(c)),
                    }
                }
                '(' | ')' | '|' | '*' | '+' | '?' | '{' | '}' | '^' | '$' => return None,
                c => {
                    i += 1;
                    Atom::Literal(c)
                }
            };
            let (min, max) = match chars.get(i) {
                Some('*') => {
                    i += 1;
                    (0, usize::MAX)
                }
                Some('+') => {
                    i += 1;
                    (1, usize::MAX)
                }
                Some('?') => {
                    i += 1;
                    (0, 1)
                }
                Some('{') => {
                    let close = i + chars[i..].iter().position(|c| *c == '}')?;
                    let inner: String = chars[i + 1..close].iter().collect();
                    i = close + 1;
                    match inner.split_once(',') {
                        None => {
                            let n = inner.trim().parse().ok()?;
                            (n, n)
                        }
                        Some((lo, hi)) => {
                            let lo = lo.trim().parse().ok()?;
                            let hi = if hi.trim().is_empty() {
                                usize::MAX
                            } else {
                                hi.trim().parse().ok()?
                            };
                            (lo, hi)
                        }
                    }
                }
                _ => (1, 1),
            };
            if matches!(chars.get(i), Some('?' | '+')) && (min, max) != (1, 1) {
                i += 1; // lazy or possessive: same language
            }
            if min > max {
                return None;
            }
            pieces.push(Piece { atom, min, max });
        }
        Some(MiniRegex {
            pieces,
            anchored_start,
            anchored_end,
        })
    }

    /// Parses `[...]` starting at `chars[*i] == '['`.
    fn class(chars: &[char], i: &mut usize) -> Option<Atom> {
        let mut j = *i + 1;
        let negated = chars.get(j) == Some(&'^');
        if negated {
            j += 1;
        }
        let mut ranges = Vec::new();
        let mut first = true;
        loop {
            let c = *chars.get(j)?;
            if c == ']' && !first {
                j += 1;
                break;
            }
            first = false;
            let lo = if c == '\\' {
                let e = *chars.get(j + 1)?;
                j += 2;
                if let Some((neg, more)) = shorthand(e) {
                    if neg {
                        return None;
                    }
                    ranges.extend(more);
                    continue;
                }
                unescape(e)
            } else {
                j += 1;
                c
            };
            if chars.get(j) == Some(&'-') && chars.get(j + 1).is_some_and(|c| *c != ']') {
                let hi = match chars[j + 1] {
                    '\\' => unescape(*chars.get(j + 2)?),
                    c => c,
                };
                j += if chars[j + 1] == '\\' { 3 } else { 2 };
                ranges.push((lo, hi));
            } else {
                ranges.push((lo, lo));
            }
        }
        *i = j;
        Some(Atom::Class { negated, ranges })
    }

    fn match_at(&self, piece: usize, s: &[char], at: usize) -> bool {
        let Some(p) = self.pieces.get(piece) else {
            return !self.anchored_end || at == s.len();
        };
        let mut n = 0;
        while n < p.max && at + n < s.len() && p.atom.matches(s[at + n]) {
            n += 1;
        }
        n >= p.min
            && (p.min..=n)
                .rev()
                .any(|k| self.match_at(piece + 1, s, at + k))
    }

    pub(super) fn is_match(&self, s: &str) -> bool {
        let chars: Vec<char> = s.chars().collect();
        if self.anchored_start {
            self.match_at(0, &chars, 0)
        } else {
            (0..=chars.len()).any(|at| self.match_at(0, &chars, at))
        }
    }

    /// A short string the pattern accepts.
    pub(super) fn generate(&self) -> String {
        self.pieces
            .iter()
            .flat_map(|p| std::iter::repeat_n(p.atom.sample(), p.min))
            .collect()
    }
}
