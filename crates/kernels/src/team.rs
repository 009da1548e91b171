//! The threads one model run splits its ops over: the calling thread plus `threads - 1`
//! helpers owned by a [`ThreadTeam`]. It is built for batch-1 inference on a few cores, where
//! one run posts a hundred jobs, each a few microseconds to a millisecond long:
//!
//! - A job is a number of parts. Every thread, the caller included, claims parts until none
//!   are left, so a helper the OS has descheduled delays only a part it has already claimed.
//! - Between the jobs of a run, helpers spin for a short while ([`SPIN_FOR`]), then park.
//!   When the run ends they park at once: an idle model costs no CPU. (A pool that keeps
//!   spinning slows everything else on a busy 2-core machine.)
//! - One run at a time owns the helpers. A run that starts while another holds them runs on
//!   its own thread only, rather than waiting.
//! - A server that runs several models' runs at once can ask ([`share_cores_between_runs`])
//!   for every op to run on its own thread whenever more than one run is under way in the
//!   process: the cores are then busy with the other runs, and a helper would only take turns
//!   with their threads while its run waits for the part it was descheduled in.
//!
//! Kernels never see the team: [`threads`] and [`for_each_part`] read the team of the run
//! the calling thread is executing, and degrade to one thread outside a run or inside a part.

use std::any::Any;
use std::cell::Cell;
use std::marker::PhantomData;
use std::panic::{self, AssertUnwindSafe};
use std::ptr;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release, SeqCst};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize};
use std::sync::{Arc, Mutex, PoisonError, TryLockError};
use std::thread::{self, JoinHandle, Thread};
use std::time::{Duration, Instant};

/// How long a helper spins for the next job of a run before it parks. Long enough to cover
/// the single-threaded ops between two split ones (waking a parked thread costs tens of
/// microseconds on a VM), short enough not to hold a core through a slow stretch.
pub const SPIN_FOR: Duration = Duration::from_micros(200);

/// Runs under way in this process (outermost [`ThreadTeam::run`] calls, on any team).
static RUNS_UNDER_WAY: AtomicUsize = AtomicUsize::new(0);

/// Whether a run splits its ops only while it is the one run under way in the process.
static SHARE_CORES: AtomicBool = AtomicBool::new(false);

/// From now on, an op splits over its run's team only while no other run is under way in
/// this process; otherwise it runs on the calling thread. For servers whose concurrent
/// requests already keep every core busy. Off by default (a benchmark or a test that runs
/// teams side by side wants them split).
pub fn share_cores_between_runs(share: bool) {
    SHARE_CORES.store(share, Relaxed);
}

/// Whether another run in this process should have the cores this run's helpers would use.
fn cores_taken_by_other_runs() -> bool {
    SHARE_CORES.load(Relaxed) && RUNS_UNDER_WAY.load(Relaxed) > 1
}

/// Counts one run as under way until dropped.
struct RunUnderWay;

impl RunUnderWay {
    fn start() -> RunUnderWay {
        RUNS_UNDER_WAY.fetch_add(1, Relaxed);
        RunUnderWay
    }
}

impl Drop for RunUnderWay {
    fn drop(&mut self) {
        RUNS_UNDER_WAY.fetch_sub(1, Relaxed);
    }
}

/// A calling thread plus `threads - 1` helper threads, for splitting one run's ops.
pub struct ThreadTeam {
    shared: Arc<Shared>,
    helpers: Vec<JoinHandle<()>>,
    /// Held by the run that owns the helpers.
    busy: Mutex<()>,
}

impl std::fmt::Debug for ThreadTeam {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThreadTeam")
            .field("threads", &self.threads())
            .finish()
    }
}

