//! Runs a blocking call over many items on a few threads at once: S3
//! round trips and uploads to workers overlap, in the Lambda function and
//! in both remote clients.
//!
//! The one helper for I/O-bound fan-outs. CPU-bound ones use rayon; these
//! do not, because each thread here mostly waits on the network: they
//! want more lanes than cores and must not occupy rayon's global pool
//! (sized to the cores) while a round trip is in flight.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// `f` applied to every item, at most `threads` at a time; results in the
/// items' order.
pub fn map<T: Sync, R: Send>(items: &[T], threads: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    if items.len() <= 1 || threads <= 1 {
        return items.iter().map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let out: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..threads.min(items.len()) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                let r = f(item);
                out.lock().expect("fanout")[i] = Some(r);
            });
        }
    });
    out.into_inner().expect("fanout").into_iter().map(|r| r.expect("every item ran")).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_item_once_in_order() {
        let items: Vec<u32> = (0..100).collect();
        let calls = std::sync::atomic::AtomicUsize::new(0);
        let got = super::map(&items, 8, |x| {
            calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            x * 2
        });
        assert_eq!(got, items.iter().map(|x| x * 2).collect::<Vec<_>>());
        assert_eq!(calls.into_inner(), 100);
    }
}
