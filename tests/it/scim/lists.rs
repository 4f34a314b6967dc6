//! Lists: pages with no gap or duplicate, exact totals, `.search` and attribute selection.

use super::*;

#[tokio::test]
async fn pages_of_250_users_have_no_gap_or_duplicate() {
    let s = TestServer::start().await;
    let token = token(&s).await;
    let scim = s.with_key(&token);
    for i in 0..250 {
        create(
            &scim,
            user(&format!("u{i:03}@example.com"), &format!("x{i}"), "U"),
        )
        .await;
    }
    let mut seen = Vec::new();
    let mut start = 1;
    loop {
        let page = call(
            &scim,
            Method::GET,
            &format!("{USERS}?startIndex={start}&count=40"),
            None,
        )
        .await;
        assert_eq!(page.body["totalResults"], 251);
        assert_eq!(page.body["startIndex"], start);
        let names = user_names(&page.body);
        if names.is_empty() {
            break;
        }
        assert_eq!(page.body["itemsPerPage"], names.len());
        start += names.len() as i64;
        seen.extend(names);
    }
    assert_eq!(seen.len(), 251);
    assert_eq!(
        seen.iter().collect::<BTreeSet<_>>().len(),
        251,
        "no duplicate"
    );
    // A page asked out of turn is the same page.
    let again = call(
        &scim,
        Method::GET,
        &format!("{USERS}?startIndex=121&count=40"),
        None,
    )
    .await;
    assert_eq!(user_names(&again.body), seen[120..160]);
    // Past the end, an empty page; a count over the most is the most.
    let past = call(&scim, Method::GET, &format!("{USERS}?startIndex=300"), None).await;
    assert_eq!(past.body["Resources"], json!([]));
    let capped = call(&scim, Method::GET, &format!("{USERS}?count=1000"), None).await;
    assert_eq!(capped.body["itemsPerPage"], 200);
    s.stop().await;
}