impl ThreadTeam {
    /// A team of `threads` threads in all (the caller counts as one); `threads` ≥ 1.
    pub fn new(threads: usize) -> std::io::Result<ThreadTeam> {
        let helpers = threads.max(1) - 1;
        let shared = Arc::new(Shared {
            threads: helpers + 1,
            state: AtomicU64::new(0),
            parts: AtomicUsize::new(0),
            done: AtomicUsize::new(0),
            job: AtomicPtr::new(ptr::null_mut()),
            active: AtomicBool::new(false),
            shutdown: AtomicBool::new(false),
            panic: Mutex::new(None),
            sleepers: (0..helpers).map(|_| Sleeper::default()).collect(),
        });
        let mut team = ThreadTeam {
            shared: shared.clone(),
            helpers: Vec::with_capacity(helpers),
            busy: Mutex::new(()),
        };
        for index in 0..helpers {
            let shared = shared.clone();
            let handle = thread::Builder::new()
                .name(format!("litecnn-run-{}", index + 1))
                .spawn(move || shared.helper_loop(index))?;
            // Dropping `team` on a later spawn error stops the helpers started so far.
            team.shared.sleepers[index].set_thread(handle.thread().clone());
            team.helpers.push(handle);
        }
        Ok(team)
    }

    /// The number of threads a run on this team splits its ops over.
    pub fn threads(&self) -> usize {
        self.shared.threads
    }

    /// Runs `f` on the calling thread with this team's helpers available to the kernels it
    /// calls. If another run holds the helpers, or the caller is already inside a run, `f`
    /// runs on the calling thread alone.
    pub fn run<R>(&self, f: impl FnOnce() -> R) -> R {
        if !CURRENT.get().is_null() {
            return f();
        }
        let _counted = RunUnderWay::start();
        if self.helpers.is_empty() || cores_taken_by_other_runs() {
            return f();
        }
        let _owner = match self.busy.try_lock() {
            Ok(guard) => guard,
            // A panic in an earlier run left nothing half-done: `post` waits for every part.
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => return f(),
        };
        let _entered = Entered::new(&self.shared);
        f()
    }
}

impl Drop for ThreadTeam {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, SeqCst);
        for sleeper in &self.shared.sleepers {
            sleeper.wake(true);
        }
        for handle in self.helpers.drain(..) {
            // A helper catches the panics of the parts it runs, so it cannot end in one.
            let _ = handle.join();
        }
    }
}

thread_local! {
    /// The team of the run this thread is executing (null outside a run and inside a part).
    static CURRENT: Cell<*const Shared> = const { Cell::new(ptr::null()) };
}

/// The number of threads the current run splits an op over (1 outside a run, and while
/// other runs have the cores: [`share_cores_between_runs`]).
pub fn threads() -> usize {
    let current = CURRENT.get();
    if current.is_null() || cores_taken_by_other_runs() {
        1
    } else {
        // SAFETY: CURRENT is set only while `ThreadTeam::run` borrows the team that owns it.
        unsafe { (*current).threads }
    }
}

/// Calls `f(part)` once for every part in `0..parts`, over the current run's threads (on the
/// calling thread alone outside a run). Returns when every part has returned; a panic in a
/// part is re-raised here once all of them are done.
pub fn for_each_part<F: Fn(usize) + Sync>(parts: usize, f: F) {
    let current = CURRENT.get();
    if current.is_null() || parts <= 1 || cores_taken_by_other_runs() {
        (0..parts).for_each(f);
        return;
    }
    // SAFETY: as in `threads`.
    let shared = unsafe { &*current };
    // Parts run with no team, so a kernel that splits inside a part runs that split alone.
    CURRENT.set(ptr::null());
    let _restore = RestoreCurrent(current);
    shared.post(parts, &f);
}

/// Calls `f(i, chunk)` for every `chunk_len`-element chunk of `data` (the last may be
/// shorter), over the current run's threads like [`for_each_part`].
pub fn for_each_chunk_mut<T: Send, F: Fn(usize, &mut [T]) + Sync>(
    data: &mut [T],
    chunk_len: usize,
    f: F,
) {
    assert!(chunk_len > 0, "chunks of 0 elements");
    let chunks = DisjointChunks {
        ptr: data.as_mut_ptr(),
        len: data.len(),
        chunk_len,
        _borrow: PhantomData,
    };
    for_each_part(data.len().div_ceil(chunk_len), |i| {
        // SAFETY: `for_each_part` calls each index exactly once.
        f(i, unsafe { chunks.chunk(i) })
    });
}

