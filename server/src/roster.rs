//! Roster files: the CSV a school exports from its management system, checked line by line before anything
//! is written, so an admin sees every problem at once with its line number.
//!
//! Columns, named in a header line (any order, any letter case): `role`, `username`, `display_name`, and
//! optionally `email` and `children` (for parents: the usernames of their children, separated by `;`, each
//! either in the same file or already in Hallway, and a student). Blank lines are skipped.

use std::collections::{HashMap, HashSet};

use hallway_protocol::Role;
use hallway_protocol::admin::{DisplayName, Email, ImportProblem, ImportReport, RoleCounts, Username};
use hallway_protocol::validate::check_text;

/// Largest roster file accepted.
pub const MAX_BYTES: usize = 5 * 1024 * 1024;
/// Most people in one file (a large secondary school with its families fits; a district imports per school).
pub const MAX_ROWS: usize = 20_000;
/// Problems listed in a report before the rest are summed up in one line.
pub const MAX_PROBLEMS: usize = 1_000;

const REQUIRED: [&str; 3] = ["role", "username", "display_name"];
const OPTIONAL: [&str; 2] = ["email", "children"];

/// One person of a roster, valid as far as the file alone can tell.
#[derive(Debug, Clone)]
pub struct RosterRow {
    pub line: u64,
    pub role: Role,
    pub username: Username,
    pub display_name: DisplayName,
    pub email: Option<Email>,
    /// Children's usernames as written (compared ignoring letter case).
    pub children: Vec<String>,
}

/// A parsed roster: the rows that parsed and everything wrong with the file.
#[derive(Debug, Default)]
pub struct Roster {
    pub rows: Vec<RosterRow>,
    /// Lines of the file that held a person, valid or not.
    pub lines: usize,
    /// Lower-cased usernames of every line, including lines with other problems, with their role if it parsed.
    usernames: HashMap<String, (u64, Option<Role>)>,
    /// The children each parent line names, checked against the file and the database even when the line has
    /// other problems, so the admin sees everything at once.
    children_of: Vec<(u64, Vec<String>)>,
    problems: Vec<ImportProblem>,
}

/// What the database knows about the people a roster names.
#[derive(Debug, Default)]
pub struct Existing {
    /// Lower-cased usernames of people already in Hallway, with their role.
    pub roles: HashMap<String, Role>,
    /// Lower-cased emails already in use.
    pub emails: HashSet<String>,
}

impl Roster {
    /// Reads and checks a file on its own: header, required fields, usernames, names, roles, email shapes,
    /// and duplicates within the file.
    pub fn parse(bytes: &[u8]) -> Roster {
        let mut roster = Roster::default();
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        if bytes.iter().all(u8::is_ascii_whitespace) {
            roster.problem(1, None, "the file is empty: it needs a header line and one line per person".into());
            return roster;
        }
        let mut reader = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(bytes);
        let header = match reader.headers() {
            Ok(header) => header.iter().map(|h| h.to_lowercase()).collect::<Vec<_>>(),
            Err(err) => {
                roster.problem(1, None, format!("the header line cannot be read: {err}"));
                return roster;
            }
        };
        let column = |name: &str| header.iter().position(|h| h == name);
        for name in REQUIRED {
            if column(name).is_none() {
                roster.problem(1, Some(name), format!("the header has no `{name}` column"));
            }
        }
        for name in &header {
            if !REQUIRED.contains(&name.as_str()) && !OPTIONAL.contains(&name.as_str()) {
                let known = "role, username, display_name, email, children";
                roster.problem(1, Some(name), format!("unknown column `{name}` (the columns are {known})"));
            }
        }
        if !roster.problems.is_empty() {
            return roster;
        }
        let (role_at, username_at, name_at) = (column("role"), column("username"), column("display_name"));
        let (email_at, children_at) = (column("email"), column("children"));
        let mut emails: HashMap<String, u64> = HashMap::new();
        let mut lines = LineCounter { bytes, offset: 0, line: 1 };
        for record in reader.records() {
            let record = match record {
                Ok(record) => record,
                Err(err) => {
                    let line = err.position().map_or(0, |p| lines.line_at(p.byte()));
                    roster.problem(line, None, format!("this line cannot be read: {err}"));
                    continue;
                }
            };
            let line = record.position().map_or(0, |p| lines.line_at(p.byte()));
            if record.iter().all(str::is_empty) {
                continue;
            }
            roster.lines += 1;
            if roster.lines > MAX_ROWS {
                roster.problem(line, None, format!("a roster may hold at most {MAX_ROWS} people: split the file"));
                break;
            }
            // The text-input rule, for every cell: a NUL must not reach the database's look-ups.
            let refused =
                header.iter().zip(record.iter()).find_map(|(name, cell)| Some((name, check_text(name, cell).err()?)));
            if let Some((name, invalid)) = refused {
                roster.problem(line, Some(name), invalid.message);
                continue;
            }
            let field = |at: Option<usize>| at.and_then(|i| record.get(i)).unwrap_or("");
            roster.row(
                line,
                [field(role_at), field(username_at), field(name_at), field(email_at), field(children_at)],
                &mut emails,
            );
        }
        if roster.lines == 0 && roster.problems.is_empty() {
            roster.problem(2, None, "the file holds a header but nobody".into());
        }
        roster
    }

