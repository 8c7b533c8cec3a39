//! How a YAML 1.1 reader (PyYAML, Ruby's Psych) types a plain scalar: its implicit resolvers
//! for booleans, null, integers (sexagesimal too), floats and timestamps, hand-written.
//!
//! The emitter above never needs it (it quotes anything not plainly prose), but its promise is
//! judged by it: the emitter's tests read every plain scalar it writes with these rules, and
//! `crate::check::contract` reports string values a stored article writes bare that YAML 1.1
//! would read as something else. yaml_serde, the YAML crate in the tree, follows YAML 1.2.

/// What a YAML 1.1 reader makes of a plain scalar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Null,
    Bool,
    Int,
    Float,
    Timestamp,
    /// `=` (the value key) and `<<` (the merge key): not strings either.
    Special,
    Str,
}

/// How a YAML 1.1 reader types this plain scalar: PyYAML's implicit resolvers, plus `y`/`n`,
/// any-case booleans and nulls, and `0o` octal to be safe.
#[must_use]
pub fn kind(text: &str) -> Kind {
    const NULLS: [&str; 2] = ["null", "~"];
    const BOOLS: [&str; 8] = ["yes", "no", "on", "off", "y", "n", "true", "false"];
    let bytes = text.as_bytes();
    let is = |words: &[&str]| words.iter().any(|w| text.eq_ignore_ascii_case(w));
    if is(&NULLS) {
        Kind::Null
    } else if is(&BOOLS) {
        Kind::Bool
    } else if is(&["=", "<<"]) {
        Kind::Special
    } else if is_yaml11_int(bytes) {
        Kind::Int
    } else if is_yaml11_float(bytes) {
        Kind::Float
    } else if is_yaml11_timestamp(bytes) {
        Kind::Timestamp
    } else {
        Kind::Str
    }
}

/// Whether a YAML 1.1 reader resolves this plain scalar to anything but a string.
#[must_use]
pub fn non_string(text: &str) -> bool {
    kind(text) != Kind::Str
}

/// A cursor over ASCII bytes, enough to hand-write the YAML 1.1 resolver patterns (each of
/// which can be matched greedily, without backtracking).
struct Scan<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Scan<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Scan { bytes, at: 0 }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    /// Takes one byte if it passes `test`.
    fn take(&mut self, test: impl Fn(u8) -> bool) -> bool {
        let taken = self.peek().is_some_and(test);
        self.at += usize::from(taken);
        taken
    }

    fn take_byte(&mut self, want: u8) -> bool {
        self.take(|b| b == want)
    }

    fn take_str(&mut self, want: &[u8]) -> bool {
        let taken = self.bytes[self.at..].starts_with(want);
        if taken {
            self.at += want.len();
        }
        taken
    }

    /// Takes bytes while they pass `test`; how many.
    fn take_while(&mut self, test: impl Fn(u8) -> bool) -> usize {
        let count = self.bytes[self.at..]
            .iter()
            .take_while(|b| test(**b))
            .count();
        self.at += count;
        count
    }

    /// Takes `min` to `max` ASCII digits.
    fn take_digits(&mut self, min: usize, max: usize) -> bool {
        let count = self.bytes[self.at..]
            .iter()
            .take(max)
            .take_while(|b| b.is_ascii_digit())
            .count();
        self.at += count;
        count >= min
    }

    fn take_sign(&mut self) {
        self.take(|b| b == b'+' || b == b'-');
    }

    /// `(?::[0-5]?[0-9])+`, the base-60 tail of `1:30` or `190:20:30.15`.
    fn take_base60(&mut self) -> bool {
        let mut groups = 0;
        while self.take_byte(b':') {
            let Some(first) = self.peek().filter(u8::is_ascii_digit) else {
                return false;
            };
            self.at += 1;
            if first <= b'5' {
                self.take(|b| b.is_ascii_digit());
            }
            groups += 1;
        }
        groups > 0
    }

    /// `(?:[eE][-+][0-9]+)?`
    fn take_exponent(&mut self) -> bool {
        !self.take(|b| b == b'e' || b == b'E')
            || (self.take(|b| b == b'+' || b == b'-') && self.take_digits(1, usize::MAX))
    }

    fn done(&self) -> bool {
        self.at == self.bytes.len()
    }
}

