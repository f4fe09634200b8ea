//! Waiting for the next job on a PKCS#11 slot's worker thread.
//!
//! Under load the next job usually comes within microseconds, and parking
//! costs more than that: a futex sleep, then a wake-up from the sender (on
//! a virtual machine, an interrupt to a halted CPU), on both threads. So a
//! worker yields a few times before it parks. (The history writer does
//! not wait this way: it takes rows in batches, which already spreads its
//! wake-ups, and spinning there measured no gain, twice. It yields once
//! after waking instead; see `history::writer`.)

use std::sync::mpsc::{Receiver, RecvError, TryRecvError};

/// How many times a worker yields, looking for its next job, before it
/// parks. Idle, a worker spends these few yields once after each job.
const YIELDS_BEFORE_PARKING: u32 = 50;

/// The next message of `rx`: yields while the queue is empty, at most
/// [`YIELDS_BEFORE_PARKING`] times, then blocks. Fails once every sender
/// is gone and the queue is empty.
pub(crate) fn recv_soon<T>(rx: &Receiver<T>) -> Result<T, RecvError> {
    for _ in 0..YIELDS_BEFORE_PARKING {
        match rx.try_recv() {
            Ok(message) => return Ok(message),
            Err(TryRecvError::Empty) => std::thread::yield_now(),
            Err(TryRecvError::Disconnected) => return Err(RecvError),
        }
    }
    rx.recv()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::channel;
    use std::time::Duration;

    #[test]
    fn messages_arrive_before_and_after_parking_and_a_closed_queue_ends_the_wait() {
        let (tx, rx) = channel::<u32>();
        tx.send(1).unwrap();
        assert_eq!(recv_soon(&rx), Ok(1), "already queued");
        let sender = std::thread::spawn(move || {
            // Long after the yields: the receiver is parked by then.
            std::thread::sleep(Duration::from_millis(50));
            tx.send(2).unwrap();
            std::thread::sleep(Duration::from_millis(50));
        });
        assert_eq!(recv_soon(&rx), Ok(2));
        sender.join().unwrap();
        assert_eq!(recv_soon(&rx), Err(RecvError), "every sender is gone");
    }
}
