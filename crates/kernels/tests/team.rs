//! The thread team: every part of every job runs exactly once, on several threads at once
//! inside a run and on the calling thread outside one; panics reach the caller; concurrent and
//! nested runs fall back to one thread instead of deadlocking.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use litecnn_kernels::ThreadTeam;
use litecnn_kernels::team::{for_each_chunk_mut, for_each_part, threads};

/// Waits until `count` reaches `want`, for at most a few seconds; whether it did.
fn reaches(count: &AtomicUsize, want: usize) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while count.load(Ordering::SeqCst) < want {
        if Instant::now() > deadline {
            return false;
        }
        std::hint::spin_loop();
    }
    true
}

#[test]
fn every_part_of_every_job_runs_once() {
    let team = ThreadTeam::new(3).unwrap();
    team.run(|| {
        assert_eq!(threads(), 3);
        // Many short jobs back to back: a helper late for one job must not take a part of
        // the next.
        for job in 0..60_000usize {
            let parts = job % 37;
            let runs: Vec<AtomicUsize> = (0..parts).map(|_| AtomicUsize::new(0)).collect();
            for_each_part(parts, |p| {
                runs[p].fetch_add(1, Ordering::Relaxed);
            });
            for (p, r) in runs.iter().enumerate() {
                assert_eq!(r.load(Ordering::Relaxed), 1, "job {job}, part {p}");
            }
        }
    });
}

#[test]
fn parts_run_on_all_threads_at_once() {
    let team = ThreadTeam::new(3).unwrap();
    for round in 0..50 {
        // Each part waits for the other two: only three threads at once get past this.
        let arrived = AtomicUsize::new(0);
        let met = AtomicUsize::new(0);
        team.run(|| {
            for_each_part(3, |_| {
                arrived.fetch_add(1, Ordering::SeqCst);
                if reaches(&arrived, 3) {
                    met.fetch_add(1, Ordering::SeqCst);
                }
            })
        });
        assert_eq!(met.load(Ordering::SeqCst), 3, "round {round}");
        // Let the helpers park between rounds, so waking them is tested too.
        if round % 10 == 0 {
            thread::sleep(Duration::from_millis(5));
        }
    }
}

#[test]
fn outside_a_run_parts_run_on_the_calling_thread() {
    let _team = ThreadTeam::new(2).unwrap();
    assert_eq!(threads(), 1);
    let me = thread::current().id();
    let count = AtomicUsize::new(0);
    for_each_part(5, |_| {
        assert_eq!(thread::current().id(), me);
        count.fetch_add(1, Ordering::Relaxed);
    });
    assert_eq!(count.load(Ordering::Relaxed), 5);
}

#[test]
fn a_split_inside_a_part_runs_alone() {
    let team = ThreadTeam::new(2).unwrap();
    let count = AtomicUsize::new(0);
    team.run(|| {
        for_each_part(4, |_| {
            assert_eq!(threads(), 1);
            let me = thread::current().id();
            for_each_part(3, |_| {
                assert_eq!(thread::current().id(), me);
                count.fetch_add(1, Ordering::Relaxed);
            });
        });
        // And the run's own team is back after the job.
        assert_eq!(threads(), 2);
    });
    assert_eq!(count.load(Ordering::Relaxed), 12);
}

#[test]
fn a_panic_in_a_part_reaches_the_caller_after_every_part() {
    let team = ThreadTeam::new(3).unwrap();
    let finished = AtomicUsize::new(0);
    let result = catch_unwind(AssertUnwindSafe(|| {
        team.run(|| {
            for_each_part(12, |p| {
                if p == 5 {
                    panic!("part five");
                }
                thread::sleep(Duration::from_millis(1));
                finished.fetch_add(1, Ordering::SeqCst);
            })
        })
    }));
    let message = *result.unwrap_err().downcast::<&str>().unwrap();
    assert_eq!(message, "part five");
    assert_eq!(finished.load(Ordering::SeqCst), 11);
    // The team still works, and the failed run left the thread outside it.
    assert_eq!(threads(), 1);
    let count = AtomicUsize::new(0);
    team.run(|| {
        for_each_part(7, |_| {
            count.fetch_add(1, Ordering::Relaxed);
        })
    });
    assert_eq!(count.load(Ordering::Relaxed), 7);
}

#[test]
fn concurrent_runs_both_finish() {
    let team = ThreadTeam::new(2).unwrap();
    let total = AtomicUsize::new(0);
    thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..500 {
                    team.run(|| {
                        for_each_part(9, |_| {
                            total.fetch_add(1, Ordering::Relaxed);
                        })
                    });
                }
            });
        }
    });
    assert_eq!(total.load(Ordering::Relaxed), 4 * 500 * 9);
}

#[test]
fn chunks_cover_the_slice_once() {
    let team = ThreadTeam::new(3).unwrap();
    let mut data = vec![0usize; 1001];
    team.run(|| {
        for_each_chunk_mut(&mut data, 64, |i, chunk| {
            assert!(chunk.len() == 64 || (i == 15 && chunk.len() == 41));
            for (j, x) in chunk.iter_mut().enumerate() {
                *x += i * 64 + j + 1;
            }
        })
    });
    assert!(data.iter().enumerate().all(|(i, &x)| x == i + 1));
}

#[test]
fn a_team_of_one_is_the_calling_thread() {
    let team = ThreadTeam::new(1).unwrap();
    let me = thread::current().id();
    team.run(|| {
        assert_eq!(threads(), 1);
        for_each_part(3, |_| assert_eq!(thread::current().id(), me));
    });
}