    fn row(
        &mut self,
        line: u64,
        [role, username, name, email, children]: [&str; 5],
        emails: &mut HashMap<String, u64>,
    ) {
        let before = self.problems.len();
        let role = match role {
            "" => {
                self.problem(line, Some("role"), "missing".into());
                None
            }
            raw => match Role::parse(&raw.to_lowercase()) {
                Some(role) => Some(role),
                None => {
                    let message = format!("unknown role {raw:?} (admin, teacher, parent or student)");
                    self.problem(line, Some("role"), message);
                    None
                }
            },
        };
        let username = match username {
            "" => {
                self.problem(line, Some("username"), "missing".into());
                None
            }
            raw => match Username::parse(raw) {
                Ok(username) => {
                    let key = username.as_str().to_lowercase();
                    if let Some((first, _)) = self.usernames.get(&key) {
                        let message = format!("duplicate username {:?}: also on line {first}", username.as_str());
                        self.problem(line, Some("username"), message);
                    } else {
                        self.usernames.insert(key, (line, role));
                    }
                    Some(username)
                }
                Err(invalid) => {
                    self.problem(line, Some("username"), invalid.message);
                    None
                }
            },
        };
        let display_name = match name {
            "" => {
                self.problem(line, Some("display_name"), "missing".into());
                None
            }
            raw => DisplayName::parse(raw)
                .map_err(|invalid| self.problem(line, Some("display_name"), invalid.message))
                .ok(),
        };
        let email = match email {
            "" => None,
            raw => match Email::parse(raw) {
                Ok(email) => {
                    let key = email.as_str().to_lowercase();
                    if let Some(first) = emails.get(&key) {
                        let message = format!("duplicate email {:?}: also on line {first}", email.as_str());
                        self.problem(line, Some("email"), message);
                    } else {
                        emails.insert(key, line);
                    }
                    Some(email)
                }
                Err(invalid) => {
                    self.problem(line, Some("email"), invalid.message);
                    None
                }
            },
        };
        let children: Vec<String> =
            children.split(';').map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned).collect();
        if !children.is_empty() && role.is_some_and(|r| r != Role::Parent) {
            self.problem(line, Some("children"), "only parents have children in a roster".into());
        } else if !children.is_empty() {
            self.children_of.push((line, children.clone()));
        }
        if let (Some(role), Some(username), Some(display_name), true) =
            (role, username, display_name, self.problems.len() == before)
        {
            self.rows.push(RosterRow { line, role, username, display_name, email, children });
        }
    }

    /// Every username and email the file names, lower-cased, for the database look-up: `(usernames, emails)`.
    pub fn lookups(&self) -> (Vec<String>, Vec<String>) {
        let mut usernames: Vec<String> = self.usernames.keys().cloned().collect();
        usernames.extend(self.children_of.iter().flat_map(|(_, cs)| cs.iter().map(|c| c.to_lowercase())));
        usernames.sort();
        usernames.dedup();
        let emails = self.rows.iter().filter_map(|r| r.email.as_ref().map(|e| e.as_str().to_lowercase())).collect();
        (usernames, emails)
    }

    /// Checks the file against the people already in Hallway: taken usernames and emails, and children who
    /// are unknown or not students.
    pub fn check_against(&mut self, existing: &Existing) {
        let mut problems = Vec::new();
        for (username, (line, _)) in &self.usernames {
            if existing.roles.contains_key(username) {
                problems.push((*line, "username", format!("username {username:?} is already taken in Hallway")));
            }
        }
        for row in &self.rows {
            if let Some(email) = &row.email
                && existing.emails.contains(&email.as_str().to_lowercase())
            {
                problems.push((row.line, "email", format!("email {:?} is already in use in Hallway", email.as_str())));
            }
        }
        for (line, children) in &self.children_of {
            for child in children {
                let key = child.to_lowercase();
                let role = match self.usernames.get(&key) {
                    Some((_, role)) => *role,
                    None => existing.roles.get(&key).copied(),
                };
                let known = self.usernames.contains_key(&key) || existing.roles.contains_key(&key);
                match role {
                    _ if !known => problems.push((*line, "children", format!("unknown child {child:?}"))),
                    Some(Role::Student) | None => {}
                    Some(role) => problems.push((
                        *line,
                        "children",
                        format!("child {child:?} is a {}, not a student", role.as_str()),
                    )),
                }
            }
        }
        for (line, field, message) in problems {
            self.problem(line, Some(field), message);
        }
    }

    /// Guardian links the file asks for: `(parent username, child username)`.
    pub fn guardianships(&self) -> (Vec<String>, Vec<String>) {
        self.rows
            .iter()
            .flat_map(|r| r.children.iter().map(move |c| (r.username.as_str().to_owned(), c.clone())))
            .unzip()
    }

    /// Whether the file may be imported.
    pub fn is_valid(&self) -> bool {
        self.problems.is_empty()
    }

    /// The report an admin sees: problems in line order, the first `MAX_PROBLEMS` of them.
    pub fn report(&self) -> ImportReport {
        let mut by_role = RoleCounts::default();
        for row in &self.rows {
            by_role.add(row.role, 1);
        }
        let mut problems = self.problems.clone();
        problems.sort_by_key(|p| p.line);
        if problems.len() > MAX_PROBLEMS {
            let more = problems.len() - MAX_PROBLEMS;
            problems.truncate(MAX_PROBLEMS);
            let line = problems.last().map_or(0, |p| p.line);
            problems.push(ImportProblem { line, field: None, message: format!("and {more} more problems") });
        }
        ImportReport {
            valid: self.is_valid(),
            rows: self.lines,
            by_role,
            guardianships: self.rows.iter().map(|r| r.children.len()).sum(),
            problems,
        }
    }

    fn problem(&mut self, line: u64, field: Option<&str>, message: String) {
        self.problems.push(ImportProblem { line, field: field.map(str::to_owned), message });
    }
}

