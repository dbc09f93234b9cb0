//! Password hashing with argon2id, on a bounded pool of its own threads.
//!
//! Each hash takes 19 MiB and tens of milliseconds of one core. On the runtime's unbounded blocking pool a
//! storm of sign-ins ran hundreds at once: memory rose by gigabytes and the allocator kept it. Here a fixed
//! number of workers (one per core by default) each own one block buffer, allocated once and reused for
//! every hash, so hashing never holds more than `workers × 19 MiB`. Jobs wait in a short queue (about
//! [`MAX_QUEUE_WAIT`] of work); past it a request is refused at once with [`HashError::Busy`] (503 with
//! `Retry-After`) instead of piling up.

use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, ParamsString, PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::oneshot;

/// Shortest password accepted (the protocol's rule, which the SDK checks too).
pub const MIN_LENGTH: usize = hallway_protocol::validate::MIN_PASSWORD_CHARS;
/// Longest password accepted (argon2 does not care, but a megabyte of "password" is abuse).
pub const MAX_LENGTH: usize = hallway_protocol::validate::MAX_PASSWORD_CHARS;
/// How much work the queue holds at most, in time: a sign-in waits this long at worst before hashing.
pub const MAX_QUEUE_WAIT: Duration = Duration::from_secs(5);
/// The largest memory cost a stored hash may ask for (in KiB blocks): a stored hash is ours, but a hash
/// with an absurd cost must not make a worker allocate gigabytes.
const MAX_STORED_M_COST: u32 = 256 * 1024;

/// Why a new password is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PasswordError {
    #[error("must be at least {MIN_LENGTH} characters")]
    TooShort,
    #[error("must be at most {MAX_LENGTH} characters")]
    TooLong,
}

/// A password that meets the rules for a new password.
pub struct NewPassword(String);

impl NewPassword {
    /// Checks the length rules (counted in characters, as everywhere in the contract).
    pub fn parse(raw: &str) -> Result<NewPassword, PasswordError> {
        let len = raw.chars().count();
        if len < MIN_LENGTH {
            Err(PasswordError::TooShort)
        } else if len > MAX_LENGTH {
            Err(PasswordError::TooLong)
        } else {
            Ok(NewPassword(raw.to_owned()))
        }
    }
}

/// Why the pool did not hash.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// The queue is full: retry after this long.
    #[error("password hashing is busy")]
    Busy(Duration),
    /// The pool has stopped, or argon2 refused its input.
    #[error("hashing a password: {0}")]
    Failed(String),
}

enum Task {
    Hash(String),
    Verify { stored: Option<String>, password: String },
}

enum Answer {
    Hashed(String),
    Verified(bool),
}

struct Job {
    task: Task,
    reply: oneshot::Sender<Result<Answer, HashError>>,
}

/// The bounded hashing pool; cheap to share behind an `Arc`. Its threads end when it is dropped.
pub struct HashPool {
    jobs: SyncSender<Job>,
    workers: usize,
    queue: usize,
    /// What one hash took when the pool started: the basis of `Retry-After` and of the queue's length.
    hash_time: Duration,
}

