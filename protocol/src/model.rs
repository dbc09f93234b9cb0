//! The resources of the contract as they travel on the wire.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A person's role in the school; the messaging policy is written in these terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Teacher,
    Parent,
    Student,
}

impl Role {
    /// Every role, in the order the contract lists them.
    pub const ALL: [Role; 4] = [Role::Admin, Role::Teacher, Role::Parent, Role::Student];

    /// The role as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Teacher => "teacher",
            Role::Parent => "parent",
            Role::Student => "student",
        }
    }

    /// Parses the wire name of a role.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// A person as every client sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub avatar_url: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_round_trip() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
            let json = serde_json::to_value(role).unwrap_or_default();
            assert_eq!(json, serde_json::Value::String(role.as_str().into()));
        }
        assert_eq!(Role::parse("janitor"), None);
    }

    #[test]
    fn user_serialises_with_contract_keys() {
        let user = User {
            id: Uuid::nil(),
            username: "parent1".into(),
            display_name: "Mei Chen".into(),
            role: Role::Parent,
            avatar_url: None,
        };
        let json = serde_json::to_value(&user).unwrap_or_default();
        assert_eq!(
            json,
            serde_json::json!({
                "id": "00000000-0000-0000-0000-000000000000",
                "username": "parent1",
                "display_name": "Mei Chen",
                "role": "parent",
                "avatar_url": null
            })
        );
    }
}
