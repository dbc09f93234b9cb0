//! The admin's roster import (`POST /admin/import`, `server/src/roster.rs`): any file is read into rows and
//! problems with line numbers, checked against what the database knows, and reported, never a panic. The
//! database's answer is made up from the file itself: every other username and email "already taken", with
//! roles cycling through all four, so the checks against existing people run on every input.
#![no_main]

use hallway_protocol::Role;
use hallway_server::roster::{Existing, MAX_PROBLEMS, Roster};
use libfuzzer_sys::fuzz_target;

const ROLES: [Role; 4] = [Role::Admin, Role::Teacher, Role::Parent, Role::Student];

fuzz_target!(|data: &[u8]| {
    let mut roster = Roster::parse(data);
    let (usernames, emails) = roster.lookups();
    let mut existing = Existing::default();
    for (i, username) in usernames.iter().enumerate().filter(|(i, _)| i % 2 == 1) {
        existing.roles.insert(username.clone(), ROLES[i / 2 % ROLES.len()]);
    }
    existing.emails.extend(emails.into_iter().step_by(2));
    roster.check_against(&existing);
    let report = roster.report();
    assert_eq!(report.valid, report.problems.is_empty(), "valid exactly when there is no problem");
    assert!(report.problems.len() <= MAX_PROBLEMS + 1, "the report lists too many problems");
    assert!(report.rows >= roster.rows.len(), "more people parsed than lines");
    let (parents, students) = roster.guardianships();
    assert_eq!(parents.len(), students.len());
});