impl HashPool {
    /// Starts `workers` hashing threads (at least one). `queue` bounds the jobs waiting; `None` sizes it to
    /// [`MAX_QUEUE_WAIT`] of work, measured with one hash now (which is also the hash that unknown users
    /// are checked against, so they cost the same time).
    pub fn start(workers: usize, queue: Option<usize>) -> anyhow::Result<HashPool> {
        let workers = workers.max(1);
        let mut blocks = new_buffer();
        let dummy = Arc::new(hash_with(&mut blocks, "not a real password, only for timing")?);
        // Timed on a second hash: the first also faults in the buffer's 19 MiB, so it overstates a hash and
        // sizes the queue short (a storm of 200 clients at once, which 5 s of work holds, then met 503s).
        let started = Instant::now();
        hash_with(&mut blocks, "not a real password, only for timing")?;
        let hash_time = started.elapsed().max(Duration::from_millis(1));
        let queue = queue.unwrap_or_else(|| {
            let per_worker = (MAX_QUEUE_WAIT.as_secs_f64() / hash_time.as_secs_f64()) as usize;
            per_worker.max(1) * workers
        });
        let (jobs, receiver) = sync_channel(queue);
        let receiver = Arc::new(Mutex::new(receiver));
        for i in 0..workers {
            let receiver = Arc::clone(&receiver);
            let dummy = Arc::clone(&dummy);
            // The first worker reuses the buffer the measuring hash used.
            let blocks = if i == 0 { std::mem::take(&mut blocks) } else { Vec::new() };
            std::thread::Builder::new().name(format!("password-{i}")).spawn(move || work(&receiver, blocks, &dummy))?;
        }
        tracing::debug!(workers, queue, hash_ms = hash_time.as_millis() as u64, "password hashing pool started");
        Ok(HashPool { jobs, workers, queue, hash_time })
    }

    /// How many jobs may wait.
    pub fn queue_len(&self) -> usize {
        self.queue
    }

    /// Hashes a new password (argon2id, random salt, the crate's recommended parameters).
    pub async fn hash(&self, password: NewPassword) -> Result<String, HashError> {
        match self.run(Task::Hash(password.0)).await? {
            Answer::Hashed(hash) => Ok(hash),
            Answer::Verified(_) => Err(HashError::Failed("the pool answered another task".into())),
        }
    }

    /// Checks a password against a stored hash. With no hash (an unknown user, an account never activated),
    /// it still spends the same time on a dummy hash, so response times do not reveal which accounts exist.
    pub async fn verify(&self, stored: Option<String>, password: String) -> Result<bool, HashError> {
        match self.run(Task::Verify { stored, password }).await? {
            Answer::Verified(ok) => Ok(ok),
            Answer::Hashed(_) => Err(HashError::Failed("the pool answered another task".into())),
        }
    }

    async fn run(&self, task: Task) -> Result<Answer, HashError> {
        let (reply, answer) = oneshot::channel();
        match self.jobs.try_send(Job { task, reply }) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                // A full queue drains in about this long.
                let wait = self.hash_time.mul_f64(self.queue as f64 / self.workers as f64);
                return Err(HashError::Busy(wait.max(Duration::from_secs(1))));
            }
            Err(TrySendError::Disconnected(_)) => return Err(HashError::Failed("the pool has stopped".into())),
        }
        answer.await.map_err(|_| HashError::Failed("a hashing worker stopped".into()))?
    }
}

/// One worker: takes jobs until the pool is dropped, hashing in its own reused buffer.
fn work(receiver: &Mutex<Receiver<Job>>, mut blocks: Vec<Block>, dummy: &str) {
    loop {
        let job = {
            let receiver = receiver.lock().unwrap_or_else(|p| p.into_inner());
            receiver.recv()
        };
        let Ok(job) = job else { return };
        // The request went away while it waited (the client gave up): nobody needs this hash.
        if job.reply.is_closed() {
            continue;
        }
        let answer = match job.task {
            Task::Hash(password) => hash_with(&mut blocks, &password).map(Answer::Hashed),
            Task::Verify { stored, password } => {
                let ok = match stored {
                    Some(stored) => check_with(&mut blocks, &stored, &password),
                    None => {
                        let _ = check_with(&mut blocks, dummy, &password);
                        false
                    }
                };
                Ok(Answer::Verified(ok))
            }
        };
        let _ = job.reply.send(answer.map_err(|e| HashError::Failed(e.to_string())));
    }
}

/// A buffer for the default parameters (19 MiB).
fn new_buffer() -> Vec<Block> {
    vec![Block::default(); Params::DEFAULT.block_count()]
}