fn digit_or_underscore(b: u8) -> bool {
    b.is_ascii_digit() || b == b'_'
}

/// PyYAML's int: `0b1010`, `0o17` (1.2), `017`, `0x1F`, `1_000`, `1:30`.
fn is_yaml11_int(bytes: &[u8]) -> bool {
    let prefixed = |prefix: &[u8], digit: fn(u8) -> bool| {
        let mut scan = Scan::new(bytes);
        scan.take_sign();
        scan.take_str(prefix) && scan.take_while(|b| digit(b) || b == b'_') > 0 && scan.done()
    };
    let decimal = || {
        let mut scan = Scan::new(bytes);
        scan.take_sign();
        if scan.take_byte(b'0') {
            return scan.done();
        }
        scan.take(|b| (b'1'..=b'9').contains(&b)) && {
            scan.take_while(digit_or_underscore);
            scan.done() || (scan.take_base60() && scan.done())
        }
    };
    prefixed(b"0b", |b| b == b'0' || b == b'1')
        || prefixed(b"0o", |b| (b'0'..=b'7').contains(&b))
        || prefixed(b"0x", |b| b.is_ascii_hexdigit())
        || prefixed(b"0", |b| (b'0'..=b'7').contains(&b))
        || decimal()
}

/// PyYAML's float: `1.5`, `1.`, `.5` (not `._`), `6.8523015e+5`, `190:20:30.15`, `.inf`, `.NaN`.
fn is_yaml11_float(bytes: &[u8]) -> bool {
    let with_integer_part = || {
        let mut scan = Scan::new(bytes);
        scan.take_sign();
        if !scan.take(|b| b.is_ascii_digit()) {
            return false;
        }
        scan.take_while(digit_or_underscore);
        if scan.take_byte(b'.') {
            scan.take_while(digit_or_underscore);
            return scan.take_exponent() && scan.done();
        }
        scan.take_base60() && scan.take_byte(b'.') && {
            scan.take_while(digit_or_underscore);
            scan.done()
        }
    };
    let fraction_only = || {
        let mut scan = Scan::new(bytes);
        if !(scan.take_byte(b'.') && scan.take(|b| b.is_ascii_digit())) {
            return false;
        }
        scan.take_while(digit_or_underscore);
        scan.take_exponent() && scan.done()
    };
    let special = || {
        let mut scan = Scan::new(bytes);
        scan.take_sign();
        let infinity = [&b".inf"[..], b".Inf", b".INF"].contains(&&bytes[scan.at..]);
        infinity || [&b".nan"[..], b".NaN", b".NAN"].contains(&bytes)
    };
    with_integer_part() || fraction_only() || special()
}

/// PyYAML's timestamp: `2026-02-05`, `2026-2-5 17:45:43`, `2026-02-05T17:45:43.000Z`,
/// `2026-02-05 17:45:43 +01:00`.
fn is_yaml11_timestamp(bytes: &[u8]) -> bool {
    let date_only = || {
        let mut scan = Scan::new(bytes);
        scan.take_digits(4, 4)
            && scan.take_byte(b'-')
            && scan.take_digits(2, 2)
            && scan.take_byte(b'-')
            && scan.take_digits(2, 2)
            && scan.done()
    };
    let date_time = || {
        let mut scan = Scan::new(bytes);
        let date = scan.take_digits(4, 4)
            && scan.take_byte(b'-')
            && scan.take_digits(1, 2)
            && scan.take_byte(b'-')
            && scan.take_digits(1, 2);
        let separator = scan.take(|b| b == b'T' || b == b't') || scan.take_while(is_blank) > 0;
        let time = scan.take_digits(1, 2)
            && scan.take_byte(b':')
            && scan.take_digits(2, 2)
            && scan.take_byte(b':')
            && scan.take_digits(2, 2);
        if !(date && separator && time) {
            return false;
        }
        if scan.take_byte(b'.') {
            scan.take_while(|b| b.is_ascii_digit());
        }
        scan.take_while(is_blank);
        let zone = scan.done()
            || scan.take_byte(b'Z')
            || (scan.take(|b| b == b'+' || b == b'-')
                && scan.take_digits(1, 2)
                && (!scan.take_byte(b':') || scan.take_digits(2, 2)));
        zone && scan.done()
    };
    date_only() || date_time()
}

fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}
