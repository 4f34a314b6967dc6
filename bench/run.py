#!/usr/bin/env python3
"""Roster's benchmark, end to end: build, seed, serve, load, report.

    python3 bench/run.py                # every scenario, both backends, 1k and 1M memberships
    python3 bench/run.py --sizes 1000   # a quick run

Builds Roster and the floor (bench/floor) in release mode, seeds one organization per size
and backend in bulk, starts each server on 127.0.0.1, drives it with wrk (installed from
Debian's packages if missing) at a fixed concurrency, and writes bench/results/latest.md and
latest.json. Every Roster figure is also given as a ratio to the floor's figure for the same
scenario, measured in the same run. bench/README.md explains the scenarios.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import hashlib
import http.client
import json
import os
import platform
import random
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
WORK = ROOT / "target" / "bench"
RESULTS = BENCH / "results"
ROSTER = ROOT / "target" / "release" / "roster"
roster_binary = ROSTER  # --roster: another build, to compare before and after a change
FLOOR = BENCH / "floor" / "target" / "release" / "roster-bench-floor"
LOAD_SCRIPT = BENCH / "load.lua"

ADMIN_KEY = "sk-admin-bench" + "0" * 40
POSTGRES_ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
# Projects every seeded user is a member of (the first is read); one more, empty, takes creates.
READ_PROJECTS = 4
CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"
EVENT_TYPES = [
    "user.added", "user.updated", "user.deleted", "project.created",
    "project.updated", "api_key.created", "api_key.deleted", "invite.sent",
]
# The audit scenario's filter: two event types in two projects.
AUDIT_TYPES = ["user.added", "user.deleted"]
SCENARIOS = ["retrieve", "page_first", "page_deep", "create_delete", "audit", "check_hit", "check_miss",
             "auth_hit"]
TARGET_RATIO = {"retrieve": 0.5, "page_first": 0.25, "page_deep": 0.25, "check_hit": 0.5,
                "auth_hit": 0.5}
# What Roster may add to a request through nginx, at p50.
GATEWAY_TARGET_MS = 0.5
# Project API keys seeded for the gateway check, owned by the members of the first project in
# turn: check_miss asks about each once, so that every check misses the cache.
CHECK_KEYS = 200_000
# SCIM list filters over the seeded users, `{k}` a user's number: those identity providers send
# (eq on userName, externalId, emails.value, displayName), and each other operator, each
# matching one user or a handful; then three that match nearly every user, whose totalResults
# must count them all. Each is a target: p50 at the larger size <= 1.5x at the smaller.
SCIM_FILTERS = {
    "userName eq": 'userName eq "user{k}@bench.example"',
    "externalId eq": 'externalId eq "ext-{k}"',
    "emails.value eq": 'emails.value eq "user{k}@bench.example"',
    "displayName eq": 'displayName eq "Bench User {k}"',
    "userName sw": 'userName sw "user{k}@"',
    "userName co": 'userName co "er{k}@"',
    "displayName ew": 'displayName ew " {k}"',
    "externalId co": 'externalId co "t-{k}"',
    # Every user's address has "@bench.example": the trigram index reads all their entries.
    "userName co (common trigrams)": 'userName co "r{k}@bench"',
    "active eq false": "active eq false",
    "meta.lastModified gt": 'meta.lastModified gt "{recent}"',
    "meta.created gt": 'meta.created gt "{recent}"',
    "or, and": '(userName eq "user{k}@bench.example" or externalId eq "ext-{j}") and active eq true',
    "userName ne (most)": 'userName ne "user{k}@bench.example"',
    "not (most)": 'not (userName sw "user1")',
    "externalId pr (all)": "externalId pr",
}
SCIM_REQUESTS = 300  # timed a filter, one at a time, after 30 untimed
STEP_TIMEOUT = 600  # seconds any one build, seed or load step may take


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, timeout=STEP_TIMEOUT, **kwargs)


def user_id(i: int) -> str:
    return f"user-{i:026d}"


def project_key(j: int) -> str:
    return f"sk-proj-bench{j:040d}"


def ulid(millis: int, rng: random.Random) -> str:
    value = (millis << 80) | rng.getrandbits(80)
    return "".join(CROCKFORD[(value >> (5 * (25 - k))) & 31] for k in range(26))


# --- set-up -----------------------------------------------------------------------------------

def ensure_installed(program: str) -> str:
    """The path of `program` (wrk, nginx), installed from Debian's package of that name if it is
    missing."""
    def find() -> str | None:
        sbin = Path("/usr/sbin") / program
        return shutil.which(program) or (str(sbin) if sbin.exists() else None)

    found = find()
    if found:
        return found
    log(f"installing {program} from Debian's packages")
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run(sudo + ["apt-get", "install", "-y", "--no-install-recommends", program], env=env,
        stdout=subprocess.DEVNULL)
    found = find()
    if not found:
        sys.exit(f"bench: {program} could not be installed")
    return found


def build() -> None:
    log("building roster and the floor (release)")
    run(["cargo", "build", "--release", "--locked", "--bin", "roster"], cwd=ROOT)
    run(["cargo", "build", "--release", "--manifest-path", str(BENCH / "floor" / "Cargo.toml")])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Database:
    """One benchmark organization's database: a SQLite file or a PostgreSQL database."""

    def __init__(self, backend: str, size: int):
        self.backend = backend
        self.size = size
        if backend == "sqlite":
            self.path = WORK / f"sqlite-{size}" / "roster.db"
            self.url = f"sqlite://{self.path}?mode=rwc"
        else:
            self.name = f"roster_bench_{size}"
            self.url = f"{POSTGRES_ADMIN_URL}/{self.name}"

    def reset(self) -> None:
        if self.backend == "sqlite":
            shutil.rmtree(self.path.parent, ignore_errors=True)
            self.path.parent.mkdir(parents=True)
        else:
            self.psql("postgres", f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
            self.psql("postgres", f"CREATE DATABASE {self.name}")

    def psql(self, database: str, sql: str) -> str:
        out = run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At",
                   "-d", f"{POSTGRES_ADMIN_URL}/{database}", "-c", sql],
                  capture_output=True, text=True)
        return out.stdout.strip()

    def query(self, sql: str) -> list[list[str]]:
        if self.backend == "sqlite":
            with sqlite3.connect(self.path) as db:
                return [[("" if v is None else str(v)) for v in row] for row in db.execute(sql)]
        out = self.psql(self.name, sql)
        return [line.split("|") for line in out.splitlines()] if out else []

    def load(self, table: str, columns: list[str], csv_path: Path) -> None:
        """Bulk-loads a CSV file (empty field = NULL) into `table`."""
        if self.backend == "sqlite":
            with sqlite3.connect(self.path) as db, open(csv_path, newline="") as f:
                db.execute("PRAGMA synchronous = OFF")
                marks = ", ".join("?" for _ in columns)
                rows = ([v if v != "" else None for v in row] for row in csv.reader(f))
                db.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)
        else:
            self.psql(self.name, f"\\copy {table} ({', '.join(columns)}) FROM '{csv_path}' WITH (FORMAT csv)")

    def analyze(self) -> None:
        if self.backend == "sqlite":
            with sqlite3.connect(self.path) as db:
                db.execute("ANALYZE")
        else:
            self.psql(self.name, "VACUUM ANALYZE")


