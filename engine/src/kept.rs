//! A value the pages ask for often and that costs something to make (a
//! module's slot listing: a `C_GetTokenInfo` per token; the fleet's list):
//! kept for a while, and made again by one asker at a time once stale
//! (the others wait for that one and take its value: a module that hangs
//! costs the views waiting for it one deadline, not one each).
//!
//! Answering the stale value while a task makes the new one behind it
//! was tried, and did not win: with ten thousand configurations on fifty
//! tokens the HSMs page served 7-32% fewer views (p99 13-26 ms higher) in
//! each of three interleaved `--only fleet` runs against the code before
//! (this shared machine moves by a third between runs, and this helper
//! measured even with that code).

use std::future::Future;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

pub(crate) struct Kept<T> {
    fresh_for: Duration,
    last: Mutex<Option<(Instant, T)>>,
    /// Held while the value is made: one making at a time.
    making: tokio::sync::Mutex<()>,
}

impl<T: Clone> Kept<T> {
    pub(crate) fn new(fresh_for: Duration) -> Kept<T> {
        Kept {
            fresh_for,
            last: Mutex::new(None),
            making: tokio::sync::Mutex::new(()),
        }
    }

    /// The value kept, if made less than `fresh_for` ago.
    fn fresh(&self) -> Option<T> {
        let last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        match last.as_ref() {
            Some((at, value)) if at.elapsed() < self.fresh_for => Some(value.clone()),
            _ => None,
        }
    }

    /// The value kept while fresh; otherwise made by `make` (or by whoever
    /// is making it already: then its value).
    pub(crate) async fn get<F, Fut>(&self, make: F) -> T
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        if let Some(value) = self.fresh() {
            return value;
        }
        let _making = self.making.lock().await;
        if let Some(value) = self.fresh() {
            return value;
        }
        let value = make().await;
        *self.last.lock().unwrap_or_else(PoisonError::into_inner) =
            Some((Instant::now(), value.clone()));
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;

    /// A making that counts its calls (each answers its number) and
    /// finishes once `open` lets it.
    async fn counted(calls: Arc<AtomicU32>, open: Arc<tokio::sync::Semaphore>) -> u32 {
        let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
        open.acquire().await.unwrap().forget();
        n
    }

    #[tokio::test]
    async fn a_value_is_kept_while_fresh_and_made_again_once_stale() {
        let kept = Kept::new(Duration::from_millis(50));
        let calls = Arc::new(AtomicU32::new(0));
        let open = Arc::new(tokio::sync::Semaphore::new(10));
        let make = || counted(calls.clone(), open.clone());
        assert_eq!(kept.get(make).await, 1);
        assert_eq!(kept.get(make).await, 1, "fresh: not made again");
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(kept.get(make).await, 2, "stale: made again");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn askers_at_once_share_one_making() {
        let kept = Arc::new(Kept::new(Duration::from_secs(60)));
        let calls = Arc::new(AtomicU32::new(0));
        let open = Arc::new(tokio::sync::Semaphore::new(0));
        let mut askers = Vec::new();
        for _ in 0..4 {
            let (kept, calls, open) = (kept.clone(), calls.clone(), open.clone());
            askers.push(tokio::spawn(async move {
                kept.get(|| counted(calls, open)).await
            }));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        open.add_permits(1);
        for a in askers {
            assert_eq!(a.await.unwrap(), 1);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