/// Hashes with the default parameters into `blocks` (grown if needed, never shrunk), as a PHC string.
fn hash_with(blocks: &mut Vec<Block>, password: &str) -> anyhow::Result<String> {
    let params = Params::DEFAULT;
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_bytes).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    fit(blocks, params.block_count());
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(password.as_bytes(), salt_bytes, &mut out, &mut *blocks)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| anyhow::anyhow!("{e}"))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|e| anyhow::anyhow!("{e}"))?),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the PHC string `stored`, hashing into `blocks`; the comparison takes constant
/// time. A stored hash that does not parse matches nothing.
fn check_with(blocks: &mut Vec<Block>, stored: &str, password: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else { return false };
    let Ok(params) = Params::try_from(&parsed) else { return false };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm) else { return false };
    let version = match parsed.version.map(Version::try_from).transpose() {
        Ok(version) => version.unwrap_or_default(),
        Err(_) => return false,
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else { return false };
    if params.m_cost() > MAX_STORED_M_COST {
        return false;
    }
    let mut salt_bytes = [0u8; 64];
    let Ok(salt_bytes) = salt.decode_b64(&mut salt_bytes) else { return false };
    let mut out = vec![0u8; expected.len()];
    fit(blocks, params.block_count());
    let hashed = Argon2::new(algorithm, version, params).hash_password_into_with_memory(
        password.as_bytes(),
        salt_bytes,
        &mut out,
        &mut *blocks,
    );
    hashed.is_ok() && Output::new(&out).is_ok_and(|out| out == expected)
}

/// Makes `blocks` hold at least `count` blocks (argon2 uses the first `count`).
fn fit(blocks: &mut Vec<Block>, count: usize) {
    if blocks.len() < count {
        blocks.resize(count, Block::default());
    }
}

/// Hashes a new password on the blocking pool: for the command-line tools, which run no `HashPool`.
pub async fn hash(password: NewPassword) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || hash_blocking(&password.0)).await?
}

/// The synchronous hash, for command-line tools and seeding.
pub fn hash_blocking(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_rules_count_characters() {
        assert_eq!(NewPassword::parse("short").err(), Some(PasswordError::TooShort));
        assert!(NewPassword::parse("ünïcödé!").is_ok());
        assert_eq!(NewPassword::parse(&"x".repeat(257)).err(), Some(PasswordError::TooLong));
    }

    #[tokio::test]
    async fn pool_hashes_and_verifies_and_reads_hashes_made_elsewhere() {
        let pool = HashPool::start(2, None).unwrap();
        let hash = pool.hash(NewPassword::parse("correct horse").unwrap()).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(pool.verify(Some(hash.clone()), "correct horse".into()).await.unwrap());
        assert!(!pool.verify(Some(hash), "wrong horse".into()).await.unwrap());
        assert!(!pool.verify(None, "anything".into()).await.unwrap());
        assert!(!pool.verify(Some("not a hash".into()), "anything".into()).await.unwrap());
        // Hashes stored by earlier versions (the crate's own `hash_password`) still verify.
        let older = hash_blocking("correct horse").unwrap();
        assert!(pool.verify(Some(older), "correct horse".into()).await.unwrap());
    }

    #[tokio::test]
    async fn a_full_queue_refuses_at_once_with_a_wait() {
        let pool = HashPool::start(1, Some(1)).unwrap();
        let attempts = (0..6).map(|_| pool.verify(None, "x".into()));
        let results = futures_util::future::join_all(attempts).await;
        let busy: Vec<Duration> = results
            .iter()
            .filter_map(|r| if let Err(HashError::Busy(wait)) = r { Some(*wait) } else { None })
            .collect();
        assert!(!busy.is_empty(), "one worker and a queue of one cannot take six at once");
        assert!(busy.iter().all(|wait| *wait >= Duration::from_secs(1)));
        assert!(results.iter().all(|r| matches!(r, Ok(false) | Err(HashError::Busy(_)))));
    }
}
