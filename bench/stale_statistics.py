#!/usr/bin/env python3
"""How Roster's lists on SQLite fare right after an import, while the query planner's statistics
still say the organization is small, and how soon they recover (bench/README.md).

A server starts on an organization of `before` users (its start analyzes the tables of 1,000
rows or more at that size). While it runs, users up to `users` in all, four project memberships
each and four audit events each are written straight into its database, as an identity
provider's first push and a provisioning script would write them through the API, only faster.
Then the same Admin API and SCIM reads are timed three times: at once, `wait` seconds later on
the same server, and after a restart, once its start has analyzed the tables.

    python3 bench/stale_statistics.py [users] [wait] [before]   # default 100000, 75 and 1

It uses the debug binary `cargo build` leaves in target/debug unless ROSTER_BINARY names
another.
"""

import json
import os
import random
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import run as bench

ROOT = Path(__file__).resolve().parent.parent
BINARY = os.environ.get("ROSTER_BINARY", str(ROOT / "target" / "debug" / "roster"))
WORK = ROOT / "target" / "bench" / "stale-statistics"
DB = WORK / "roster.db"
PROJECTS = 4


def roster(*args: str) -> list[str]:
    return [BINARY, "--data-dir", str(WORK), "--database-url", f"sqlite://{DB}", "--log", "warn",
            *args]


