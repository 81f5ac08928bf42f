//! Which worker a unit goes to next: alive, not stalled, not tried yet;
//! among those with a free slot, the one already holding most of its
//! inputs' bytes.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use gg_core::Thunk;

use super::{Remote, RemoteExecutor};

impl RemoteExecutor {
    /// The next worker to try: alive, not stalled, not tried for this
    /// thunk; among those with a free slot, the one already holding the
    /// most bytes of its inputs (ties go round the pool); when all are full,
    /// the least loaded.
    pub(super) fn pick(&self, chain: &[Arc<Thunk>], tried: &HashSet<usize>) -> Option<usize> {
        let ws = &self.inner.workers;
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let held = |w: &Remote| -> u64 {
            let known = w.known.lock().expect("known");
            let objects = chain.iter().flat_map(|t| t.objects());
            objects.filter(|(o, _)| known.contains(&o.hash)).map(|(o, _)| o.hash.size()).sum()
        };
        let load = |w: &Remote| (w.in_flight.load(Ordering::Relaxed), w.slots.load(Ordering::Relaxed).max(1));
        let candidates: Vec<usize> = (0..ws.len())
            .map(|k| (start + k) % ws.len())
            .filter(|i| {
                !tried.contains(i) && ws[*i].alive.load(Ordering::Relaxed) && !ws[*i].stalled.load(Ordering::Relaxed)
            })
            .collect();
        let free: Vec<usize> = candidates.iter().copied().filter(|i| load(&ws[*i]).0 < load(&ws[*i]).1).collect();
        if free.is_empty() {
            return candidates.into_iter().min_by_key(|i| {
                let (n, s) = load(&ws[*i]);
                n * 1000 / s
            });
        }
        // `max_by_key` keeps the last maximum: iterate in reverse so that
        // ties go to the earliest in round-robin order.
        free.into_iter().rev().max_by_key(|i| held(&ws[*i]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gg_core::{Function, Name, Object, Store};

    fn thunk(input: Name) -> Thunk {
        let f = Name::of_value(b"tool");
        Thunk::new(
            Function { hash: f, args: vec!["tool".into()], envars: vec![] },
            vec![Object { path: "in".into(), hash: input }],
            vec![Object { path: "tool".into(), hash: f }],
            vec![],
            vec!["out".into()],
            String::new(),
            0,
        )
        .unwrap()
    }

    #[test]
    fn a_worker_holding_the_inputs_is_preferred_while_it_has_a_free_slot() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let urls: Vec<String> = (0..3).map(|i| format!("http://127.0.0.1:{}", 1000 + i)).collect();
        let r = RemoteExecutor::new(store, &urls, None, true);
        let big = Name::of_value(&[0u8; 4096]);
        let t = [Arc::new(thunk(big))];
        r.inner.workers[1].known.lock().unwrap().insert(big);
        for _ in 0..5 {
            assert_eq!(r.pick(&t, &HashSet::new()), Some(1));
        }
        // Full: the work goes elsewhere rather than queueing there.
        r.inner.workers[1].in_flight.store(2, Ordering::Relaxed);
        let other = r.pick(&t, &HashSet::new()).unwrap();
        assert_ne!(other, 1);
        // Already tried, dead or stalled workers are skipped.
        let tried: HashSet<usize> = [other].into();
        let third = r.pick(&t, &tried).unwrap();
        assert!(third != other && third != 1);
        r.inner.workers[third].alive.store(false, Ordering::Relaxed);
        r.inner.workers[other].stalled.store(true, Ordering::Relaxed);
        assert_eq!(r.pick(&t, &HashSet::new()), Some(1), "only the busy one is left");
    }
}
