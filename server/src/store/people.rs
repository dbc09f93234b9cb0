//! People as school admins manage them: listing and searching every account (deactivated ones included),
//! role and name changes, guardianships, and the batch insert behind a roster import.

use hallway_protocol::Role;
use hallway_protocol::admin::UserStatus;
use sqlx::{FromRow, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

use super::users::UserRow;

/// A `users` row with what admins see beyond the public `User`.
#[derive(Debug, Clone, FromRow)]
pub struct AdminUserRow {
    pub id: Uuid,
    pub username: String,
    pub email: Option<String>,
    pub display_name: String,
    pub role: String,
    pub avatar_key: Option<String>,
    pub created_at: OffsetDateTime,
    pub last_seen_at: Option<OffsetDateTime>,
    pub deactivated_at: Option<OffsetDateTime>,
    /// Whether the person has chosen a password (redeemed an activation code, or was created with one).
    pub activated: bool,
}

/// The columns of an `AdminUserRow` over `users u`.
macro_rules! admin_user_columns {
    () => {
        "u.id, u.username, u.email, u.display_name, u.role, u.avatar_key, u.created_at, u.last_seen_at,
         u.deactivated_at, u.password_hash IS NOT NULL AS activated"
    };
}

impl AdminUserRow {
    /// The role, which the table's CHECK constraint keeps to the four known names.
    pub fn role(&self) -> Role {
        Role::parse(&self.role).unwrap_or(Role::Student)
    }
}

/// What an admin searches for. Every filter is optional.
pub struct PeopleQuery<'a> {
    /// Words that must each appear in the display name, username or email, ignoring case and accents.
    pub words: &'a [String],
    pub role: Option<Role>,
    /// Matched by the rule `views::admin` shows a status by: deactivation wins over activation.
    pub status: Option<UserStatus>,
    /// The people of a group (a class): its members, and the guardians of its student members, so a class's
    /// families are found even when only the children are in the group. Each person once, however many of
    /// their children are in it. Any other conversation matches nobody.
    pub group: Option<Uuid>,
    pub limit: i64,
    pub offset: i64,
}

/// The `WHERE` clause shared by the page and its count ($1 words, $2 role, $3 status, $4 group).
macro_rules! people_filter {
    () => {
        " FROM users u
         WHERE ($2::text IS NULL OR u.role = $2)
           AND ($3::text IS NULL OR CASE $3
                   WHEN 'deactivated' THEN u.deactivated_at IS NOT NULL
                   WHEN 'not_activated' THEN u.deactivated_at IS NULL AND u.password_hash IS NULL
                   ELSE u.deactivated_at IS NULL AND u.password_hash IS NOT NULL END)
           AND NOT EXISTS (
               SELECT 1 FROM unnest($1::text[]) AS w (word)
               WHERE strpos(hallway_fold(u.display_name), hallway_fold(w.word)) = 0
                 AND strpos(hallway_fold(u.username), hallway_fold(w.word)) = 0
                 AND strpos(hallway_fold(coalesce(u.email, '')), hallway_fold(w.word)) = 0)
           AND ($4::uuid IS NULL OR u.id IN (
               SELECT m.user_id FROM conversation_members m JOIN conversations c ON c.id = m.conversation_id
               WHERE c.id = $4 AND c.kind = 'group'
               UNION
               SELECT g.parent_id FROM guardianships g
               JOIN conversation_members m ON m.user_id = g.student_id
               JOIN conversations c ON c.id = m.conversation_id
               WHERE c.id = $4 AND c.kind = 'group'))"
    };
}

/// One page of people matching `query`, ordered by display name (ignoring case and accents, then by id so
/// pages never overlap), and how many match in all.
pub async fn search(
    db: impl PgExecutor<'_> + Copy,
    query: &PeopleQuery<'_>,
) -> Result<(Vec<AdminUserRow>, i64), sqlx::Error> {
    let role = query.role.map(Role::as_str);
    let status = query.status.map(UserStatus::as_str);
    let rows = sqlx::query_as(concat!(
        "SELECT ",
        admin_user_columns!(),
        people_filter!(),
        " ORDER BY hallway_fold(u.display_name), u.id LIMIT $5 OFFSET $6"
    ))
    .bind(query.words)
    .bind(role)
    .bind(status)
    .bind(query.group)
    .bind(query.limit)
    .bind(query.offset)
    .fetch_all(db)
    .await?;
    let total = sqlx::query_scalar(concat!("SELECT count(*)", people_filter!()))
        .bind(query.words)
        .bind(role)
        .bind(status)
        .bind(query.group)
        .fetch_one(db)
        .await?;
    Ok((rows, total))
}

/// One person, as admins see them.
pub async fn find(db: impl PgExecutor<'_>, id: Uuid) -> Result<Option<AdminUserRow>, sqlx::Error> {
    sqlx::query_as(concat!("SELECT ", admin_user_columns!(), " FROM users u WHERE u.id = $1"))
        .bind(id)
        .fetch_optional(db)
        .await
}