class Server:
    """A server process on 127.0.0.1, from start to ready to stop."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str] | None = None):
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = WORK / f"{name}.log"
        started = time.perf_counter()
        with open(self.log_path, "ab") as log_file:
            self.process = subprocess.Popen(
                [part.replace("{listen}", f"127.0.0.1:{self.port}") for part in cmd],
                env=dict(os.environ, **(env or {})), stdout=log_file, stderr=log_file)
        deadline = started + 30
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/readyz", timeout=1) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if self.process.poll() is not None or time.perf_counter() > deadline:
                sys.exit(f"bench: {name} did not become ready; see {self.log_path}")
            time.sleep(0.001)
        self.ready_ms = (time.perf_counter() - started) * 1000

    def peak_rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def roster_cmd(db: Database, *args: str) -> list[str]:
    return [str(roster_binary), "--data-dir", str(WORK / "data"), "--database-url", db.url,
            "--log", "warn", *args]


def start_roster(db: Database) -> Server:
    return Server(f"roster-{db.backend}-{db.size}", roster_cmd(db, "serve", "--listen", "{listen}"))


def call(server: Server, method: str, path: str, body: dict | None = None) -> tuple[int, bytes]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{server.url}{path}", data=data, method=method, headers={
        "Authorization": f"Bearer {ADMIN_KEY}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def expect_ok(server: Server, method: str, path: str, body: dict | None = None) -> bytes:
    status, payload = call(server, method, path, body)
    if status != 200:
        sys.exit(f"bench: {method} {path} answered {status}: {payload[:300]!r}")
    return payload


# --- seeding ----------------------------------------------------------------------------------

def seed(db: Database, size: int) -> dict:
    """One organization with `size` project memberships: size/4 users, each a member of four
    projects, and `size` audit events; plus an empty project that creates write to."""
    users = max(size // READ_PROJECTS, 1)
    log(f"seeding {db.backend} with {size} memberships ({users} users) and {size} audit events")
    started = time.perf_counter()
    db.reset()
    run(roster_cmd(db, "init"), env=dict(os.environ, ROSTER_BOOTSTRAP_ADMIN_KEY=ADMIN_KEY),
        stdout=subprocess.DEVNULL)
    # The projects through the API, so they are exactly what Roster makes of a new project.
    server = start_roster(db)
    projects = [json.loads(expect_ok(server, "POST", "/v1/organization/projects",
                                     {"name": f"bench-{p}"}))["id"]
                for p in range(READ_PROJECTS + 1)]
    server.stop()
    org_id, default_project = db.query("SELECT id, default_project_id FROM organizations")[0]
    actor = db.query("SELECT actor_id, actor_email, actor_key_id, actor FROM audit_logs "
                     "WHERE type = 'project.created' AND actor_key_id IS NOT NULL LIMIT 1")[0]
    now = int(time.time())
    first_second = now - size - 60
    files = WORK / f"seed-{size}"
    files.mkdir(parents=True, exist_ok=True)

    def write(name: str, rows) -> Path:
        path = files / f"{name}.csv"
        with open(path, "w", newline="") as f:
            csv.writer(f).writerows(rows)
        return path

    # `user_name_folded` and `name_folded`: as Roster folds them (Python's lower() is Unicode's,
    # as Rust's to_lowercase is).
    db.load("users", ["id", "org_id", "email", "name", "role", "added_at", "user_name",
                      "external_id", "updated_at", "user_name_folded", "name_folded"], write("users", (
        (user_id(i), org_id, f"user{i}@bench.example", f"Bench User {i}", "reader",
         first_second, f"user{i}@bench.example", f"ext-{i}", first_second,
         f"user{i}@bench.example", f"bench user {i}")
        for i in range(users))))
    db.load("project_users", ["id", "org_id", "project_id", "user_id", "role", "added_at"],
            write("project_users", (
                (f"pu_{p:02d}{i:024d}", org_id, projects[p], user_id(i),
                 "owner" if i == 0 else "member", first_second)
                for p in range(READ_PROJECTS) for i in range(users))))
    rng = random.Random(size)
    audit_projects = projects[:READ_PROJECTS] + [default_project]

    def audit_rows():
        for j in range(size):
            second = first_second + j
            kind = EVENT_TYPES[rng.randrange(len(EVENT_TYPES))]
            project = audit_projects[rng.randrange(len(audit_projects))]
            subject = user_id(rng.randrange(users)) if kind.startswith("user.") else project
            details = {"id": subject}
            if kind in ("user.added", "user.updated"):
                details["data"] = {"role": "member"}
            yield (f"audit_log-{ulid(second * 1000 + 500, rng)}", org_id, kind, second, project,
                   actor[0], actor[1], actor[2], actor[3], subject, json.dumps(details))

    db.load("audit_logs", ["id", "org_id", "type", "effective_at", "project_id", "actor_id",
                           "actor_email", "actor_key_id", "actor", "resource_id", "details"],
            write("audit_logs", audit_rows()))

    def key_rows():
        for j in range(CHECK_KEYS):
            value = project_key(j)
            yield (f"key_{j:026d}", org_id, projects[0], f"bench key {j}",
                   hashlib.sha256(value.encode()).hexdigest(), f"{value[:8]}...{value[-4:]}",
                   "[]", first_second, user_id(j % users))

    db.load("project_api_keys", ["id", "org_id", "project_id", "name", "digest", "redacted_value",
                                 "scopes", "created_at", "user_id"], write("project_api_keys", key_rows()))
    db.analyze()
    seconds = time.perf_counter() - started
    log(f"seeded {db.backend} {size} in {seconds:.1f} s")
    return {"org_id": org_id, "projects": projects, "users": users, "seed_seconds": seconds}


def seeded(db: Database, size: int, reuse: bool) -> dict:
    """The organization of `size` memberships: seeded now, or by an earlier run if `reuse`."""
    record = WORK / f"world-{db.backend}-{size}.json"
    if reuse and record.exists():
        log(f"reusing the {db.backend} organization of {size} memberships seeded earlier")
        return json.loads(record.read_text())
    record.unlink(missing_ok=True)
    world = seed(db, size)
    record.write_text(json.dumps(world))
    return world


# --- load -------------------------------------------------------------------------------------

def scenario_env(world: dict) -> dict[str, str]:
    users = world["users"]
    query = "&".join([f"event_types%5B%5D={t}" for t in AUDIT_TYPES] +
                     [f"project_ids%5B%5D={p}" for p in world["projects"][:2]])
    return {
        "ROSTER_KEY": ADMIN_KEY,
        "PROJECT_ID": world["projects"][0],
        "CREATE_PROJECT_ID": world["projects"][READ_PROJECTS],
        "USERS": str(users),
        "DEEP_AFTER": user_id(users // 2),
        "AUDIT_QUERY": query,
        "CHECK_KEYS": str(CHECK_KEYS),
    }


def record_fixtures(server: Server, world: dict, path: Path) -> None:
    """What Roster answers each scenario's request with: the floor answers with these bytes."""
    env = scenario_env(world)
    members = f"/v1/organization/projects/{env['PROJECT_ID']}/users"
    target = f"/v1/organization/projects/{env['CREATE_PROJECT_ID']}/users"
    fixtures = {
        "retrieve": expect_ok(server, "GET", f"{members}/{user_id(world['users'] // 3)}"),
        "page_first": expect_ok(server, "GET", f"{members}?limit=100"),
        "page_deep": expect_ok(server, "GET", f"{members}?limit=100&after={env['DEEP_AFTER']}"),
        "create": expect_ok(server, "POST", target, {"user_id": user_id(0), "role": "member"}),
        "delete": expect_ok(server, "DELETE", f"{target}/{user_id(0)}"),
        "audit": expect_ok(server, "GET", f"/v1/organization/audit_logs?{env['AUDIT_QUERY']}"),
        "check": expect_ok(server, "POST", "/v1/gateway/check",
                           {"api_key": project_key(0), "permission": "api.model.request"}),
    }
    if not json.loads(fixtures["check"])["allowed"]:
        sys.exit(f"bench: the seeded key is refused: {fixtures['check'][:300]!r}")
    # Full pages: 100 members (fewer in an organization too small to fill them), and the audit
    # log's default page of 20.
    users = world["users"]
    for name, full in (("page_first", min(100, users)),
                       ("page_deep", min(100, users - users // 2 - 1)), ("audit", 20)):
        count = len(json.loads(fixtures[name])["data"])
        if count < full:
            sys.exit(f"bench: the {name} page holds {count} objects, not {full}")
    path.write_text(json.dumps({k: v.decode() for k, v in fixtures.items()}))


def clear_created(server: Server, world: dict) -> None:
    """Removes the members a create + delete run left behind: wrk stops on time, between a
    thread's create and its delete."""
    if not server.name.startswith("roster-"):
        return
    path = f"/v1/organization/projects/{world['projects'][READ_PROJECTS]}/users"
    for member in json.loads(expect_ok(server, "GET", f"{path}?limit=100"))["data"]:
        expect_ok(server, "DELETE", f"{path}/{member['id']}")


def load(wrk: str, server: Server, scenario: str, world: dict, args) -> dict:
    threads = min(args.threads, args.concurrency)
    env = dict(os.environ, SCENARIO=scenario, THREADS=str(threads),
               MAX_REQUESTS=str(args.max_requests // threads), **scenario_env(world))

    last_output = [""]

    def once(seconds: float) -> dict:
        out = run([wrk, "-t", str(threads), "-c", str(args.concurrency), "-d", f"{int(seconds)}s",
                   "--timeout", "10s", "-s", str(LOAD_SCRIPT), server.url],
                  env=env, capture_output=True, text=True)
        last_output[0] = "\n".join(l for l in out.stdout.splitlines() if l.startswith("UNEXPECTED"))
        lines = [l for l in out.stdout.splitlines() if l.startswith("RESULT ")]
        if not lines:
            sys.exit(f"bench: wrk printed no result for {scenario}:\n{out.stdout}\n{out.stderr}")
        return json.loads(lines[-1][len("RESULT "):])

    once(args.warmup)
    clear_created(server, world)
    result = once(args.duration)
    clear_created(server, world)
    errors = sum(result["errors"].values())
    if errors:
        sys.exit(f"bench: {server.name} {scenario}: {result['errors']} errors in "
                 f"{result['requests']} requests:\n{last_output[0]}")
    if result["requests"] >= args.max_requests:
        log(f"  warning: {scenario} hit --max-requests before --duration; its rate is understated")
    per_second = result["requests"] / (result["duration_us"] / 1e6)
    # A create is one POST and its DELETE: creates per second are half the requests.
    if scenario == "create_delete":
        per_second /= 2
    return {"per_second": per_second, "p50_ms": result["p50_us"] / 1000,
            "p99_ms": result["p99_us"] / 1000, "requests": result["requests"]}


def nginx_server(nginx: str, name: str, site: str, port: int) -> Server:
    """nginx on `port` with `site` (a server block), its files under WORK/name."""
    prefix = WORK / name
    shutil.rmtree(prefix, ignore_errors=True)
    prefix.mkdir(parents=True)
    (prefix / "site.conf").write_text(site)
    (prefix / "nginx.conf").write_text(
        f"daemon off; user root; worker_processes 1; pid {prefix}/nginx.pid; "
        f"error_log {prefix}/error.log warn;\nevents {{}}\nhttp {{ access_log off; "
        f"client_body_temp_path {prefix}/body; proxy_temp_path {prefix}/proxy; "
        f"include {prefix}/site.conf; }}\n")
    server = Server.__new__(Server)
    server.name, server.port, server.url = name, port, f"http://127.0.0.1:{port}"
    server.log_path = prefix / "error.log"
    server.process = subprocess.Popen([nginx, "-p", str(prefix), "-c", str(prefix / "nginx.conf")],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.perf_counter() + 15
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if time.perf_counter() > deadline or server.process.poll() is not None:
                sys.exit(f"bench: {name} did not start; see {server.log_path}")
            time.sleep(0.02)
    server.ready_ms = 0.0
    return server


def gateway_overhead(wrk: str, db: Database, world: dict, args) -> dict:
    """A model request through nginx (one worker), straight to the model server (the floor),
    then with Roster asked first by the recipe in deploy/: what Roster adds to the request. One
    connection at a time, so that the difference is the added latency, not queueing on the two
    cores that nginx, Roster, the model server and wrk share."""
    args = argparse.Namespace(**{**vars(args), "concurrency": 1, "threads": 1})
    nginx = ensure_installed("nginx")
    fixtures = WORK / f"fixtures-{db.size}.json"
    upstream = Server("floor-model-server", [str(FLOOR), "{listen}", str(fixtures)])
    roster = start_roster(db)
    upstream_addr = upstream.url.removeprefix("http://")
    roster_addr = roster.url.removeprefix("http://")
    figures = {}
    try:
        plain = (f"server {{ listen {{port}}; location / {{ proxy_pass http://{upstream_addr}; "
                 f"proxy_http_version 1.1; proxy_set_header Connection \"\"; }} }}\n")
        recipe = (BENCH.parent / "deploy" / "nginx.conf").read_text() \
            .replace("127.0.0.1:8080", roster_addr).replace("127.0.0.1:8000", upstream_addr)
        for name, site in (("without", plain), ("with", recipe)):
            port = free_port()
            server = nginx_server(nginx, f"nginx-{name}-roster", site.replace("{port}", str(port))
                                  .replace("8088", str(port)), port)
            try:
                figures[name] = load(wrk, server, "through_gateway", world, args)
            finally:
                server.stop()
            log(f"  nginx {name} Roster: p50 {figures[name]['p50_ms']:.2f} ms "
                f"p99 {figures[name]['p99_ms']:.2f} ms")
    finally:
        roster.stop()
        upstream.stop()
    figures["added_p50_ms"] = figures["with"]["p50_ms"] - figures["without"]["p50_ms"]
    return figures


def scim_filters(db: Database, world: dict) -> dict:
    """Each of SCIM_FILTERS as a list of users (`count` 100), one request at a time on one
    connection: p50 and p99, and how many users matched."""
    made = run(roster_cmd(db, "scim", "token", "create", "--org", world["org_id"]),
               capture_output=True, text=True)
    token = made.stdout.strip().splitlines()[-1].strip()
    server = start_roster(db)
    k, j = world["users"] // 3, world["users"] // 5
    recent = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    figures = {}
    try:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        for name, template in SCIM_FILTERS.items():
            query = urllib.parse.urlencode({"filter": template.format(k=k, j=j, recent=recent),
                                            "count": 100})
            times = []
            for i in range(30 + SCIM_REQUESTS):
                started = time.perf_counter()
                conn.request("GET", f"/scim/v2/Users?{query}",
                             headers={"Authorization": f"Bearer {token}"})
                response = conn.getresponse()
                body = response.read()
                if response.status != 200:
                    sys.exit(f"bench: SCIM {name} answered {response.status}: {body[:300]!r}")
                if i >= 30:
                    times.append((time.perf_counter() - started) * 1000)
            times.sort()
            matched = json.loads(body)["totalResults"]
            figures[name] = {"p50_ms": statistics.median(times),
                             "p99_ms": times[int(len(times) * 0.99) - 1], "matched": matched}
            log(f"  SCIM {name}: {matched} matched, p50 {figures[name]['p50_ms']:.2f} ms "
                f"p99 {figures[name]['p99_ms']:.2f} ms")
        conn.close()
    finally:
        server.stop()
    return figures


def ready_ms(start) -> float:
    """Median start-to-ready of three starts."""
    times = []
    for _ in range(3):
        server = start()
        times.append(server.ready_ms)
        server.stop()
    return statistics.median(times)


def measure(wrk: str, server_start, scenarios: list[str], world: dict, args) -> dict:
    ready = ready_ms(server_start)
    server = server_start()
    try:
        figures = {}
        for scenario in scenarios:
            figures[scenario] = load(wrk, server, scenario, world, args)
            log(f"  {server.name} {scenario}: {figures[scenario]['per_second']:.0f}/s "
                f"p50 {figures[scenario]['p50_ms']:.2f} ms p99 {figures[scenario]['p99_ms']:.2f} ms")
        return {"scenarios": figures, "peak_rss_mb": server.peak_rss_mb(), "ready_ms": ready}
    finally:
        server.stop()


# --- report -----------------------------------------------------------------------------------

LABELS = {
    "retrieve": "retrieve a project user",
    "page_first": "page of 100 members, first",
    "page_deep": "page of 100 members, deep cursor",
    "create_delete": "create + delete a project user",
    "audit": "audit page of 20 (event_types[] + project_ids[])",
    "check_hit": "gateway check, cached key",
    "check_miss": "gateway check, first check of a key",
    "auth_hit": "forward auth, cached key",
}


def markdown(results: dict) -> str:
    meta = results["meta"]
    lines = [
        f"# Roster benchmark, {meta['date']}",
        "",
        f"{meta['machine']}; wrk at concurrency {meta['concurrency']}, {meta['duration_s']} s a "
        f"scenario after {meta['warmup_s']} s of warm-up, on 127.0.0.1. "
        "Throughput is requests per second (creates per second for create + delete: one POST "
        "and its DELETE); x floor is Roster's throughput over the floor's in the same scenario.",
        "",
        "| size | backend | scenario | throughput /s | x floor | p50 ms | p99 ms |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for size, by_server in results["sizes"].items():
        floor = by_server["floor"]["scenarios"]
        for backend in ("floor", "sqlite", "postgres"):
            if backend not in by_server:
                continue
            for scenario, f in by_server[backend]["scenarios"].items():
                ratio = f["per_second"] / floor[scenario]["per_second"]
                lines.append(f"| {int(size):,} | {backend} | {LABELS[scenario]} | "
                             f"{f['per_second']:,.0f} | {ratio:.2f} | {f['p50_ms']:.2f} | "
                             f"{f['p99_ms']:.2f} |")
    lines += ["", "| size | server | peak RSS MB | start to ready ms | seed s |", "|---|---|---:|---:|---:|"]
    for size, by_server in results["sizes"].items():
        for backend, r in by_server.items():
            seed_s = f"{r['seed_seconds']:.0f}" if "seed_seconds" in r else "-"
            lines.append(f"| {int(size):,} | {backend} | {r['peak_rss_mb']:.1f} | "
                         f"{r['ready_ms']:.1f} | {seed_s} |")
    if results.get("scim"):
        sizes = list(results["scim"])
        backends = list(results["scim"][sizes[0]])
        lines += ["", "A SCIM list of users (`count` 100) by each filter, one request at a time: p50 ms, "
                  "and how many users matched, at each size (users = memberships / 4):", "",
                  "| filter | " + " | ".join(f"{b} {int(s) // READ_PROJECTS:,} users"
                                              for s in sizes for b in backends) + " |",
                  "|---|" + "---:|" * (len(sizes) * len(backends))]
        for name in SCIM_FILTERS:
            cells = [f"{results['scim'][s][b][name]['p50_ms']:.2f} ({results['scim'][s][b][name]['matched']:,})"
                     for s in sizes for b in backends]
            lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
    if results.get("gateway"):
        lines += ["", "A model request through nginx (one worker) to a model server that answers at once, "
                  "without Roster and with it asked first (deploy/nginx.conf, the key cached), one "
                  "connection at a time:", "",
                  "| backend | p50 without ms | p50 with ms | Roster adds at p50 ms | p99 without ms | p99 with ms |",
                  "|---|---:|---:|---:|---:|---:|"]
        for backend, g in results["gateway"].items():
            lines.append(f"| {backend} | {g['without']['p50_ms']:.2f} | {g['with']['p50_ms']:.2f} | "
                         f"{g['added_p50_ms']:.2f} | {g['without']['p99_ms']:.2f} | {g['with']['p99_ms']:.2f} |")
    lines += ["", "## Targets", "", "| target | measured | met |", "|---|---|---|"]
    for target in results["targets"]:
        lines.append(f"| {target['target']} | {target['measured']} | "
                     f"{'yes' if target['met'] else '**no**'} |")
    return "\n".join(lines) + "\n"


def targets(results: dict, every_scenario: bool) -> list[dict]:
    """Each target met or missed: the scenarios' when every scenario was measured, SCIM's
    filters' when they were measured at two sizes."""
    checks = []

    def check(target: str, measured: str, met: bool) -> None:
        checks.append({"target": target, "measured": measured, "met": met})

    sizes = results["sizes"]
    small, large = str(min(map(int, sizes))), str(max(map(int, sizes)))
    if every_scenario:
        scenario_targets(sizes, small, large, results.get("gateway", {}), check)
    scim = results.get("scim", {})
    if small != large and small in scim and large in scim:
        for backend in scim[large]:
            for name in SCIM_FILTERS:
                p_small = scim[small][backend][name]["p50_ms"]
                p_large = scim[large][backend][name]["p50_ms"]
                check(f"{backend}: SCIM `{name}` p50 at {int(large) // READ_PROJECTS:,} users <= 1.5x at "
                      f"{int(small) // READ_PROJECTS:,}",
                      f"{p_large / p_small:.2f}x ({p_large:.2f} vs {p_small:.2f} ms)",
                      p_large <= 1.5 * p_small)
    return checks


def scenario_targets(sizes: dict, small: str, large: str, gateway: dict, check) -> None:
    """The targets of the wrk scenarios and of the request through nginx."""
    for size, by_server in sizes.items():
        floor = by_server["floor"]["scenarios"]
        for backend in ("sqlite", "postgres"):
            if backend not in by_server:
                continue
            r = by_server[backend]
            for scenario, minimum in TARGET_RATIO.items():
                ratio = r["scenarios"][scenario]["per_second"] / floor[scenario]["per_second"]
                check(f"{backend} {int(size):,}: {LABELS[scenario]} >= {minimum}x floor",
                      f"{ratio:.2f}x", ratio >= minimum)
            creates = r["scenarios"]["create_delete"]["per_second"]
            minimum = 10_000 if backend == "sqlite" else 5_000
            check(f"{backend} {int(size):,}: creates >= {minimum:,}/s", f"{creates:,.0f}/s",
                  creates >= minimum)
            check(f"{backend} {int(size):,}: ready <= 100 ms", f"{r['ready_ms']:.1f} ms",
                  r["ready_ms"] <= 100)
            hit = r["scenarios"]["check_hit"]["p99_ms"]
            check(f"{backend} {int(size):,}: {LABELS['check_hit']} p99 <= 2 ms", f"{hit:.2f} ms",
                  hit <= 2)
    for backend, g in gateway.items():
        check(f"{backend}: Roster adds <= {GATEWAY_TARGET_MS} ms at p50 to a request through nginx",
              f"{g['added_p50_ms']:.2f} ms", g["added_p50_ms"] <= GATEWAY_TARGET_MS)
    if small != large:
        for backend in ("sqlite", "postgres"):
            if backend not in sizes[large]:
                continue
            for scenario in ("page_first", "page_deep"):
                p_small = sizes[small][backend]["scenarios"][scenario]["p99_ms"]
                p_large = sizes[large][backend]["scenarios"][scenario]["p99_ms"]
                check(f"{backend}: {LABELS[scenario]} p99 at {int(large):,} <= 1.5x at {int(small):,}",
                      f"{p_large / p_small:.2f}x ({p_large:.2f} vs {p_small:.2f} ms)",
                      p_large <= 1.5 * p_small)
            miss = sizes[large][backend]["scenarios"]["check_miss"]["p99_ms"]
            check(f"{backend} {int(large):,}: {LABELS['check_miss']} p99 <= 10 ms", f"{miss:.2f} ms",
                  miss <= 10)
            rss = sizes[large][backend]["peak_rss_mb"]
            check(f"{backend}: peak RSS serving {int(large):,} <= 64 MB", f"{rss:.1f} MB", rss <= 64)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,1000000", help="project memberships, comma-separated")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--concurrency", type=int, default=16, help="open connections")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--duration", type=int, default=5, help="seconds measured a scenario")
    parser.add_argument("--warmup", type=int, default=1, help="seconds of warm-up a scenario")
    parser.add_argument("--max-requests", type=int, default=2_000_000, help="requests a scenario at most")
    parser.add_argument("--skip-build", action="store_true")
    parser.add_argument("--roster", type=Path, default=ROSTER, help="the roster binary to measure")
    parser.add_argument("--reuse-seed", action="store_true",
                        help="measure the organizations the last run seeded, if there")
    parser.add_argument("--output", default="latest", help="name of the results files")
    parser.add_argument("--extra", default="through_gateway,scim_filters",
                        help="also measure a request through nginx with and without Roster "
                             "(through_gateway), SCIM's list filters (scim_filters), or nothing ('')")
    args = parser.parse_args()
    global roster_binary
    roster_binary = args.roster.resolve()
    sizes = [int(s) for s in args.sizes.split(",")]
    backends = args.backends.split(",")
    scenarios = args.scenarios.split(",")

    wrk = ensure_installed("wrk")
    if not args.skip_build:
        build()
    WORK.mkdir(parents=True, exist_ok=True)
    results = {"meta": {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{os.cpu_count()} cores, {platform.machine()}, {platform.system()} {platform.release()}",
        "concurrency": args.concurrency, "duration_s": args.duration, "warmup_s": args.warmup,
        "wrk": subprocess.run([wrk, "-v"], capture_output=True, text=True).stdout.split("\n")[0],
    }, "sizes": {}}
    for size in sizes:
        by_server: dict[str, dict] = {}
        worlds = {backend: seeded(Database(backend, size), size, args.reuse_seed)
                  for backend in backends}
        fixtures = WORK / f"fixtures-{size}.json"
        first = Database(backends[0], size)
        server = start_roster(first)
        record_fixtures(server, worlds[backends[0]], fixtures)
        server.stop()
        log(f"floor, {size}")
        by_server["floor"] = measure(
            wrk, lambda: Server(f"floor-{size}", [str(FLOOR), "{listen}", str(fixtures)]),
            scenarios, worlds[backends[0]], args)
        for backend in backends:
            db = Database(backend, size)
            log(f"roster on {backend}, {size}")
            by_server[backend] = measure(wrk, lambda: start_roster(db), scenarios, worlds[backend], args)
            by_server[backend]["seed_seconds"] = worlds[backend]["seed_seconds"]
            if "through_gateway" in args.extra and size == sizes[0]:
                log(f"nginx with and without roster on {backend}, {size}")
                results.setdefault("gateway", {})[backend] = gateway_overhead(wrk, db, worlds[backend], args)
            if "scim_filters" in args.extra:
                log(f"SCIM filters on {backend}, {size}")
                results.setdefault("scim", {}).setdefault(str(size), {})[backend] = \
                    scim_filters(db, worlds[backend])
        results["sizes"][str(size)] = by_server
    results["targets"] = targets(results, every_scenario=set(scenarios) == set(SCENARIOS))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.output}.json").write_text(json.dumps(results, indent=2) + "\n")
    table = markdown(results)
    (RESULTS / f"{args.output}.md").write_text(table)
    print()
    print(table)
    log(f"wrote {RESULTS / (args.output + '.md')} and .json")


if __name__ == "__main__":
    main()
