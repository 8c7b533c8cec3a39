//! Progress of a batch command on standard error: an indicatif bar with rate and ETA when
//! stderr is a terminal, otherwise a plain `progress: …` line at most every two seconds and one
//! at the end, so logs and CI output stay readable. Standard output is never written to here
//! except through [`Progress::println`], which the commands use for their own result lines.

use std::fmt::Display;
use std::io::IsTerminal;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// Plain lines are printed at most this often (plus the final one).
const PLAIN_EVERY: Duration = Duration::from_secs(2);

/// Counts `total` items of work, `noun` naming what is counted ("jobs enqueued", "articles").
pub struct Progress {
    total: u64,
    noun: &'static str,
    shown: Shown,
}

enum Shown {
    Bar(ProgressBar),
    /// Interior mutability because `rewrite` drives jobs concurrently through `&Progress`.
    Plain(Mutex<Plain>),
}

struct Plain {
    done: u64,
    started: Instant,
    last_line: Instant,
}

impl Progress {
    /// A bar when stderr is a terminal, plain lines otherwise.
    pub fn new(total: u64, noun: &'static str) -> Self {
        let shown = if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(total);
            bar.set_style(
                ProgressStyle::with_template(&format!(
                    "{{bar:30}} {{pos}}/{{len}} {noun} · {{per_sec}} · ETA {{eta}}"
                ))
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            Shown::Bar(bar)
        } else {
            let now = Instant::now();
            Shown::Plain(Mutex::new(Plain {
                done: 0,
                started: now,
                last_line: now,
            }))
        };
        Self { total, noun, shown }
    }

    /// Counts `n` more items done.
    pub fn inc(&self, n: u64) {
        match &self.shown {
            Shown::Bar(bar) => bar.inc(n),
            Shown::Plain(plain) => {
                let mut plain = plain.lock().unwrap_or_else(PoisonError::into_inner);
                plain.done += n;
                let now = Instant::now();
                if due(plain.last_line, now) && plain.done < self.total {
                    plain.last_line = now;
                    eprintln!(
                        "{}",
                        plain_line(
                            plain.done,
                            self.total,
                            self.noun,
                            now - plain.started,
                            false
                        )
                    );
                }
            }
        }
    }

    /// Prints a line on standard output without tearing the bar.
    pub fn println(&self, line: impl Display) {
        match &self.shown {
            Shown::Bar(bar) => bar.suspend(|| println!("{line}")),
            Shown::Plain(_) => println!("{line}"),
        }
    }

    /// Prints a line on standard error without tearing the bar.
    pub fn eprintln(&self, line: impl Display) {
        match &self.shown {
            Shown::Bar(bar) => bar.suspend(|| eprintln!("{line}")),
            Shown::Plain(_) => eprintln!("{line}"),
        }
    }

    /// Clears the bar, or prints the final plain line (none when there was nothing to do).
    pub fn finish(self) {
        match self.shown {
            Shown::Bar(bar) => bar.finish_and_clear(),
            Shown::Plain(plain) => {
                let plain = plain.into_inner().unwrap_or_else(PoisonError::into_inner);
                if self.total > 0 {
                    eprintln!(
                        "{}",
                        plain_line(
                            plain.done,
                            self.total,
                            self.noun,
                            plain.started.elapsed(),
                            true
                        )
                    );
                }
            }
        }
    }
}

/// Whether a plain line is due, the last one (or the start) having been at `last`.
fn due(last: Instant, now: Instant) -> bool {
    now.saturating_duration_since(last) >= PLAIN_EVERY
}

/// `progress: 120/1000 jobs enqueued (12%) · 85.3/s · ETA 10s`; at the end, `done in …`
/// instead of the ETA.
fn plain_line(done: u64, total: u64, noun: &str, elapsed: Duration, finished: bool) -> String {
    let percent = done.saturating_mul(100).checked_div(total).unwrap_or(100);
    let secs = elapsed.as_secs_f64();
    let rate = (secs > 0.0).then(|| done as f64 / secs);
    let rate_text = match rate {
        Some(r) if r >= 1.0 => format!("{r:.1}/s"),
        Some(r) => format!("{r:.2}/s"),
        None => "-/s".to_owned(),
    };
    let tail = if finished {
        format!("done in {}", human_duration(elapsed))
    } else {
        match rate {
            Some(r) if r > 0.0 => {
                let left = total.saturating_sub(done) as f64 / r;
                format!("ETA {}", human_duration(Duration::from_secs_f64(left)))
            }
            _ => "ETA ?".to_owned(),
        }
    };
    format!("progress: {done}/{total} {noun} ({percent}%) · {rate_text} · {tail}")
}

/// `45s`, `3m10s`, `1h02m`, rounded to the nearest second.
fn human_duration(d: Duration) -> String {
    let secs = d.as_secs() + u64::from(d.subsec_millis() >= 500);
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m{:02}s", s / 60, s % 60),
        s => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_seconds_minutes_or_hours() {
        assert_eq!(human_duration(Duration::from_secs(0)), "0s");
        assert_eq!(human_duration(Duration::from_millis(44_600)), "45s");
        assert_eq!(human_duration(Duration::from_secs(190)), "3m10s");
        assert_eq!(human_duration(Duration::from_secs(3600 + 125)), "1h02m");
        assert_eq!(human_duration(Duration::from_secs(30 * 3600)), "30h00m");
    }

    #[test]
    fn a_plain_line_has_counts_percent_rate_and_eta() {
        let line = plain_line(120, 1000, "jobs enqueued", Duration::from_secs(2), false);
        assert_eq!(
            line,
            "progress: 120/1000 jobs enqueued (12%) · 60.0/s · ETA 15s"
        );
    }

    #[test]
    fn the_final_line_says_how_long_it_took() {
        let line = plain_line(3, 3, "articles", Duration::from_secs(12), true);
        assert_eq!(line, "progress: 3/3 articles (100%) · 0.25/s · done in 12s");
    }

    #[test]
    fn no_time_elapsed_or_nothing_done_gives_no_rate_or_eta() {
        assert_eq!(
            plain_line(0, 5, "articles", Duration::ZERO, false),
            "progress: 0/5 articles (0%) · -/s · ETA ?"
        );
        assert_eq!(
            plain_line(0, 5, "articles", Duration::from_secs(3), false),
            "progress: 0/5 articles (0%) · 0.00/s · ETA ?"
        );
    }

    #[test]
    fn plain_lines_are_due_every_two_seconds() {
        let start = Instant::now();
        assert!(!due(start, start));
        assert!(!due(start, start + Duration::from_millis(1999)));
        assert!(due(start, start + Duration::from_secs(2)));
        assert!(due(start, start + Duration::from_secs(7)));
        // A clock read before `last` (threads racing for the lock) is simply not due.
        assert!(!due(start + Duration::from_secs(1), start));
    }
}
