//! Every filter operator on every attribute it takes, by code point and by case in any language,
//! served from indexes that are checked exactly.

use super::*;

#[tokio::test]
async fn every_filter_operator_selects_what_it_says() {
    let s = TestServer::start().await;
    let token = token(&s).await;
    let scim = s.with_key(&token);
    create(&scim, user("ada@example.com", "x-ada", "Ada")).await;
    create(&scim, user("bob@example.org", "x-bob", "Bob")).await;
    let mut carol = user("carol@example.com", "x-carol", "Carol");
    carol["active"] = json!(false);
    create(&scim, carol).await;
    let mut dave = user("dave@example.net", "", "Dave");
    dave.as_object_mut().unwrap().remove("externalId");
    create(&scim, dave).await;

    let matching = |filter: &'static str| {
        let scim = &scim;
        async move {
            let list = call(scim, Method::GET, &filtered(USERS, filter), None).await;
            assert_eq!(list.status, 200, "{filter}: {}", list.body);
            let found = ids(&list.body);
            assert_eq!(list.body["totalResults"], found.len(), "{filter}");
            found
                .into_iter()
                .map(|n| n.split('@').next().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    for (filter, expected) in [
        (r#"userName eq "ADA@example.com""#, vec!["ada"]),
        (
            r#"userName ne "ada@example.com""#,
            vec!["bob", "carol", "dave", "owner"],
        ),
        (r#"userName co "example.co""#, vec!["ada", "carol", "owner"]),
        (r#"userName sw "B""#, vec!["bob"]),
        (r#"userName ew ".net""#, vec!["dave"]),
        (r#"externalId pr"#, vec!["ada", "bob", "carol"]),
        (r#"externalId eq "x-bob""#, vec!["bob"]),
        (r#"emails.value eq "carol@example.com""#, vec!["carol"]),
        (r#"emails[value co "example.org"]"#, vec!["bob"]),
        (r#"displayName eq "dave""#, vec!["dave"]),
        (r#"active eq false"#, vec!["carol"]),
        (
            r#"userName gt "bob@example.org""#,
            vec!["carol", "dave", "owner"],
        ),
        (
            r#"userName ge "bob@example.org""#,
            vec!["bob", "carol", "dave", "owner"],
        ),
        (r#"userName lt "bob""#, vec!["ada"]),
        (r#"userName le "ada@example.com""#, vec!["ada"]),
        (r#"userName sw "a" and active eq true"#, vec!["ada"]),
        (
            r#"userName eq "bob@example.org" or userName eq "dave@example.net""#,
            vec!["bob", "dave"],
        ),
        (r#"not (userName co "example.com")"#, vec!["bob", "dave"]),
        // A comparison with an absent value is false, so `not` of it is true.
        (
            r#"not (externalId eq "x-bob")"#,
            vec!["ada", "carol", "dave", "owner"],
        ),
        (r#"not (externalId pr)"#, vec!["dave", "owner"]),
        (
            r#"not (externalId ne "x-bob")"#,
            vec!["bob", "dave", "owner"],
        ),
        (
            r#"not (externalId co "a" or active eq false)"#,
            vec!["bob", "dave", "owner"],
        ),
        (
            r#"not (userName sw "a" and userName ew ".com")"#,
            vec!["bob", "carol", "dave", "owner"],
        ),
        (
            r#"(userName sw "c" or userName sw "d") and not (active eq false)"#,
            vec!["dave"],
        ),
        (
            r#"meta.lastModified ge "2000-01-01T00:00:00Z""#,
            vec!["ada", "bob", "carol", "dave", "owner"],
        ),
        (r#"meta.lastModified gt "2999-01-01T00:00:00Z""#, vec![]),
        // A flag and a time are present when set: every user has them.
        (
            r#"active pr and meta.created pr"#,
            vec!["ada", "bob", "carol", "dave", "owner"],
        ),
        (r#"not (meta.lastModified pr)"#, vec![]),
    ] {
        assert_eq!(matching(filter).await, expected, "{filter}");
    }
    for bad in [
        r#"userName eq"#,
        r#"title eq "x""#,
        r#"active gt true"#,
        r#"userName eq "a" and"#,
        // A part of a time is no time.
        r#"meta.created sw "2026-11-30T12:00:00Z""#,
    ] {
        refused(
            &call(&scim, Method::GET, &filtered(USERS, bad), None).await,
            400,
            Some("invalidFilter"),
        );
    }
    s.stop().await;
}

/// Strings compare lexicographically (RFC 7644 §3.4.2.2), by code point, on both backends,
/// whatever PostgreSQL's collation. The tests' PostgreSQL databases are ICU's en-US (a linguistic
/// collation, as many servers have), where ':' sorts before '9': a prefix read as the range
/// [prefix, next prefix) then found nothing for `sw "user9"` (up to "user:").
#[tokio::test]
async fn strings_compare_by_code_point_whatever_the_database_collation() {
    let s = TestServer::start().await;
    let token = token(&s).await;
    let scim = s.with_key(&token);
    create(&scim, user("user9@example.com", "id:9", "Agent 9")).await;
    create(&scim, user("user10@example.com", "id-10", "Agent 10")).await;
    create_group(&scim, "Team 9", "g:9").await;
    create_group(&scim, "Team 10", "g-10").await;
    for (filter, expected) in [
        (r#"userName sw "user9""#, vec!["user9@example.com"]),
        (r#"userName sw "USER1""#, vec!["user10@example.com"]),
        (r#"externalId sw "id:""#, vec!["user9@example.com"]),
        (r#"displayName sw "agent 9""#, vec!["user9@example.com"]),
        (r#"emails.value sw "user9@""#, vec!["user9@example.com"]),
        (
            r#"not (userName sw "user9")"#,
            vec!["owner@example.com", "user10@example.com"],
        ),
        (
            r#"userName lt "user:""#,
            vec![
                "owner@example.com",
                "user10@example.com",
                "user9@example.com",
            ],
        ),
        (r#"userName gt "user:""#, vec![]),
    ] {
        assert_eq!(
            found(&scim, USERS, filter, "userName").await,
            expected,
            "{filter}"
        );
    }
    for (filter, expected) in [
        (r#"displayName sw "team 9""#, vec!["Team 9"]),
        (r#"externalId sw "g:""#, vec!["Team 9"]),
        (r#"displayName lt "team :""#, vec!["Team 10", "Team 9"]),
    ] {
        assert_eq!(
            found(&scim, GROUPS, filter, "displayName").await,
            expected,
            "{filter}"
        );
    }
    s.stop().await;
}

/// The longest filter the grammar reads, 1,024 terms, is answered (SQLite refuses an expression
/// deeper than 1,000, so a chain of terms must not become one), on users and groups, in `and`
/// and `or` chains of every kind of comparison; one term more is a 400.
#[tokio::test]
async fn the_longest_filter_the_grammar_reads_is_answered() {
    let s = TestServer::start().await;
    let token = token(&s).await;
    let scim = s.with_key(&token);
    create(&scim, user("ada@example.com", "x-ada", "Ada")).await;
    create(&scim, user("bob@example.org", "x-bob", "Bob")).await;
    let search = |path: &'static str, terms: Vec<String>, joiner: &'static str| {
        let scim = &scim;
        async move {
            let filter = terms.join(joiner);
            let body = json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                "filter": filter,
            });
            call(scim, Method::POST, &format!("{path}/.search"), Some(body)).await
        }
    };
    // Of each kind a few hundred that match no one, and the terms that find Ada and Bob.
    let misses = |n: usize| {
        (0..n).map(|i| match i % 4 {
            0 => format!(r#"userName eq "nobody{i}@example.com""#),
            1 => format!(r#"userName co "nobody{i}@""#),
            2 => format!(r#"externalId sw "none-{i}""#),
            _ => format!(r#"displayName ew "Nobody {i}""#),
        })
    };
    let mut any: Vec<String> = misses(1_022).collect();
    any.push(r#"userName eq "ada@example.com""#.into());
    any.push(r#"emails[value co "bob@"]"#.into());
    let found = search(USERS, any.clone(), " or ").await;
    assert_eq!(found.status, 200, "{}", found.body);
    assert_eq!(
        user_names(&found.body),
        ["ada@example.com", "bob@example.org"]
    );
    assert_eq!(found.body["totalResults"], 2);

    let mut all: Vec<String> = misses(1_023).map(|t| format!("not ({t})")).collect();
    all.push(r#"userName sw "a""#.into());
    let found = search(USERS, all, " and ").await;
    assert_eq!(found.status, 200, "{}", found.body);
    assert_eq!(user_names(&found.body), ["ada@example.com"]);
    assert_eq!(found.body["totalResults"], 1);

    let groups: Vec<String> = (0..1_024)
        .map(|i| format!(r#"displayName eq "Group {i}""#))
        .collect();
    let found = search(GROUPS, groups, " or ").await;
    assert_eq!(found.status, 200, "{}", found.body);
    assert_eq!(found.body["totalResults"], 0);

    any.push(r#"userName eq "carol@example.com""#.into());
    refused(
        &search(USERS, any, " or ").await,
        400,
        Some("invalidFilter"),
    );
    s.stop().await;
}

/// `co` and `ew` are served from trigram indexes (migration 0013), which ignore case and read
/// `_` as a wildcard: what they find is checked exactly, and they follow renames and deletes.
#[tokio::test]
async fn substring_filters_match_exactly_and_follow_every_change() {
    let s = TestServer::start().await;
    let token = token(&s).await;
    let scim = s.with_key(&token);
    let lee = create(&scim, user("lee_b@example.com", "Ext_1", "Lee Brown")).await;
    let leo = create(&scim, user("leexb@example.com", "ext-1", "Leo Black")).await;
    let users = |filter| found(&scim, USERS, filter, "userName");
    assert_eq!(users(r#"userName co "e_b""#).await, ["lee_b@example.com"]);
    assert_eq!(users(r#"userName co "E_B@""#).await, ["lee_b@example.com"]);
    assert_eq!(
        users(r#"userName ew "e_b@example.com""#).await,
        ["lee_b@example.com"]
    );
    assert_eq!(
        users(r#"externalId co "xt_1""#).await,
        ["lee_b@example.com"]
    );
    assert_eq!(
        users(r#"emails.value co "xb@ex""#).await,
        ["leexb@example.com"]
    );
    assert_eq!(
        users(r#"displayName co "o bla""#).await,
        ["leexb@example.com"]
    );
    assert_eq!(
        users(r#"displayName co "le" and not (userName co "_")"#).await,
        ["leexb@example.com"]
    );
    // externalId is case-exact (RFC 7643 §3.1): every operator compares it with case (SQLite's
    // LIKE ignores ASCII case), and a filter's `not` is every other user.
    let everyone = [
        "lee_b@example.com",
        "leexb@example.com",
        "owner@example.com",
    ];
    for (filter, expected) in [
        (r#"externalId co "EXT""#, vec![]),
        (r#"externalId co "Ext""#, vec!["lee_b@example.com"]),
        (r#"externalId ew "T_1""#, vec![]),
        (r#"externalId ew "t_1""#, vec!["lee_b@example.com"]),
        (r#"externalId sw "e""#, vec!["leexb@example.com"]),
        (r#"externalId sw "E""#, vec!["lee_b@example.com"]),
        (r#"not (externalId co "EXT")"#, everyone.to_vec()),
        (r#"not (externalId ew "T_1")"#, everyone.to_vec()),
        (
            r#"not (externalId sw "E")"#,
            vec!["leexb@example.com", "owner@example.com"],
        ),
        (r#"not (externalId co "xt")"#, vec!["owner@example.com"]),
    ] {
        assert_eq!(users(filter).await, expected, "{filter}");
    }

    // Renamed: found by the new name only.
    let patched = call(
        &scim,
        Method::PATCH,
        &format!("{USERS}/{}", leo["id"].as_str().unwrap()),
        Some(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                {"op": "replace", "path": "userName", "value": "leonie@example.com"},
                {"op": "replace", "path": "displayName", "value": "Leonie Grey"},
            ],
        })),
    )
    .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(users(r#"userName co "eexb""#).await, Vec::<String>::new());
    assert_eq!(users(r#"userName co "eoni""#).await, ["leonie@example.com"]);
    assert_eq!(
        users(r#"displayName co "ie gr""#).await,
        ["leonie@example.com"]
    );
    assert_eq!(
        users(r#"displayName co "black""#).await,
        Vec::<String>::new()
    );

    // Deleted: found no more.
    let path = format!("{USERS}/{}", lee["id"].as_str().unwrap());
    assert_eq!(call(&scim, Method::DELETE, &path, None).await.status, 204);
    assert_eq!(users(r#"userName co "e_b""#).await, Vec::<String>::new());

    // Groups: by displayName and externalId.
    create_group(&scim, "Team_Red", "grp_1").await;
    create_group(&scim, "TeamXRed", "grp-2").await;
    let groups = |filter| found(&scim, GROUPS, filter, "displayName");
    assert_eq!(groups(r#"displayName co "m_r""#).await, ["Team_Red"]);
    assert_eq!(groups(r#"displayName ew "XRED""#).await, ["TeamXRed"]);
    assert_eq!(groups(r#"externalId co "p_1""#).await, ["Team_Red"]);
    s.stop().await;
}

/// userName and displayName ignore case beyond ASCII, as Unicode folds it (SQLite's lower()
/// knows only ASCII): identity providers find users and groups named in any language by the
/// name they sent, and a userName differing only in case is taken.
#[tokio::test]
async fn names_compare_ignoring_case_in_every_language() {
    let s = TestServer::start().await;
    let token = token(&s).await;
    let scim = s.with_key(&token);
    let mut unal = user("Ünal@Example.com", "x-unal", "ÜNAL Şahin");
    unal["emails"] = json!([{"value": "unal@example.com", "primary": true}]);
    create(&scim, unal).await;
    s.add_user("élodie@example.com", "reader", "Élodie Ørsted")
        .await;
    let users = |filter: &'static str| {
        let scim = &scim;
        async move {
            let list = call(scim, Method::GET, &filtered(USERS, filter), None).await;
            assert_eq!(list.status, 200, "{filter}: {}", list.body);
            assert_eq!(
                list.body["totalResults"],
                list.body["Resources"].as_array().unwrap().len(),
                "{filter}"
            );
            user_names(&list.body)
        }
    };
    for filter in [
        r#"userName eq "Ünal@Example.com""#,
        r#"userName eq "ünal@example.com""#,
        r#"userName eq "ÜNAL@EXAMPLE.COM""#,
        r#"userName sw "ÜN""#,
        r#"userName co "NAL@EX""#,
        r#"displayName eq "ünal şahin""#,
        r#"displayName ew "ŞAHIN""#,
    ] {
        assert_eq!(users(filter).await, ["Ünal@Example.com"], "{filter}");
    }
    // Added through the Admin API.
    for filter in [
        r#"userName eq "ÉLODIE@example.com""#,
        r#"displayName eq "ÉLODIE ØRSTED""#,
        r#"displayName co "die ør""#,
    ] {
        assert_eq!(users(filter).await, ["élodie@example.com"], "{filter}");
    }
    let mut twin = user("ünal@EXAMPLE.com", "x-twin", "Twin");
    twin["emails"] = json!([{"value": "twin@example.com", "primary": true}]);
    refused(
        &call(&scim, Method::POST, USERS, Some(twin)).await,
        409,
        Some("uniqueness"),
    );

    // Groups, as Entra ID looks them up (its displayName as sent), made by SCIM and renamed
    // through the Admin API.
    let made = call(
        &scim,
        Method::POST,
        GROUPS,
        Some(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Équipe Ärzte",
        })),
    )
    .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let admin = s.admin();
    let renamed = admin
        .post("/v1/organization/groups", json!({"name": "Ops"}))
        .await
        .id();
    admin
        .post(
            &format!("/v1/organization/groups/{renamed}"),
            json!({"name": "ÖFFENTLICHE Dienste"}),
        )
        .await
        .ok();
    let groups = |filter: &'static str| {
        let scim = &scim;
        async move {
            let list = call(scim, Method::GET, &filtered(GROUPS, filter), None).await;
            assert_eq!(list.status, 200, "{filter}: {}", list.body);
            list.body["Resources"]
                .as_array()
                .unwrap()
                .iter()
                .map(|g| g["displayName"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    for (filter, expected) in [
        (r#"displayName eq "Équipe Ärzte""#, "Équipe Ärzte"),
        (r#"displayName eq "ÉQUIPE ÄRZTE""#, "Équipe Ärzte"),
        (r#"displayName co "pe är""#, "Équipe Ärzte"),
        (
            r#"displayName eq "öffentliche dienste""#,
            "ÖFFENTLICHE Dienste",
        ),
        (r#"displayName sw "Öff""#, "ÖFFENTLICHE Dienste"),
    ] {
        assert_eq!(groups(filter).await, [expected], "{filter}");
    }
    s.stop().await;
}
