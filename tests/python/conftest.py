"""Starts the real `roster` binary for each test and hands out official-SDK clients whose every
response is validated against the contract."""

import json
import os
import pathlib
import subprocess
import tempfile
import time

import openai
import pytest

import contract

ROOT = pathlib.Path(__file__).resolve().parents[2]
BINARY = pathlib.Path(os.environ.get("ROSTER_BIN", ROOT / "target" / "debug" / "roster"))
BOOTSTRAP_KEY = "sk-admin-pythonsuite000000000000000000000000000000"


class Database:
    """The database of one server: SQLite in its data directory, or, with
    ROSTER_TEST_BACKEND=postgres, a PostgreSQL database of its own on ROSTER_TEST_POSTGRES_URL's
    server, dropped when the server stops."""

    created = 0

    def __init__(self):
        self.url = None
        if os.environ.get("ROSTER_TEST_BACKEND") != "postgres":
            return
        admin_url = os.environ.get("ROSTER_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")
        Database.created += 1
        self.admin_url, self.name = admin_url, f"roster_py_{os.getpid()}_{Database.created}"
        # ICU's en-US collation, as the Rust suite's databases (tests/it/common/mod.rs): no
        # result may rest on the C order of this machine's cluster.
        self._psql(f"CREATE DATABASE {self.name} TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US'")
        self.url = admin_url.rsplit("/", 1)[0] + "/" + self.name

    def _psql(self, command):
        subprocess.run(["psql", self.admin_url, "-q", "-c", command], check=True, capture_output=True)

    def drop(self):
        if self.url:
            self._psql(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")


class Roster:
    """A running `roster serve` on an ephemeral port."""

    def __init__(self, data_dir, **extra_env):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ROSTER_", "OPENAI_"))}
        env.update(ROSTER_BOOTSTRAP_ADMIN_KEY=BOOTSTRAP_KEY, ROSTER_LOG_FORMAT="json", ROSTER_DATA_DIR=str(data_dir))
        self.database = Database()
        if self.database.url:
            env["ROSTER_DATABASE_URL"] = self.database.url
        env.update(extra_env)
        self.data_dir = pathlib.Path(data_dir)
        self.log_path = pathlib.Path(data_dir).with_suffix(".log")
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [str(BINARY), "serve", "--listen", "127.0.0.1:0"], env=env, stdout=subprocess.DEVNULL, stderr=self.log
        )
        self.key = BOOTSTRAP_KEY
        self.base_url = self._wait_for_address()

    def _wait_for_address(self):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            for line in self.log_path.read_text().splitlines():
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if entry.get("fields", {}).get("message") == "roster is serving":
                    return "http://" + entry["fields"]["addr"]
            if self.process.poll() is not None:
                raise RuntimeError("roster exited: " + self.log_path.read_text())
            time.sleep(0.02)
        raise RuntimeError("roster did not start: " + self.log_path.read_text())

    def client(self, key=None, **options):
        """The official SDK, changed only in its base URL."""
        http_client = openai.DefaultHttpxClient(event_hooks={"response": [validate_response]})
        return openai.OpenAI(
            admin_api_key=key or self.key,
            base_url=self.base_url + "/v1",
            http_client=http_client,
            _strict_response_validation=True,
            **options,
        )

    def stop(self):
        self.process.terminate()
        try:
            assert self.process.wait(timeout=15) == 0, "roster exits 0 on SIGTERM"
        finally:
            self.log.close()
            self.database.drop()


def validate_response(response):
    response.read()
    request = response.request
    body = response.json() if response.headers.get("content-type", "").startswith("application/json") else None
    if body is not None:
        contract.validate(request.method, request.url.path, response.status_code, body)


@pytest.fixture
def roster():
    with tempfile.TemporaryDirectory() as tmp:
        server = Roster(pathlib.Path(tmp) / "data")
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture
def start_roster():
    """Starts servers with extra environment; stops them all at the end."""
    servers = []
    with tempfile.TemporaryDirectory() as tmp:

        def start(**extra_env):
            server = Roster(pathlib.Path(tmp) / f"data{len(servers)}", **extra_env)
            servers.append(server)
            return server

        try:
            yield start
        finally:
            for server in servers:
                server.stop()


@pytest.fixture
def client(roster):
    with roster.client(max_retries=0) as c:
        yield c


@pytest.fixture(scope="session", autouse=True)
def record_coverage():
    """Writes the operations this suite exercised to target/coverage/python.txt, which
    scripts/coverage.py reads to keep the README's coverage table true."""
    yield
    out = ROOT / "target" / "coverage"
    out.mkdir(parents=True, exist_ok=True)
    (out / "python.txt").write_text("".join(f"{op}\n" for op in sorted(contract.EXERCISED)))
