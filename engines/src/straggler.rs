//! When a remote attempt counts as a straggler, for both remote engines
//! (a worker's attempt, a Lambda invocation): four times the median of
//! recent durations, and never before a least wait (`GG_STRAGGLER_SECS`).

use std::sync::Mutex;
use std::time::Duration;

#[derive(Debug)]
pub struct Straggler {
    recent: Mutex<Vec<Duration>>,
    /// No attempt counts as a straggler before this.
    pub min: Duration,
}

impl Straggler {
    pub fn new(min: Duration) -> Straggler {
        Straggler { recent: Mutex::default(), min }
    }

    /// Four times the median of the last 64 durations, at least `min`.
    pub fn after(&self) -> Duration {
        let d = self.recent.lock().expect("durations");
        let mut v: Vec<Duration> = d.iter().rev().take(64).copied().collect();
        v.sort();
        let median = v.get(v.len() / 2).copied().unwrap_or_default();
        (median * 4).max(self.min)
    }

    pub fn record(&self, took: Duration) {
        let mut d = self.recent.lock().expect("durations");
        d.push(took);
        if d.len() > 256 {
            d.drain(..128);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deadline_is_four_medians_and_never_below_the_least_wait() {
        let s = Straggler::new(Duration::from_secs(1));
        assert_eq!(s.after(), Duration::from_secs(1), "nothing seen yet");
        for ms in [100, 900, 500] {
            s.record(Duration::from_millis(ms));
        }
        assert_eq!(s.after(), Duration::from_secs(2));
    }
}