/// Guardian links touching any of `ids`: `(parent, student)` pairs with both people's rows.
pub async fn guardianships_of(
    db: impl PgExecutor<'_>,
    ids: &[Uuid],
) -> Result<Vec<(Uuid, Uuid, UserRow, UserRow)>, sqlx::Error> {
    #[derive(FromRow)]
    struct Link {
        #[sqlx(flatten)]
        parent: Parent,
        #[sqlx(flatten)]
        student: Student,
    }
    #[derive(FromRow)]
    struct Parent {
        p_id: Uuid,
        p_username: String,
        p_display_name: String,
        p_role: String,
        p_avatar_key: Option<String>,
    }
    #[derive(FromRow)]
    struct Student {
        s_id: Uuid,
        s_username: String,
        s_display_name: String,
        s_role: String,
        s_avatar_key: Option<String>,
    }
    let links: Vec<Link> = sqlx::query_as(
        "SELECT p.id AS p_id, p.username AS p_username, p.display_name AS p_display_name, p.role AS p_role,
                p.avatar_key AS p_avatar_key,
                s.id AS s_id, s.username AS s_username, s.display_name AS s_display_name, s.role AS s_role,
                s.avatar_key AS s_avatar_key
         FROM guardianships g JOIN users p ON p.id = g.parent_id JOIN users s ON s.id = g.student_id
         WHERE g.parent_id = ANY($1) OR g.student_id = ANY($1)
         ORDER BY s.display_name, p.display_name",
    )
    .bind(ids)
    .fetch_all(db)
    .await?;
    let row = |id, username, display_name, role, avatar_key| UserRow {
        id,
        username,
        email: None,
        display_name,
        role,
        password_hash: None,
        avatar_key,
        deactivated_at: None,
    };
    Ok(links
        .into_iter()
        .map(|l| {
            let (p, s) = (l.parent, l.student);
            (
                p.p_id,
                s.s_id,
                row(p.p_id, p.p_username, p.p_display_name, p.p_role, p.p_avatar_key),
                row(s.s_id, s.s_username, s.s_display_name, s.s_role, s.s_avatar_key),
            )
        })
        .collect())
}

/// Changes a person's display name and/or role; returns whether they exist.
pub async fn update(
    db: impl PgExecutor<'_>,
    id: Uuid,
    display_name: Option<&str>,
    role: Option<Role>,
) -> Result<bool, sqlx::Error> {
    sqlx::query(
        "UPDATE users SET display_name = coalesce($2, display_name), role = coalesce($3, role), updated_at = now()
         WHERE id = $1",
    )
    .bind(id)
    .bind(display_name)
    .bind(role.map(Role::as_str))
    .execute(db)
    .await
    .map(|r| r.rows_affected() == 1)
}

/// How many guardian links a person has, as parent or as student (a role change must not strand them).
pub async fn guardianship_count(db: impl PgExecutor<'_>, id: Uuid) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM guardianships WHERE parent_id = $1 OR student_id = $1")
        .bind(id)
        .fetch_one(db)
        .await
}

/// Links a parent to a student; returns whether the link is new.
pub async fn link(db: impl PgExecutor<'_>, parent_id: Uuid, student_id: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query("INSERT INTO guardianships (parent_id, student_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
        .bind(parent_id)
        .bind(student_id)
        .execute(db)
        .await
        .map(|r| r.rows_affected() == 1)
}

/// Removes a guardian link; returns whether there was one.
pub async fn unlink(db: impl PgExecutor<'_>, parent_id: Uuid, student_id: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query("DELETE FROM guardianships WHERE parent_id = $1 AND student_id = $2")
        .bind(parent_id)
        .bind(student_id)
        .execute(db)
        .await
        .map(|r| r.rows_affected() == 1)
}

/// People to insert in one statement: parallel columns, as `unnest` takes them.
#[derive(Debug, Default)]
pub struct NewPeople {
    pub ids: Vec<Uuid>,
    pub usernames: Vec<String>,
    pub emails: Vec<Option<String>>,
    pub display_names: Vec<String>,
    pub roles: Vec<String>,
}

/// Inserts many people at once (no password: they activate with a code). A taken username or email, or a
/// username that looks like a taken one, is a unique violation, as for one.
pub async fn insert_many(db: impl PgExecutor<'_>, people: &NewPeople) -> Result<u64, sqlx::Error> {
    sqlx::query(
        "INSERT INTO users (id, username, email, display_name, role, username_skeleton)
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])",
    )
    .bind(&people.ids)
    .bind(&people.usernames)
    .bind(&people.emails)
    .bind(&people.display_names)
    .bind(&people.roles)
    .bind(people.usernames.iter().map(|u| crate::usernames::skeleton(u)).collect::<Vec<_>>())
    .execute(db)
    .await
    .map(|r| r.rows_affected())
}

/// Links many parents to students at once, by (case-insensitive) username; returns the links made.
pub async fn link_many_by_username(
    db: impl PgExecutor<'_>,
    parents: &[String],
    students: &[String],
) -> Result<u64, sqlx::Error> {
    sqlx::query(
        "INSERT INTO guardianships (parent_id, student_id)
         SELECT p.id, s.id FROM unnest($1::text[], $2::text[]) AS l (parent, student)
         JOIN users p ON lower(p.username) = lower(l.parent)
         JOIN users s ON lower(s.username) = lower(l.student)
         ON CONFLICT DO NOTHING",
    )
    .bind(parents)
    .bind(students)
    .execute(db)
    .await
    .map(|r| r.rows_affected())
}

/// Existing people among `usernames` (compared in lower case): `(lower(username), role)`.
pub async fn roles_by_username(
    db: impl PgExecutor<'_>,
    lower_usernames: &[String],
) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query_as("SELECT lower(username), role FROM users WHERE lower(username) = ANY($1)")
        .bind(lower_usernames)
        .fetch_all(db)
        .await
}

/// Existing emails among `emails` (compared in lower case).
pub async fn taken_emails(db: impl PgExecutor<'_>, lower_emails: &[String]) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT lower(email) FROM users WHERE email IS NOT NULL AND lower(email) = ANY($1)")
        .bind(lower_emails)
        .fetch_all(db)
        .await
}
