//! Password jobs on a fixed set of threads.
//!
//! argon2id at the default cost takes 19 MiB per job. Jobs on tokio's
//! blocking pool would each land on whichever thread is free or new, and
//! every thread's allocator arena would keep its 19 MiB: a login storm grew
//! the server by hundreds of MiB. A fixed set of threads (one per core)
//! bounds both the jobs running at once and the memory they keep.
//!
//! Waiting jobs are bounded by the connections: a connection has at most
//! one login and one password change in flight.

use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;

use tokio::sync::mpsc as tokio_mpsc;

use crate::password::{PasswordJob, PasswordOutcome};

/// The hashing threads; dropping it lets them finish their current job and
/// stop.
#[derive(Debug)]
pub struct HashingPool {
    jobs: Option<mpsc::Sender<PasswordJob>>,
    threads: Vec<JoinHandle<()>>,
}

impl HashingPool {
    /// Starts `threads` threads; outcomes come out of the returned receiver.
    pub fn start(
        threads: usize,
    ) -> (
        Self,
        tokio_mpsc::UnboundedReceiver<(PasswordJob, PasswordOutcome)>,
    ) {
        let (jobs, queue) = mpsc::channel::<PasswordJob>();
        let queue = Arc::new(Mutex::new(queue));
        let (done, outcomes) = tokio_mpsc::unbounded_channel();
        let threads = (0..threads.max(1))
            .filter_map(|n| {
                let queue = queue.clone();
                let done = done.clone();
                std::thread::Builder::new()
                    .name(format!("slsk-hash-{n}"))
                    .spawn(move || {
                        loop {
                            // The lock is held only while waiting for a job.
                            let job = match queue.lock() {
                                Ok(queue) => queue.recv(),
                                Err(_) => return,
                            };
                            let Ok(job) = job else { return };
                            let outcome = job.run();
                            if done.send((job, outcome)).is_err() {
                                return;
                            }
                        }
                    })
                    .map_err(|e| tracing::error!(%e, "starting a hashing thread"))
                    .ok()
            })
            .collect();
        (
            Self {
                jobs: Some(jobs),
                threads,
            },
            outcomes,
        )
    }

    /// Queues a job.
    pub fn submit(&self, job: PasswordJob) {
        if let Some(jobs) = &self.jobs
            && jobs.send(job).is_err()
        {
            tracing::error!("hashing threads are gone");
        }
    }
}

impl Drop for HashingPool {
    fn drop(&mut self) {
        drop(self.jobs.take());
        // Threads finish their current job (milliseconds) and stop; they are
        // not joined, so that dropping never blocks an async task.
        self.threads.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PasswordCost;
    use crate::password::PasswordPurpose;

    #[tokio::test]
    async fn jobs_come_back_with_their_outcome() {
        let (pool, mut outcomes) = HashingPool::start(2);
        for conn in 0..4 {
            pool.submit(PasswordJob {
                conn,
                purpose: PasswordPurpose::Register,
                password: "pw".into(),
                cost: PasswordCost::TEST,
            });
        }
        let mut conns = Vec::new();
        for _ in 0..4 {
            let (job, outcome) = outcomes.recv().await.unwrap();
            assert!(matches!(outcome, PasswordOutcome::Hashed(_)));
            conns.push(job.conn);
        }
        conns.sort();
        assert_eq!(conns, [0, 1, 2, 3]);
    }
}
