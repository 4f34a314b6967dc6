//! The audit log's filters against their meaning: a log of random changes by three kinds of
//! actor (two admin keys, a person accepting her invite, Roster's CLI), several to a second, and
//! random lists of it (projects, event types, actors by id and by email, resources, times, in any
//! combination) walked page by page both ways from random cursors, each answered by the server
//! and by a plain reading of the contract over the whole log as the server shows it. The store
//! builds one index range per filter value, or per (project, type) pair, and merges them: this
//! checks that no merge loses, repeats or misorders an event.

use std::collections::BTreeSet;

use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};

use super::{ids, walk_back, walk_forward};
use crate::common::TestServer;

const CHANGES: usize = 70;
const LISTS: usize = 150;

/// One event as the log shows it, reduced to what the filters look at.
#[derive(Debug)]
struct Shown {
    id: String,
    event_type: String,
    effective_at: i64,
    project: Option<String>,
    /// The ids `actor_ids` may name it by: the key's tracking id and its owner's user id, or
    /// the person's own.
    actors: Vec<String>,
    actor_email: Option<String>,
    /// The object it is about: the `id` of its per-type payload.
    resource: Option<String>,
}

impl Shown {
    fn from(event: &Value) -> Shown {
        let text = |value: &Value| value.as_str().map(str::to_owned);
        let event_type = text(&event["type"]).expect("a type");
        let actor = &event["actor"];
        let person = match actor["type"].as_str() {
            Some("api_key") => &actor["api_key"]["user"],
            Some("session") => &actor["session"]["user"],
            _ => &Value::Null,
        };
        Shown {
            id: text(&event["id"]).expect("an id"),
            effective_at: event["effective_at"].as_i64().expect("effective_at"),
            project: text(&event["project"]["id"]),
            actors: [&actor["api_key"]["id"], &person["id"]]
                .into_iter()
                .filter_map(text)
                .collect(),
            actor_email: text(&person["email"]),
            resource: text(&event[&event_type]["id"]),
            event_type,
        }
    }
}

/// A list's filters, as the query string writes them and as what they mean.
#[derive(Debug, Default)]
struct Filters {
    project_ids: Vec<String>,
    event_types: Vec<String>,
    actor_ids: Vec<String>,
    actor_emails: Vec<String>,
    resource_ids: Vec<String>,
    /// `effective_at[gt]` and the like: the bound and its value.
    times: Vec<(&'static str, i64)>,
}

impl Filters {
    fn query(&self, rng: &mut StdRng) -> String {
        let mut parts = Vec::new();
        for (name, values) in [
            ("project_ids", &self.project_ids),
            ("event_types", &self.event_types),
            ("actor_ids", &self.actor_ids),
            ("actor_emails", &self.actor_emails),
            ("resource_ids", &self.resource_ids),
        ] {
            for value in values {
                // Both spellings of a list parameter are read alike.
                let brackets = if rng.random_bool(0.8) { "[]" } else { "" };
                parts.push(format!("{name}{brackets}={}", encoded(value)));
            }
        }
        for (bound, at) in &self.times {
            parts.push(format!("effective_at[{bound}]={at}"));
        }
        parts.join("&")
    }