/// Line numbers from byte offsets, counted as a text editor shows them: the csv reader's own count skips blank
/// lines, which would send an admin to the wrong line. Offsets only grow, so the file is scanned once.
struct LineCounter<'a> {
    bytes: &'a [u8],
    offset: usize,
    line: u64,
}

impl LineCounter<'_> {
    fn line_at(&mut self, offset: u64) -> u64 {
        let mut offset = (offset as usize).min(self.bytes.len());
        // The reader's position of a record lies before the blank lines it skipped to reach it.
        while self.bytes.get(offset).is_some_and(|b| matches!(b, b'\n' | b'\r')) {
            offset += 1;
        }
        if offset > self.offset {
            self.line += self.bytes[self.offset..offset].iter().filter(|b| **b == b'\n').count() as u64;
            self.offset = offset;
        }
        self.line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(roster: &Roster) -> Vec<(u64, Option<String>)> {
        roster.report().problems.into_iter().map(|p| (p.line, p.field)).collect()
    }

    #[test]
    fn a_good_file_parses_with_any_column_order_and_case() {
        let file = "\u{feff}Username,ROLE,display_name,children,email\n\
                    mei,parent,Mei Chen,lily; arjun,mei@school.example\n\
                    \n\
                    lily,student,\"Chen, Lily\",,\n\
                    arjun,Student,Arjun Singh\n";
        let mut roster = Roster::parse(file.as_bytes());
        roster.check_against(&Existing::default());
        assert!(roster.is_valid(), "{:?}", roster.report());
        assert_eq!(roster.rows.len(), 3);
        assert_eq!(roster.rows[1].display_name.as_str(), "Chen, Lily");
        assert_eq!(roster.rows[1].line, 4);
        assert_eq!(roster.report().guardianships, 2);
        assert_eq!(roster.report().by_role.student, 2);
    }

    #[test]
    fn a_control_character_in_any_cell_is_a_problem_of_its_column() {
        let file = "role,username,display_name,email,children\n\
                    parent,mei,Mei,,lily\u{0}\n\
                    student,lily,Li\u{1b}ly,,\n\
                    teacher,ravi,Ravi,,\n";
        let roster = Roster::parse(file.as_bytes());
        assert_eq!(lines(&roster), vec![(2, Some("children".into())), (3, Some("display_name".into()))]);
        assert!(roster.lookups().0.iter().all(|name| !name.contains('\u{0}')));
        assert_eq!(roster.rows.len(), 1);
    }

    #[test]
    fn every_problem_is_reported_with_its_line() {
        let file = "role,username,display_name,email,children\n\
                    janitor,bob,Bob,,\n\
                    teacher,,No Name,,\n\
                    parent,mei,Mei,not-an-email,ghost\n\
                    student,MEI,Other Mei,,\n\
                    teacher,ravi,Ravi,,lily\n\
                    parent,ana,Ana,,ravi\n\
                    student,lily,,,\n";
        let mut roster = Roster::parse(file.as_bytes());
        roster.check_against(&Existing::default());
        assert!(!roster.is_valid());
        assert_eq!(
            lines(&roster),
            vec![
                (2, Some("role".into())),
                (3, Some("username".into())),
                (4, Some("email".into())),
                (4, Some("children".into())),
                (5, Some("username".into())),
                (6, Some("children".into())),
                (7, Some("children".into())),
                (8, Some("display_name".into())),
            ]
        );
    }

    #[test]
    fn existing_people_are_checked() {
        let file = "role,username,display_name,email,children\nparent,mei,Mei,taken@school.example,lily;ravi\n";
        let mut roster = Roster::parse(file.as_bytes());
        let mut existing = Existing::default();
        existing.roles.insert("mei".into(), Role::Teacher);
        existing.roles.insert("lily".into(), Role::Student);
        existing.roles.insert("ravi".into(), Role::Teacher);
        existing.emails.insert("taken@school.example".into());
        roster.check_against(&existing);
        let messages: Vec<String> = roster.report().problems.into_iter().map(|p| p.message).collect();
        assert_eq!(messages.len(), 3, "{messages:?}");
        assert!(messages.iter().any(|m| m.contains("already taken")));
        assert!(messages.iter().any(|m| m.contains("already in use")));
        assert!(messages.iter().any(|m| m.contains("\"ravi\" is a teacher")));
    }

    #[test]
    fn a_bad_header_stops_before_the_rows() {
        let roster = Roster::parse(b"role,user,display_name\nteacher,x,X\n");
        let problems = roster.report().problems;
        assert!(problems.iter().all(|p| p.line == 1), "{problems:?}");
        assert_eq!(problems.len(), 2, "missing username and unknown user: {problems:?}");
        assert!(!Roster::parse(b"").is_valid());
        assert!(!Roster::parse(b"role,username,display_name\n").is_valid());
    }
}