/// `totalResults` is exact whichever way it is counted: the organization's kept count with no
/// filter (following creates and deletes through SCIM and the Admin API), that count less the
/// rest when few rows do not match, the matches when few do, and every match when neither side
/// is small (over 1,000 rows each, the most a count reads of one side before trying the other).
#[tokio::test]
async fn totals_are_exact_however_many_match() {
    let s = TestServer::start().await;
    let token = token(&s).await;
    let scim = s.with_key(&token);
    const MADE: usize = 2_050;
    let bodies: Vec<Value> = (0..MADE)
        .map(|i| {
            let mut body = user(&format!("u{i:04}@example.com"), &format!("x{i}"), "U");
            if i >= 2_040 {
                body.as_object_mut().unwrap().remove("externalId");
            }
            if i % 1_000 == 7 {
                body["active"] = json!(false);
            }
            body
        })
        .collect();
    create_many(&scim, &bodies).await;
    let total = |filter: Option<&'static str>| {
        let scim = &scim;
        async move {
            let path = match filter {
                Some(filter) => format!("{}&count=1", filtered(USERS, filter)),
                None => format!("{USERS}?count=1"),
            };
            let list = call(scim, Method::GET, &path, None).await;
            assert_eq!(list.status, 200, "{filter:?}: {}", list.body);
            list.body["totalResults"].as_i64().unwrap()
        }
    };
    let everyone = MADE as i64 + 1; // and the owner
    for (filter, expected) in [
        (None, everyone),
        // Few do not match.
        (Some(r#"userName ne "u0005@example.com""#), everyone - 1),
        (Some("externalId pr"), 2_040),
        (Some("active eq true"), everyone - 3),
        (Some(r#"userName sw "u0""#), 1_000),
        (
            Some(r#"not (userName eq "u0005@example.com")"#),
            everyone - 1,
        ),
        // Few match.
        (Some("not (externalId pr)"), 11),
        (Some("active eq false"), 3),
        (Some(r#"userName co "u01""#), 100),
        // Over 1,000 on each side (the owner's address comes before u...).
        (Some(r#"userName lt "u1025""#), 1_026),
        (Some(r#"userName ge "u1025""#), everyone - 1_026),
        (Some(r#"not (userName lt "u1025")"#), everyone - 1_026),
    ] {
        assert_eq!(total(filter).await, expected, "{filter:?}");
    }

    // Pages are the same whichever way they are read: few matches found by their index and
    // sorted, or many walked in order; in turn, or out of turn.
    let page = |filter: &'static str, start: i64, count: i64| {
        let scim = &scim;
        async move {
            let path = format!(
                "{}&startIndex={start}&count={count}",
                filtered(USERS, filter)
            );
            let list = call(scim, Method::GET, &path, None).await;
            assert_eq!(list.status, 200, "{filter}: {}", list.body);
            user_names(&list.body)
        }
    };
    // Users were made 16 at a time: the oracle is the unfiltered walk's order, which is ids'.
    let mut in_order = Vec::new();
    while in_order.len() < everyone as usize {
        let start = in_order.len() as i64 + 1;
        let more = page(r#"userName pr"#, start, 200).await;
        assert!(!more.is_empty(), "a page past {start}");
        in_order.extend(more);
    }
    let number = |name: &String| name[1..5].parse::<usize>().unwrap_or(usize::MAX);
    let expected = |keep: &dyn Fn(&String) -> bool, start: usize, count: usize| {
        in_order
            .iter()
            .filter(|name| keep(name))
            .skip(start - 1)
            .take(count)
            .cloned()
            .collect::<Vec<_>>()
    };
    let few = |name: &String| name.contains("u01");
    let mut walked = Vec::new();
    for start in [1, 31, 61, 91] {
        walked.extend(page(r#"userName co "u01""#, start, 30).await);
    }
    assert_eq!(walked, expected(&few, 1, 100), "a few, in turn");
    assert_eq!(
        page(r#"userName co "u01""#, 45, 10).await,
        expected(&few, 45, 10),
        "a few, out of turn"
    );
    assert_eq!(
        page(r#"userName ge "u2000""#, 41, 100).await,
        expected(&|name| name.as_str() >= "u2000", 41, 100),
        "a few by a range, out of turn"
    );
    let active = |name: &String| number(name) % 1_000 != 7;
    assert_eq!(
        page("active eq true", 1, 5).await,
        expected(&active, 1, 5),
        "many, first"
    );
    assert_eq!(
        page("active eq true", 1_501, 3).await,
        expected(&active, 1_501, 3),
        "many, out of turn"
    );
    let most = |name: &String| name != "u1500@example.com";
    assert_eq!(
        page(r#"userName ne "u1500@example.com""#, 1_501, 3).await,
        expected(&most, 1_501, 3),
        "most, out of turn"
    );

    // The kept count follows deletes through SCIM and the Admin API, and the users an invite
    // brings.
    let first = call(
        &scim,
        Method::GET,
        &filtered(USERS, r#"userName eq "u0000@example.com""#),
        None,
    )
    .await;
    let first_id = first.body["Resources"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let deleted = call(&scim, Method::DELETE, &format!("{USERS}/{first_id}"), None).await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    assert_eq!(total(None).await, everyone - 1);
    assert_eq!(total(Some("externalId pr")).await, 2_039);
    let invited = s.add_user("late@example.com", "reader", "Late").await;
    assert_eq!(total(None).await, everyone);
    let removed = s
        .admin()
        .delete(&format!("/v1/organization/users/{invited}"))
        .await;
    assert_eq!(removed.status, 200, "{}", removed.body);
    assert_eq!(total(None).await, everyone - 1);
    assert_eq!(total(Some(r#"userName ne "nobody""#)).await, everyone - 1);

    // Groups are counted as they come and go too.
    let mut made = Vec::new();
    for name in ["Ops", "Dev", "Sales"] {
        let group = call(
            &scim,
            Method::POST,
            GROUPS,
            Some(json!({"displayName": name})),
        )
        .await;
        assert_eq!(group.status, 201, "{}", group.body);
        made.push(group.body["id"].as_str().unwrap().to_owned());
    }
    let deleted = call(
        &scim,
        Method::DELETE,
        &format!("{GROUPS}/{}", made[0]),
        None,
    )
    .await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    let groups = call(&scim, Method::GET, &format!("{GROUPS}?count=1"), None).await;
    assert_eq!(groups.body["totalResults"], 2, "{}", groups.body);
    let others = call(
        &scim,
        Method::GET,
        &format!("{}&count=1", filtered(GROUPS, r#"displayName ne "Dev""#)),
        None,
    )
    .await;
    assert_eq!(others.body["totalResults"], 1, "{}", others.body);
    s.stop().await;
}

#[tokio::test]
async fn searches_and_attribute_selection() {
    let s = TestServer::start().await;
    let token = token(&s).await;
    let scim = s.with_key(&token);
    create(&scim, user("hal@example.com", "x-hal", "Hal")).await;
    let found = call(
        &scim,
        Method::POST,
        "/scim/v2/Users/.search",
        Some(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": "userName sw \"hal\"",
            "attributes": ["userName", "name.givenName"],
        })),
    )
    .await;
    assert_eq!(found.status, 200, "{}", found.body);
    let hal = &found.body["Resources"][0];
    assert_eq!(found.body["totalResults"], 1);
    assert_eq!(hal["userName"], "hal@example.com");
    assert_eq!(hal["name"], json!({"givenName": "Hal"}));
    assert!(
        hal.get("emails").is_none() && hal["id"].is_string(),
        "{hal}"
    );
    let id = hal["id"].as_str().unwrap();

    let without = call(
        &scim,
        Method::GET,
        &format!("{USERS}/{id}?excludedAttributes=emails,name.familyName"),
        None,
    )
    .await;
    assert!(without.body.get("emails").is_none(), "{}", without.body);
    assert_eq!(without.body["name"], json!({"givenName": "Hal"}));

    // Every resource type at once: the two users, then the group.
    call(
        &scim,
        Method::POST,
        GROUPS,
        Some(json!({"displayName": "Ops", "members": [{"value": id}]})),
    )
    .await;
    let everything = call(
        &scim,
        Method::POST,
        "/scim/v2/.search",
        Some(json!({"startIndex": 2, "count": 5})),
    )
    .await;
    assert_eq!(everything.body["totalResults"], 3, "{}", everything.body);
    let kinds: Vec<&str> = everything.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["meta"]["resourceType"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["User", "Group"]);
    let groups_only = call(
        &scim,
        Method::POST,
        "/scim/v2/.search",
        Some(json!({"filter": "displayName eq \"ops\""})),
    )
    .await;
    assert_eq!(groups_only.body["totalResults"], 1, "{}", groups_only.body);

    // A change answers with the attributes asked for too (RFC 7644 §3.9).
    let created = call(
        &scim,
        Method::POST,
        &format!("{USERS}?attributes=userName"),
        Some(user("ivy@example.com", "x-ivy", "Ivy")),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let ivy = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        created.body,
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": ivy,
            "userName": "ivy@example.com"})
    );
    let patched = call(
        &scim,
        Method::PATCH,
        &format!("{USERS}/{ivy}?excludedAttributes=emails,meta"),
        Some(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "displayName", "value": "Ivy B"}],
        })),
    )
    .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(patched.body["displayName"], "Ivy B", "{}", patched.body);
    assert!(
        patched.body.get("emails").is_none() && patched.body.get("meta").is_none(),
        "{}",
        patched.body
    );
    let group = groups_only.body["Resources"][0]["id"].as_str().unwrap();
    let added = call(
        &scim,
        Method::PATCH,
        &format!("{GROUPS}/{group}?excludedAttributes=members"),
        Some(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "Add", "path": "members", "value": [{"$ref": null, "value": ivy}]}],
        })),
    )
    .await;
    assert_eq!(added.status, 200, "{}", added.body);
    assert_eq!(added.body["displayName"], "Ops", "{}", added.body);
    assert!(added.body.get("members").is_none(), "{}", added.body);
    let replaced = call(
        &scim,
        Method::PUT,
        &format!("{GROUPS}/{group}?attributes=members.value"),
        Some(json!({"displayName": "Ops", "members": [{"value": ivy}]})),
    )
    .await;
    assert_eq!(
        replaced.body,
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": group,
            "members": [{"value": ivy}]})
    );
    // A query that cannot be read changes nothing.
    let unread = call(
        &scim,
        Method::POST,
        &format!("{USERS}?count=many"),
        Some(user("jo@example.com", "x-jo", "Jo")),
    )
    .await;
    refused(&unread, 400, Some("invalidValue"));
    let jo = call(
        &scim,
        Method::GET,
        &filtered(USERS, r#"userName eq "jo@example.com""#),
        None,
    )
    .await;
    assert_eq!(jo.body["totalResults"], 0, "{}", jo.body);
    // A second filter is not left unheard; a second list of names adds to the first.
    let twice = call(
        &scim,
        Method::GET,
        &format!(
            "{}&filter=userName%20pr",
            filtered(USERS, r#"userName eq "ivy@example.com""#)
        ),
        None,
    )
    .await;
    refused(&twice, 400, Some("invalidValue"));
    assert!(
        twice.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("'filter' is given more than once")),
        "{}",
        twice.body
    );
    let names = call(
        &scim,
        Method::GET,
        &format!(
            "{}&attributes=userName&attributes=externalId",
            filtered(USERS, r#"userName eq "ivy@example.com""#)
        ),
        None,
    )
    .await;
    let ivy_named = &names.body["Resources"][0];
    assert!(
        ivy_named["userName"] == "ivy@example.com" && ivy_named["externalId"].is_string(),
        "{}",
        names.body
    );
    assert!(ivy_named.get("emails").is_none(), "{}", names.body);
    s.stop().await;
}