    fn matches(&self, event: &Shown) -> bool {
        let any = |wanted: &[String], found: &[&String]| {
            wanted.is_empty() || found.iter().any(|f| wanted.contains(f))
        };
        any(&self.project_ids, &event.project.iter().collect::<Vec<_>>())
            && any(&self.event_types, &[&event.event_type])
            && any(&self.actor_ids, &event.actors.iter().collect::<Vec<_>>())
            && any(
                &self.actor_emails,
                &event.actor_email.iter().collect::<Vec<_>>(),
            )
            && any(
                &self.resource_ids,
                &event.resource.iter().collect::<Vec<_>>(),
            )
            && self.times.iter().all(|&(bound, at)| match bound {
                "gt" => event.effective_at > at,
                "gte" => event.effective_at >= at,
                "lt" => event.effective_at < at,
                "lte" => event.effective_at <= at,
                _ => unreachable!("{bound}"),
            })
    }
}

fn encoded(value: &str) -> String {
    value.replace('@', "%40").replace('+', "%2B")
}

/// Makes `CHANGES` random changes, a random number of seconds apart (often none), by random
/// callers.
async fn make_changes(server: &TestServer, rng: &mut StdRng) {
    let (_, second_key) = server
        .add_owner_with_key("second@example.com", "Second")
        .await;
    let callers = [server.admin(), server.with_key(&second_key)];
    let mut projects: Vec<String> = Vec::new();
    let mut users: Vec<String> = Vec::new();
    let mut memberships: BTreeSet<(String, String)> = BTreeSet::new();
    for change in 0..CHANGES {
        server.clock.advance(*[0, 0, 1, 2, 7].choose(rng).unwrap());
        let caller = callers.choose(rng).unwrap();
        match rng.random_range(0..8) {
            0 | 1 => {
                let name = format!("Project {change}");
                let project = caller
                    .post("/v1/organization/projects", json!({"name": name}))
                    .await
                    .id();
                projects.push(project);
            }
            2 if !projects.is_empty() => {
                let project = projects.choose(rng).unwrap();
                caller
                    .post(
                        &format!("/v1/organization/projects/{project}"),
                        json!({"name": format!("Renamed {change}")}),
                    )
                    .await
                    .ok();
            }
            3 => {
                let email = format!("person{change}@example.com");
                users.push(server.add_user(&email, "reader", "Person").await);
            }
            4 if !projects.is_empty() && !users.is_empty() => {
                let project = projects.choose(rng).unwrap().clone();
                let user = users.choose(rng).unwrap().clone();
                let path = format!("/v1/organization/projects/{project}/users");
                if memberships.insert((project, user.clone())) {
                    caller
                        .post(&path, json!({"user_id": user, "role": "member"}))
                        .await
                        .ok();
                } else {
                    caller
                        .post(&format!("{path}/{user}"), json!({"role": "owner"}))
                        .await
                        .ok();
                }
            }
            5 if !projects.is_empty() => {
                let project = projects.choose(rng).unwrap();
                caller
                    .post(
                        &format!("/v1/organization/projects/{project}/service_accounts"),
                        json!({"name": format!("bot {change}")}),
                    )
                    .await
                    .ok();
            }
            6 if !users.is_empty() => {
                let user = users.choose(rng).unwrap();
                let role = *["owner", "reader"].choose(rng).unwrap();
                caller
                    .post(
                        &format!("/v1/organization/users/{user}"),
                        json!({"role": role}),
                    )
                    .await
                    .ok();
            }
            _ => {
                caller
                    .post(
                        "/v1/organization/groups",
                        json!({"name": format!("Group {change}")}),
                    )
                    .await
                    .ok();
            }
        }
    }
}

/// Up to `most` of `pool`, at random, and now and then a value no event has.
fn some_of(rng: &mut StdRng, pool: &BTreeSet<String>, most: usize, unknown: &str) -> Vec<String> {
    let pool: Vec<&String> = pool.iter().collect();
    let mut chosen: Vec<String> = (0..rng.random_range(1..=most))
        .map(|_| pool.choose(rng).unwrap().to_string())
        .collect();
    if rng.random_bool(0.15) {
        chosen.push(unknown.to_owned());
    }
    chosen
}

#[tokio::test]
async fn random_filters_find_what_they_mean() {
    let server = TestServer::start().await;
    server.clock.freeze();
    // ROSTER_TEST_FILTER_SEED=<n> makes other changes and lists, to look further.
    let seed = std::env::var("ROSTER_TEST_FILTER_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or(20261202);
    let mut rng = StdRng::seed_from_u64(seed);
    make_changes(&server, &mut rng).await;
    let admin = server.admin();

    // The whole log, newest first, as the server shows it.
    let log = walk_forward(&admin, "", None, 100).await;
    let events: Vec<Shown> = log.iter().map(Shown::from).collect();
    assert!(events.len() > CHANGES, "{} events", events.len());
    let values = |pick: fn(&Shown) -> Vec<String>| -> BTreeSet<String> {
        events.iter().flat_map(pick).collect()
    };
    let projects = values(|e| e.project.iter().cloned().collect());
    let types = values(|e| vec![e.event_type.clone()]);
    // The admin keys and their owners, which name the same events two ways, and two people.
    // Actors named by `count` ids: an admin key and its owner (2), a person (1).
    let named_by = |count: usize| -> BTreeSet<String> {
        events
            .iter()
            .filter(|e| e.actors.len() == count)
            .flat_map(|e| e.actors.clone())
            .collect()
    };
    let keys_and_owners = named_by(2);
    let people = named_by(1);
    assert_eq!(keys_and_owners.len(), 4, "{keys_and_owners:?}");
    assert!(people.len() >= 2, "{people:?}");
    let actors: BTreeSet<String> = keys_and_owners
        .into_iter()
        .chain(people.into_iter().take(2))
        .collect();
    let emails = values(|e| e.actor_email.iter().cloned().collect());
    let resources = values(|e| e.resource.iter().cloned().collect());
    let seconds: Vec<i64> = events.iter().map(|e| e.effective_at).collect();
    assert!(types.len() >= 6, "{types:?}");
    assert!(emails.len() >= 3, "{emails:?}");

    for list in 0..LISTS {
        let mut filters = Filters::default();
        let chance = 0.35;
        if rng.random_bool(chance) {
            filters.project_ids = some_of(&mut rng, &projects, 3, "proj_nobody");
        }
        if rng.random_bool(chance) {
            // project.deleted: a type the contract has that this log never holds.
            filters.event_types = some_of(&mut rng, &types, 3, "project.deleted");
        }
        if rng.random_bool(chance) {
            filters.actor_ids = some_of(&mut rng, &actors, 3, "user-nobody");
        }
        if rng.random_bool(chance) {
            filters.actor_emails = some_of(&mut rng, &emails, 2, "nobody@example.com");
        }
        if rng.random_bool(chance / 2.0) {
            filters.resource_ids = some_of(&mut rng, &resources, 2, "user-nobody");
        }
        for bound in ["gt", "gte", "lt", "lte"] {
            if rng.random_bool(chance / 2.0) {
                let at = seconds.choose(&mut rng).unwrap() + rng.random_range(-1..=1);
                filters.times.push((bound, at));
            }
        }
        let query = filters.query(&mut rng);
        let meant: Vec<&Shown> = events.iter().filter(|e| filters.matches(e)).collect();
        let limit = *[1, 2, 3, 7, 100].choose(&mut rng).unwrap();
        let context = format!("list {list} (seed {seed}): {query}, limit {limit}");

        // From the newest, with `after`.
        let found = ids(&walk_forward(&admin, &query, None, limit).await);
        let expected: Vec<String> = meant.iter().map(|e| e.id.clone()).collect();
        assert_eq!(found, expected, "{context}");

        // From any event, matching or not: older ones with `after`, newer ones with `before`.
        let cursor = &events.choose(&mut rng).unwrap().id;
        let older = ids(&walk_forward(&admin, &query, Some(cursor), limit).await);
        let expected: Vec<String> = meant
            .iter()
            .filter(|e| e.id < *cursor)
            .map(|e| e.id.clone())
            .collect();
        assert_eq!(older, expected, "{context}, after {cursor}");
        let newer = walk_back(&admin, &query, cursor, limit).await;
        let expected: Vec<String> = meant
            .iter()
            .rev()
            .filter(|e| e.id > *cursor)
            .map(|e| e.id.clone())
            .collect();
        assert_eq!(newer, expected, "{context}, before {cursor}");
    }
    server.stop().await;
}