/// An exclusively borrowed slice handed out as disjoint chunks, one writer per chunk.
struct DisjointChunks<'a, T> {
    ptr: *mut T,
    len: usize,
    chunk_len: usize,
    _borrow: PhantomData<&'a mut [T]>,
}

// SAFETY: the only access is `chunk`, whose contract gives each chunk to one caller, so
// threads touch disjoint elements; `T: Send` lets those elements be written from any thread.
unsafe impl<T: Send> Sync for DisjointChunks<'_, T> {}

impl<T> DisjointChunks<'_, T> {
    /// # Safety
    /// Chunk `i` may be taken once.
    #[allow(clippy::mut_from_ref)]
    unsafe fn chunk(&self, i: usize) -> &mut [T] {
        let start = i * self.chunk_len;
        assert!(
            start < self.len,
            "chunk {i} of a {}-element slice",
            self.len
        );
        let len = self.chunk_len.min(self.len - start);
        // SAFETY: in bounds (checked above) and not aliased (the caller's contract).
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(start), len) }
    }
}

struct RestoreCurrent(*const Shared);

impl Drop for RestoreCurrent {
    fn drop(&mut self) {
        CURRENT.set(self.0);
    }
}

/// Marks the calling thread as running on a team, and the helpers as worth spinning for;
/// undone on drop, panics included.
struct Entered<'a> {
    shared: &'a Shared,
}

impl<'a> Entered<'a> {
    fn new(shared: &'a Shared) -> Entered<'a> {
        shared.active.store(true, SeqCst);
        // Woken now, the helpers are spinning by the time the first op splits.
        for sleeper in &shared.sleepers {
            sleeper.wake(false);
        }
        CURRENT.set(shared);
        Entered { shared }
    }
}

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        CURRENT.set(ptr::null());
        self.shared.active.store(false, SeqCst);
    }
}

/// One posted job: the function every part calls. Lives on the poster's stack, which
/// `Shared::post` does not leave before every part is done.
struct Job<'a> {
    run: &'a (dyn Fn(usize) + Sync),
}

struct Shared {
    threads: usize,
    /// The current job's number (high 32 bits) and its next unclaimed part (low 32 bits, or
    /// [`CLOSED`] while the job is being posted), in one word so that a claim made for a
    /// finished job fails rather than takes a part of the next one.
    state: AtomicU64,
    /// The current job's part count.
    parts: AtomicUsize,
    /// The current job's parts that have returned.
    done: AtomicUsize,
    /// The current job (a `*const Job`).
    job: AtomicPtr<()>,
    /// Whether a run is under way (helpers spin between its jobs).
    active: AtomicBool,
    shutdown: AtomicBool,
    /// The first panic of the current job's parts, re-raised by the poster.
    panic: Mutex<Option<Box<dyn Any + Send>>>,
    sleepers: Vec<Sleeper>,
}

fn job_number(state: u64) -> u32 {
    (state >> 32) as u32
}

/// The low word of a job's state while the job is being posted: no part can be claimed.
const CLOSED: u64 = u32::MAX as u64;

fn is_open(state: u64) -> bool {
    state & CLOSED != CLOSED
}

