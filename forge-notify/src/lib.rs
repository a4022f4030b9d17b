//! Deliveries fed from forge's durable event log.
//!
//! Every change appends an event to the log in the transaction that makes
//! it (`forge_core::event`). This crate turns the log into work: each
//! consumer (webhooks, e-mail, live pages, ...) keeps a durable cursor and
//! a queue of jobs, claimed with leases, retried with backoff, kept in order
//! per target, dead after the last attempt ([`queue`]). A crash anywhere
//! loses no event: a batch not committed is read again, a job whose worker
//! died is claimed again.

pub mod ci;
pub mod deliver;
pub mod github;
mod keyfile;
pub mod mail;
pub mod outbox;
pub mod queue;
pub mod seal;
pub mod sign;
pub mod ssrf;
pub mod webhook;

/// Lowers the calling thread, and the threads it starts after, to the
/// lowest CPU priority: on Linux the `SCHED_IDLE` policy, which runs only on
/// CPU time no other thread wants and gives way at once when a request
/// wakes up (a thread at niceness 19 may keep the CPU for the rest of its
/// time slice first); where that policy is refused, niceness 19. Deliveries
/// thus take the CPU that requests leave, so that a burst of events does not
/// slow the API down. Failure leaves the priority as it was.
pub fn background_priority() {
    use thread_priority::{set_current_thread_priority, ThreadPriority};
    #[cfg(target_os = "linux")]
    {
        use thread_priority::{
            set_thread_priority_and_policy, thread_native_id, NormalThreadSchedulePolicy,
            ThreadSchedulePolicy,
        };
        let idle = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle);
        if set_thread_priority_and_policy(thread_native_id(), ThreadPriority::Min, idle).is_ok() {
            return;
        }
    }
    let _ = set_current_thread_priority(ThreadPriority::Min);
}

#[cfg(test)]
mod tests;
