//! Who may message whom: pure (roles in, verdict out), so it is tested exhaustively without a database.
//! Callers load the people involved; every read and write that creates or widens contact asks here.
//!
//! The directory rule governs who may start a chat and whom a group may take in: a person joins a group
//! only when whoever adds them may message them. Members of a group see each other regardless.

use hallway_protocol::Role;
use serde::{Deserialize, Serialize};

/// The school's messaging rules: for each pair of roles, whether the first may start a chat with the second.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// `allowed[from][to]`, indexed in the order of `Role::ALL` (admin, teacher, parent, student).
    allowed: [[bool; 4]; 4],
}

/// One side of a contact, as far as the policy cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Party {
    pub role: Role,
    pub deactivated: bool,
}

/// The answer to "may this person message that one?".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// The school's role rules forbid it.
    ForbiddenByRoles,
    /// The other person's account is deactivated.
    Deactivated,
}

impl Verdict {
    /// Whether the contact may go ahead.
    pub fn is_allowed(self) -> bool {
        self == Verdict::Allowed
    }
}

impl Default for Policy {
    /// DESIGN.md's table: staff may message everyone; parents and students only staff.
    fn default() -> Self {
        //            admin  teacher parent student
        let staff = [true, true, true, true];
        let family = [true, true, false, false];
        Policy { allowed: [staff, staff, family, family] }
    }
}

impl Policy {
    /// Whether a person of role `from` may start a chat with a person of role `to`.
    pub fn roles_allow(&self, from: Role, to: Role) -> bool {
        self.allowed[index(from)][index(to)]
    }

    /// Sets one rule (for schools that configure their own).
    pub fn set(&mut self, from: Role, to: Role, allowed: bool) {
        self.allowed[index(from)][index(to)] = allowed;
    }

    /// Whether `from` may start a chat with `to`, or add `to` to a group.
    pub fn may_message(&self, from: Party, to: Party) -> Verdict {
        if to.deactivated || from.deactivated {
            Verdict::Deactivated
        } else if self.roles_allow(from.role, to.role) {
            Verdict::Allowed
        } else {
            Verdict::ForbiddenByRoles
        }
    }

    /// The roles that `from` may message: what the directory searches.
    pub fn reachable_roles(&self, from: Role) -> Vec<Role> {
        Role::ALL.into_iter().filter(|to| self.roles_allow(from, *to)).collect()
    }
}

/// Who may create an announcement (contract 1.1): school admins and teachers, who speak for the school or a
/// class. Whom they may put in it is the directory rule, as for a group.
pub fn may_create_announcement(role: Role) -> bool {
    matches!(role, Role::Admin | Role::Teacher)
}

/// Who may send an urgent message (contract 1.1): school admins always, teachers when the school allows it
/// (`teachers_allowed`, off by default: an urgent message cuts through mute), nobody else.
pub fn may_send_urgent(role: Role, teachers_allowed: bool) -> bool {
    match role {
        Role::Admin => true,
        Role::Teacher => teachers_allowed,
        Role::Parent | Role::Student => false,
    }
}

fn index(role: Role) -> usize {
    match role {
        Role::Admin => 0,
        Role::Teacher => 1,
        Role::Parent => 2,
        Role::Student => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn active(role: Role) -> Party {
        Party { role, deactivated: false }
    }

    #[test]
    fn default_policy_matches_the_design_table_exhaustively() {
        use Role::*;
        let expected = [
            (Admin, [true, true, true, true]),
            (Teacher, [true, true, true, true]),
            (Parent, [true, true, false, false]),
            (Student, [true, true, false, false]),
        ];
        let policy = Policy::default();
        for (from, row) in expected {
            for (to, allowed) in Role::ALL.into_iter().zip(row) {
                assert_eq!(policy.roles_allow(from, to), allowed, "{from:?} -> {to:?}");
                let verdict = policy.may_message(active(from), active(to));
                assert_eq!(verdict.is_allowed(), allowed, "{from:?} -> {to:?}");
                if !allowed {
                    assert_eq!(verdict, Verdict::ForbiddenByRoles);
                }
            }
        }
    }

    #[test]
    fn parents_and_students_never_reach_each_other_by_default() {
        let policy = Policy::default();
        for from in [Role::Parent, Role::Student] {
            assert_eq!(policy.reachable_roles(from), vec![Role::Admin, Role::Teacher]);
        }
        assert_eq!(policy.reachable_roles(Role::Teacher), Role::ALL.to_vec());
    }

    #[test]
    fn deactivated_people_cannot_be_messaged_nor_message_whatever_the_roles() {
        let policy = Policy::default();
        for from in Role::ALL {
            for to in Role::ALL {
                let gone = Party { role: to, deactivated: true };
                assert_eq!(policy.may_message(active(from), gone), Verdict::Deactivated);
                let gone = Party { role: from, deactivated: true };
                assert_eq!(policy.may_message(gone, active(to)), Verdict::Deactivated);
            }
        }
    }

    #[test]
    fn only_staff_create_announcements_and_only_admins_or_allowed_teachers_send_urgent() {
        for role in Role::ALL {
            let staff = matches!(role, Role::Admin | Role::Teacher);
            assert_eq!(may_create_announcement(role), staff, "{role:?}");
            assert_eq!(may_send_urgent(role, true), staff, "{role:?}");
            assert_eq!(may_send_urgent(role, false), role == Role::Admin, "{role:?}");
        }
    }

    #[test]
    fn a_school_can_change_one_rule_without_touching_the_others() {
        let mut policy = Policy::default();
        policy.set(Role::Student, Role::Student, true);
        assert!(policy.roles_allow(Role::Student, Role::Student));
        assert!(!policy.roles_allow(Role::Parent, Role::Student));
        let json = serde_json::to_string(&policy).unwrap();
        assert_eq!(serde_json::from_str::<Policy>(&json).unwrap(), policy);
    }
}
