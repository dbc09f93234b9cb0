//! Roster import over real HTTP: the dry-run report with line numbers, all-or-nothing imports, the codes CSV,
//! and a school-sized file of 5,000 people.
#![expect(clippy::unwrap_used, reason = "helpers of a test fail the test loudly when setup breaks")]

use std::fmt::Write;
use std::time::Instant;

use hallway_protocol::Role;
use hallway_test_support::{TestServer, error_code};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn upload(server: &TestServer, token: &str, csv: String, dry_run: bool) -> reqwest::Response {
    let path = if dry_run { "/api/v1/admin/import?dry_run=true" } else { "/api/v1/admin/import" };
    server
        .client
        .post(server.url(path))
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap()
}

async fn count_users(server: &TestServer) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM users").fetch_one(&server.pool).await.unwrap()
}

const BAD_FILE: &str = "role,username,display_name,email,children\n\
    teacher,ravi,Ravi Singh,ravi@school.example,\n\
    parent,mei,Mei Chen,mei@home.example,lily;ghost\n\
    student,lily,Lily Chen,,\n\
    janitor,bob,Bob,,\n\
    student,existing,Someone,,\n\
    parent,ana,Ana,ana@home,ravi\n\
    student,LILY,Lily Again,,\n";

#[actix_web::test]
async fn a_dry_run_reports_every_problem_with_its_line_and_writes_nothing() {
    let server = TestServer::start().await;
    let admin = server.signed_in("principal", Role::Admin).await.1.access_token;
    server.create_user("existing", Role::Student).await;
    let before = count_users(&server).await;
    let response = upload(&server, &admin, BAD_FILE.into(), true).await;
    assert_eq!(response.status(), StatusCode::OK);
    let report: Value = response.json().await.unwrap();
    assert_eq!(report["valid"], false);
    assert_eq!(report["rows"], 7);
    let problems: Vec<(u64, String)> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["line"].as_u64().unwrap(), p["field"].as_str().unwrap_or("").to_owned()))
        .collect();
    let expected: Vec<(u64, String)> = [
        (3, "children"), // ghost is nobody
        (5, "role"),     // janitor
        (6, "username"), // taken in Hallway
        (7, "email"),    // not an address
        (7, "children"), // ravi is a teacher
        (8, "username"), // duplicate of line 4
    ]
    .into_iter()
    .map(|(line, field)| (line, field.to_owned()))
    .collect();
    assert_eq!(problems, expected, "{report}");
    assert_eq!(count_users(&server).await, before);
}

#[actix_web::test]
async fn a_file_with_one_bad_row_imports_nothing_and_a_good_one_imports_everyone_with_codes() {
    let server = TestServer::start().await;
    let admin = server.signed_in("principal", Role::Admin).await.1.access_token;
    server.create_user("arjun", Role::Student).await;
    let before = count_users(&server).await;

    let good = "role,username,display_name,email,children\n\
                teacher,ravi,Ravi Singh,ravi@school.example,\n\
                parent,mei,Mei Chen,mei@home.example,lily;arjun\n\
                student,lily,\"Chen, Lily\",,\n";
    let bad = format!("{good}student,bad name,Bad,,\n");
    let response = upload(&server, &admin, bad, false).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), "invalid_input");
    assert_eq!(body["report"]["problems"][0]["line"], 5);
    assert_eq!(count_users(&server).await, before, "nothing imported");

    let response = upload(&server, &admin, good.into(), true).await;
    let report: Value = response.json().await.unwrap();
    assert_eq!((report["valid"].as_bool(), report["guardianships"].as_u64()), (Some(true), Some(2)), "{report}");
    assert_eq!(report["by_role"], json!({"admin": 0, "teacher": 1, "parent": 1, "student": 1, "total": 3}));

    let response = upload(&server, &admin, good.into(), false).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    assert!(response.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
    let csv = response.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "username,display_name,role,activation_code");
    assert_eq!(lines.len(), 4, "{csv}");
    assert!(lines[3].starts_with("lily,\"Chen, Lily\",student,"), "{csv}");
    assert_eq!(count_users(&server).await, before + 3);

    // Mei is linked to both children, the one in the file and the one already there; her code works.
    let mei_code = lines[2].rsplit(',').next().unwrap();
    let (status, tokens) =
        server.post("/api/v1/auth/activate", None, &json!({"code": mei_code, "password": "mei's password"})).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let (_, page) = server.get("/api/v1/admin/users?q=mei", Some(&admin)).await;
    let mut children: Vec<&str> =
        page["users"][0]["children"].as_array().unwrap().iter().map(|c| c["username"].as_str().unwrap()).collect();
    children.sort();
    assert_eq!(children, vec!["arjun", "lily"]);

    // The same file again: every username is taken now.
    let response = upload(&server, &admin, good.into(), false).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let (_, audit) = server.get("/api/v1/admin/audit?action=roster.import", Some(&admin)).await;
    assert_eq!(audit["entries"].as_array().unwrap().len(), 1);
    assert_eq!(audit["entries"][0]["details"]["people"], 3);
}

#[actix_web::test]
async fn oversized_and_empty_files_are_refused() {
    let server = TestServer::start().await;
    let admin = server.signed_in("principal", Role::Admin).await.1.access_token;
    let huge = format!("role,username,display_name\n{}", "teacher,x,X\n".repeat(500_000));
    let response = upload(&server, &admin, huge, true).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), "too_large");
    for empty in ["", "role,username,display_name\n", "name,role\nx,teacher\n"] {
        let report: Value = upload(&server, &admin, empty.into(), true).await.json().await.unwrap();
        assert_eq!(report["valid"], false, "{empty:?}");
    }
}

#[actix_web::test]
async fn imports_a_school_of_5000_people_in_one_go() {
    let server = TestServer::start().await;
    let admin = server.signed_in("principal", Role::Admin).await.1.access_token;
    let mut csv = String::from("role,username,display_name,email,children\n");
    for i in 0..200 {
        writeln!(csv, "teacher,teacher{i},Teacher {i},teacher{i}@school.example,").unwrap();
    }
    for i in 0..2400 {
        writeln!(csv, "student,student{i},Student Number {i},,").unwrap();
    }
    for i in 0..2400 {
        writeln!(csv, "parent,parent{i},Parent Of {i},parent{i}@home.example,student{i}").unwrap();
    }
    let started = Instant::now();
    let response = upload(&server, &admin, csv, false).await;
    let status = response.status();
    let codes = response.text().await.unwrap();
    let elapsed = started.elapsed();
    assert_eq!(status, StatusCode::OK, "{}", &codes[..codes.len().min(500)]);
    // Measured for docs/benchmarks.md, never asserted.
    println!("imported 5000 people in {:.2} s", elapsed.as_secs_f64());
    assert_eq!(codes.lines().count(), 5001);
    let people: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE password_hash IS NULL")
        .fetch_one(&server.pool)
        .await
        .unwrap();
    assert_eq!(people, 5000);
    let links: i64 = sqlx::query_scalar("SELECT count(*) FROM guardianships").fetch_one(&server.pool).await.unwrap();
    assert_eq!(links, 2400);
    let codes_stored: i64 =
        sqlx::query_scalar("SELECT count(*) FROM activation_codes").fetch_one(&server.pool).await.unwrap();
    assert_eq!(codes_stored, 5000);
}
