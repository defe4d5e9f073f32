//! Name resolution off the event-loop thread: a small pool of threads runs a [`Resolver`]
//! and wakes the loop through a [`mio::Waker`] when an answer is ready.

use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};

/// Turns a host name into addresses. Called on a resolver thread, never on the event loop,
/// so it may block. Replace it to use another resolver (a cache, DNS over HTTPS, a fixed
/// table for tests).
pub trait Resolver: Send + Sync + 'static {
    /// The addresses of `host` (a name, never an IP literal), with `port` set.
    fn resolve(&self, host: &str, port: u16) -> io::Result<Vec<SocketAddr>>;
}

/// The operating system's resolver (`getaddrinfo`), as `tidings-std` uses.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

impl Resolver for SystemResolver {
    fn resolve(&self, host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
        Ok((host, port).to_socket_addrs()?.collect())
    }
}

/// The address of an IP literal (`127.0.0.1`, `[::1]`), which needs no resolver.
pub(crate) fn literal(host: &str, port: u16) -> Option<SocketAddr> {
    let bare = host.strip_prefix('[').and_then(|host| host.strip_suffix(']')).unwrap_or(host);
    bare.parse::<IpAddr>().ok().map(|ip| SocketAddr::new(ip, port))
}

/// A lookup to run: which connection asked (slot and serial), and for what.
struct Job {
    slot: usize,
    serial: u64,
    host: String,
    port: u16,
}

/// An answer for the connection in `slot`, if it is still the one with `serial`.
pub(crate) struct Answer {
    pub(crate) slot: usize,
    pub(crate) serial: u64,
    pub(crate) result: io::Result<Vec<SocketAddr>>,
}

/// The resolver threads: started on first use, stopped when the pool is dropped (their job
/// channel closes).
pub(crate) struct ResolverPool {
    resolver: Arc<dyn Resolver>,
    threads: usize,
    started: usize,
    jobs: Option<Sender<Job>>,
    job_receiver: Arc<Mutex<Receiver<Job>>>,
    answers: Receiver<Answer>,
    answer_sender: Sender<Answer>,
    waker: Arc<mio::Waker>,
    /// Lookups asked and not yet answered.
    pending: usize,
}

impl ResolverPool {
    pub(crate) fn new(resolver: Arc<dyn Resolver>, threads: usize, waker: Arc<mio::Waker>) -> ResolverPool {
        let (jobs, job_receiver) = channel();
        let (answer_sender, answers) = channel();
        ResolverPool {
            resolver,
            threads: threads.max(1),
            started: 0,
            jobs: Some(jobs),
            job_receiver: Arc::new(Mutex::new(job_receiver)),
            answers,
            answer_sender,
            waker,
            pending: 0,
        }
    }

    /// Asks for `host`'s addresses on behalf of the connection in `slot`.
    pub(crate) fn lookup(&mut self, slot: usize, serial: u64, host: &str, port: u16) -> io::Result<()> {
        if self.started < self.threads.min(self.pending + 1) {
            self.spawn()?;
        }
        let job = Job { slot, serial, host: host.to_owned(), port };
        let jobs = self.jobs.as_ref().ok_or_else(|| io::Error::other("the resolver pool is stopped"))?;
        jobs.send(job).map_err(|_| io::Error::other("the resolver threads have stopped"))?;
        self.pending += 1;
        Ok(())
    }

    fn spawn(&mut self) -> io::Result<()> {
        let (jobs, answers) = (self.job_receiver.clone(), self.answer_sender.clone());
        let (resolver, waker) = (self.resolver.clone(), self.waker.clone());
        std::thread::Builder::new().name("tidings-resolver".to_owned()).spawn(move || loop {
            let job = {
                let Ok(receiver) = jobs.lock() else { return };
                match receiver.recv() {
                    Ok(job) => job,
                    Err(_) => return,
                }
            };
            let result = resolver.resolve(&job.host, job.port);
            if answers.send(Answer { slot: job.slot, serial: job.serial, result }).is_err() {
                return;
            }
            // The loop may be gone; then nobody waits for the answer.
            let _ = waker.wake();
        })?;
        self.started += 1;
        Ok(())
    }

    /// Answers that arrived.
    pub(crate) fn answers(&mut self) -> Vec<Answer> {
        let answers: Vec<Answer> = self.answers.try_iter().collect();
        self.pending = self.pending.saturating_sub(answers.len());
        answers
    }
}

impl Drop for ResolverPool {
    fn drop(&mut self) {
        // Closing the channel ends every thread after its current lookup.
        self.jobs = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_and_their_results_can_move_between_threads() {
        fn sendable<T: Send>() {}
        sendable::<crate::Client>();
        sendable::<crate::Completion>();
    }

    #[test]
    fn literals_need_no_lookup() {
        assert_eq!(literal("127.0.0.1", 80), Some("127.0.0.1:80".parse().expect("address")));
        assert_eq!(literal("[::1]", 443), Some("[::1]:443".parse().expect("address")));
        assert_eq!(literal("localhost", 80), None);
    }
}
