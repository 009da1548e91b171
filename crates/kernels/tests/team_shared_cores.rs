//! `share_cores_between_runs`: while two runs are under way in the process, each runs its ops on
//! its own thread; a run alone splits them over its team again. (A file of its own: the switch
//! is process-wide, and the other team tests want their runs split side by side.)

use std::sync::Barrier;
use std::sync::Mutex;
use std::thread::{self, ThreadId};

use litecnn_kernels::ThreadTeam;
use litecnn_kernels::team::{for_each_part, share_cores_between_runs, threads};

/// The threads the parts of one 64-part job ran on.
fn threads_of_a_job() -> Vec<ThreadId> {
    let seen = Mutex::new(Vec::new());
    for_each_part(64, |_| {
        // Long enough parts that a spinning helper gets to claim some of them.
        let spin = std::time::Instant::now();
        while spin.elapsed() < std::time::Duration::from_micros(50) {
            std::hint::spin_loop();
        }
        seen.lock().unwrap().push(thread::current().id());
    });
    let mut seen = seen.into_inner().unwrap();
    seen.sort_unstable_by_key(|id| format!("{id:?}"));
    seen.dedup();
    seen
}

#[test]
fn concurrent_runs_keep_to_their_own_threads_and_a_lone_run_splits() {
    share_cores_between_runs(true);
    let team = ThreadTeam::new(2).unwrap();
    let other = ThreadTeam::new(2).unwrap();

    // Alone: the job spreads over the team (one round may be all the caller's if the helper
    // is slow to wake, so several are tried).
    let split = (0..20).any(|_| team.run(|| threads() == 2 && threads_of_a_job().len() == 2));
    assert!(split, "a lone run never split its job over its team");

    // Two runs under way at once, on two teams: every job of each stays on its caller.
    let both_started = Barrier::new(2);
    let both_measured = Barrier::new(2);
    thread::scope(|s| {
        for team in [&team, &other] {
            let (started, measured) = (&both_started, &both_measured);
            s.spawn(move || {
                team.run(|| {
                    started.wait();
                    let (count, used) = (threads(), threads_of_a_job());
                    measured.wait();
                    assert_eq!(count, 1, "threads() while another run is under way");
                    assert_eq!(used, [thread::current().id()], "a job left its caller");
                })
            });
        }
    });

    // Switched off, a run that overlaps another may split again (the first run holds its
    // team's helpers, so the test uses the two teams' first runs).
    share_cores_between_runs(false);
    let both_started = Barrier::new(2);
    let counts = Mutex::new(Vec::new());
    thread::scope(|s| {
        for team in [&team, &other] {
            let (started, counts) = (&both_started, &counts);
            s.spawn(move || {
                team.run(|| {
                    started.wait();
                    counts.lock().unwrap().push(threads());
                    started.wait();
                })
            });
        }
    });
    assert_eq!(counts.into_inner().unwrap(), [2, 2]);
}
