//! [`UploadStatus`]: what our search replies and user info advertise about
//! uploads, written by the transfer task after every change and read by
//! whoever answers (without a round trip to the task).

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

/// The upload queue as peers see it: a free slot, the waiting uploads, the
/// average speed of finished uploads, the slots in all.
#[derive(Debug)]
pub(crate) struct UploadStatus {
    free_slot: AtomicBool,
    queue_length: AtomicU32,
    average_speed: AtomicU32,
    slots: AtomicU32,
}

/// One reading of [`UploadStatus`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct UploadFigures {
    pub(crate) free_slot: bool,
    pub(crate) queue_length: u32,
    pub(crate) average_speed: u32,
    pub(crate) slots: u32,
}

impl UploadStatus {
    /// An empty queue with `slots` slots.
    pub(crate) fn new(slots: usize) -> Self {
        let status = Self {
            free_slot: AtomicBool::new(true),
            queue_length: AtomicU32::new(0),
            average_speed: AtomicU32::new(0),
            slots: AtomicU32::new(0),
        };
        status.store(UploadFigures {
            free_slot: slots > 0,
            queue_length: 0,
            average_speed: 0,
            slots: u32::try_from(slots).unwrap_or(u32::MAX),
        });
        status
    }

    /// Records the queue's state now.
    pub(crate) fn store(&self, figures: UploadFigures) {
        self.free_slot.store(figures.free_slot, Ordering::Relaxed);
        self.queue_length
            .store(figures.queue_length, Ordering::Relaxed);
        self.average_speed
            .store(figures.average_speed, Ordering::Relaxed);
        self.slots.store(figures.slots, Ordering::Relaxed);
    }

    /// The latest state (each figure as fresh as the last change; they are
    /// advertised, not acted on).
    pub(crate) fn load(&self) -> UploadFigures {
        UploadFigures {
            free_slot: self.free_slot.load(Ordering::Relaxed),
            queue_length: self.queue_length.load(Ordering::Relaxed),
            average_speed: self.average_speed.load(Ordering::Relaxed),
            slots: self.slots.load(Ordering::Relaxed),
        }
    }
}