impl Shared {
    /// Runs every part of `run` on this thread and whichever helpers join, then re-raises the
    /// first panic of a part. Only the thread holding `ThreadTeam::busy` calls this.
    fn post(&self, parts: usize, run: &(dyn Fn(usize) + Sync)) {
        assert!(parts < CLOSED as usize, "a job of 2^32 parts or more");
        let job = Job { run };
        // Never 0, the number a helper has seen before its first job.
        let number = job_number(self.state.load(Relaxed))
            .checked_add(1)
            .unwrap_or(1);
        let number_bits = u64::from(number) << 32;
        // Closed first: a claim still aimed at the last job (whose parts are all taken) would
        // otherwise succeed against the next job's part count, before that job's state is
        // written, and run a part of it twice.
        self.state.store(number_bits | CLOSED, SeqCst);
        self.job
            .store(ptr::from_ref(&job).cast_mut().cast(), Release);
        self.parts.store(parts, Release);
        self.done.store(0, Release);
        // Open: publishes the stores above to every thread that reads this state.
        self.state.store(number_bits, SeqCst);
        for sleeper in &self.sleepers {
            sleeper.wake(false);
        }
        while let Some(part) = self.claim(number) {
            self.run_part(&job, part);
        }
        let mut spins = 0u32;
        while self.done.load(Acquire) < parts {
            // A helper still runs a part; it may have been descheduled, so stop burning the
            // core it could use after a while.
            if spins < 1 << 14 {
                std::hint::spin_loop();
                spins += 1;
            } else {
                thread::yield_now();
            }
        }
        // No thread can reach `job` now: every part is claimed and has returned.
        let panic = self
            .panic
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(payload) = panic {
            panic::resume_unwind(payload);
        }
    }

    /// Claims the next part of job `number`, if that job is still current and has one left.
    fn claim(&self, number: u32) -> Option<usize> {
        let mut state = self.state.load(Acquire);
        loop {
            let next = state as u32 as usize;
            // `parts` may already be the next job's; then the exchange below fails, as the
            // next job has a new number.
            if job_number(state) != number || next >= self.parts.load(Acquire) {
                return None;
            }
            match self
                .state
                .compare_exchange_weak(state, state + 1, AcqRel, Acquire)
            {
                Ok(_) => return Some(next),
                Err(now) => state = now,
            }
        }
    }

    fn run_part(&self, job: &Job<'_>, part: usize) {
        if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(|| (job.run)(part))) {
            self.panic
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get_or_insert(payload);
        }
        self.done.fetch_add(1, Release);
    }

    fn helper_loop(&self, index: usize) {
        let mut seen = 0u32;
        while let Some(number) = self.wait_for_job(seen, index) {
            seen = number;
            while let Some(part) = self.claim(number) {
                // SAFETY: a successful claim of job `number` means its poster is still
                // waiting for this part, so the `Job` it published before that number is
                // alive and is the one `job` points to.
                let job = unsafe { &*self.job.load(Acquire).cast::<Job<'_>>() };
                self.run_part(job, part);
            }
        }
    }

    /// Waits for a job numbered other than `seen`: spins while a run is under way and for
    /// at most [`SPIN_FOR`] at a time, else parks. `None` when the team is shutting down.
    fn wait_for_job(&self, seen: u32, index: usize) -> Option<u32> {
        let sleeper = &self.sleepers[index];
        let mut spin_start = Instant::now();
        loop {
            if self.shutdown.load(Acquire) {
                return None;
            }
            let state = self.state.load(Acquire);
            if job_number(state) != seen && is_open(state) {
                return Some(job_number(state));
            }
            if self.active.load(Relaxed) && spin_start.elapsed() < SPIN_FOR {
                std::hint::spin_loop();
                continue;
            }
            // Announce the nap, then look once more: a poster either sees `asleep` and
            // unparks, or has published its job before this second look.
            sleeper.asleep.store(true, SeqCst);
            let state = self.state.load(SeqCst);
            let posted = job_number(state) != seen && is_open(state);
            if !posted && !self.shutdown.load(SeqCst) {
                thread::park();
            }
            sleeper.asleep.store(false, SeqCst);
            spin_start = Instant::now();
        }
    }
}

/// A helper's parking spot.
#[derive(Default)]
struct Sleeper {
    asleep: AtomicBool,
    thread: std::sync::OnceLock<Thread>,
}

impl Sleeper {
    fn set_thread(&self, thread: Thread) {
        let _ = self.thread.set(thread);
    }

    /// Unparks the helper if it is parked (always, when `force`).
    fn wake(&self, force: bool) {
        if (self.asleep.swap(false, SeqCst) || force)
            && let Some(thread) = self.thread.get()
        {
            thread.unpark();
        }
    }
}