class Server:
    """`roster serve` on a free port, ready, with its start's statistics run done."""

    def __init__(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        with open(WORK / "server.log", "ab") as log:
            self.process = subprocess.Popen(roster("serve", "--listen", f"127.0.0.1:{port}"),
                                            stdout=log, stderr=log)
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(self.url + "/readyz", timeout=1):
                    break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline or self.process.poll() is not None:
                    sys.exit(f"stale_statistics: the server did not start; see {WORK}/server.log")
                time.sleep(0.01)
        # The start's statistics run is off the way to ready.
        time.sleep(1)

    def call(self, method: str, path: str, body=None, token: str = bench.ADMIN_KEY):
        request = urllib.request.Request(
            self.url + path, method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=120) as response:
            return json.loads(response.read() or b"null")

    def median_ms(self, path: str, token: str, times: int = 7) -> float:
        taken = []
        for _ in range(times):
            started = time.perf_counter()
            self.call("GET", path, token=token)
            taken.append((time.perf_counter() - started) * 1000)
        return statistics.median(taken)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait()


def import_organization(db: sqlite3.Connection, numbers: range, projects: list[str],
                        first: int) -> None:
    """Users `numbers`, shaped as bench/run.py seeds them, with their memberships and audit
    events (effective from `first`), behind the running server's back."""
    org_id, = db.execute("SELECT id FROM organizations").fetchone()
    actor = db.execute("SELECT actor_id, actor_email, actor_key_id, actor FROM audit_logs "
                       "WHERE actor_key_id IS NOT NULL LIMIT 1").fetchone()
    users = numbers.stop
    db.execute("PRAGMA synchronous = OFF")
    db.executemany(
        "INSERT INTO users (id, org_id, email, name, role, added_at, user_name, external_id, "
        "updated_at, user_name_folded, name_folded) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        ((bench.user_id(i), org_id, f"user{i}@bench.example", f"Bench User {i}", "reader", first,
          f"user{i}@bench.example", f"ext-{i}", first, f"user{i}@bench.example",
          f"bench user {i}") for i in numbers))
    db.executemany(
        "INSERT INTO project_users (id, org_id, project_id, user_id, role, added_at) "
        "VALUES (?,?,?,?,?,?)",
        ((f"pu_{p:02d}{i:024d}", org_id, projects[p], bench.user_id(i), "member", first)
         for p in range(PROJECTS) for i in numbers))
    rng = random.Random(numbers.start)

    def audit_rows():
        for j in range(numbers.start * PROJECTS, numbers.stop * PROJECTS):
            kind = bench.EVENT_TYPES[rng.randrange(len(bench.EVENT_TYPES))]
            project = projects[rng.randrange(PROJECTS)]
            subject = bench.user_id(rng.randrange(users)) if kind.startswith("user.") else project
            yield (f"audit_log-{bench.ulid((first + j) * 1000, rng)}", org_id, kind, first + j,
                   project, *actor, subject, json.dumps({"id": subject}))

    db.executemany(
        "INSERT INTO audit_logs (id, org_id, type, effective_at, project_id, actor_id, "
        "actor_email, actor_key_id, actor, resource_id, details) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        audit_rows())
    db.commit()


def current_statistics(db: sqlite3.Connection, table: str, rows: int) -> None:
    """Waits for the statistics of `table` to say it has `rows` rows at least: a start
    analyzes the tables in the background, after the server is ready."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        found = db.execute("SELECT stat FROM sqlite_stat1 WHERE tbl = ? LIMIT 1", (table,)).fetchone()
        if found and int(found[0].split()[0]) >= rows:
            return
        time.sleep(0.1)
    sys.exit(f"stale_statistics: the statistics of {table} never reached {rows} rows")


def main() -> None:
    users = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    wait = int(sys.argv[2]) if len(sys.argv) > 2 else 75
    before = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    subprocess.run(["rm", "-rf", str(WORK)], check=True)
    WORK.mkdir(parents=True)
    subprocess.run(roster("init"), env=dict(os.environ, ROSTER_BOOTSTRAP_ADMIN_KEY=bench.ADMIN_KEY),
                   stdout=subprocess.DEVNULL, check=True)
    db = sqlite3.connect(DB)
    org_id, = db.execute("SELECT id FROM organizations").fetchone()
    token = subprocess.run(roster("scim", "token", "create", "--org", org_id), check=True,
                           capture_output=True, text=True).stdout.split()[-1]
    server = Server()
    projects = [server.call("POST", "/v1/organization/projects", {"name": f"p{p}"})["id"]
                for p in range(PROJECTS)]
    server.call("POST", "/scim/v2/Users", {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "first@x.test"},
        token=token)
    first = int(time.time()) - users * PROJECTS - 100
    if before > 1:
        import_organization(db, range(before), projects, first)
    server.stop()
    server = Server()
    if before >= 1000:
        current_statistics(db, "users", before)
    kept = db.execute("SELECT COUNT(*) FROM sqlite_schema WHERE name = 'sqlite_stat1'").fetchone()
    print("statistics before the import:", kept[0] and db.execute(
        "SELECT idx, stat FROM sqlite_stat1 WHERE tbl = 'users' LIMIT 3").fetchall())
    started = time.perf_counter()
    import_organization(db, range(before if before > 1 else 0, users), projects, first)
    print(f"imported {users:,} users in {time.perf_counter() - started:.0f} s")
    middle = bench.user_id(users // 2)
    reads = [
        ("users", "/v1/organization/users?limit=20", bench.ADMIN_KEY),
        ("users after", f"/v1/organization/users?limit=20&after={middle}", bench.ADMIN_KEY),
        ("user", f"/v1/organization/users/{middle}", bench.ADMIN_KEY),
        ("project users", f"/v1/organization/projects/{projects[1]}/users?limit=20",
         bench.ADMIN_KEY),
        ("project users after",
         f"/v1/organization/projects/{projects[1]}/users?limit=20&after={middle}",
         bench.ADMIN_KEY),
        ("project user", f"/v1/organization/projects/{projects[1]}/users/{middle}",
         bench.ADMIN_KEY),
        ("audit logs", "/v1/organization/audit_logs?limit=20", bench.ADMIN_KEY),
        ("audit logs by type",
         "/v1/organization/audit_logs?limit=20&event_types[]=project.created", bench.ADMIN_KEY),
        ("audit logs by project and type",
         f"/v1/organization/audit_logs?limit=20&project_ids[]={projects[2]}"
         "&event_types[]=user.added", bench.ADMIN_KEY),
        ("audit logs by resource",
         f"/v1/organization/audit_logs?limit=20&resource_ids[]={middle}", bench.ADMIN_KEY),
        ("SCIM users", "/scim/v2/Users?count=20", token),
        ("SCIM userName eq",
         f"/scim/v2/Users?filter=userName%20eq%20%22user{users // 2}@bench.example%22", token),
        ("SCIM externalId eq",
         f"/scim/v2/Users?filter=externalId%20eq%20%22ext-{users // 2}%22", token),
    ]
    columns = [("at once", [server.median_ms(path, key) for _, path, key in reads])]
    time.sleep(wait)
    columns.append((f"{wait} s later", [server.median_ms(path, key) for _, path, key in reads]))
    server.stop()
    server = Server()
    for table, rows in [("users", users), ("project_users", users * PROJECTS),
                        ("audit_logs", users * PROJECTS)]:
        current_statistics(db, table, rows)
    columns.append(("restarted", [server.median_ms(path, key) for _, path, key in reads]))
    server.stop()
    print(f"\nmedian of 7, ms{'':19}" + "".join(f"{title:>14}" for title, _ in columns))
    for row, (name, _, _) in enumerate(reads):
        print(f"{name:33}" + "".join(f"{taken[row]:14.2f}" for _, taken in columns))


if __name__ == "__main__":
    main()
