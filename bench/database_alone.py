#!/usr/bin/env python3
"""How fast SQLite alone runs the retrieve and page queries, in-process and on one core, on an
organization `bench/run.py` seeded: the bound under any server's figures (bench/README.md).

    python3 bench/database_alone.py [size]     # default 1000000
"""

import json
import sqlite3
import sys
import time
from pathlib import Path

WORK = Path(__file__).resolve().parent.parent / "target" / "bench"
# The queries Roster runs (src/store/project_users.rs), as SQLite's own placeholders.
MEMBERS = ("SELECT u.id, u.name, u.email, pu.role, pu.added_at FROM project_users pu "
           "JOIN users u ON u.id = pu.user_id "
           "JOIN projects p ON p.id = pu.project_id AND p.archived_at IS NULL "
           "WHERE pu.org_id = ? AND pu.project_id = ?")
PAGE = MEMBERS + " ORDER BY pu.id LIMIT 101"
RETRIEVE = MEMBERS + " AND pu.user_id = ?"


def per_second(run, seconds: float = 3.0) -> float:
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        run(count)
        count += 1
    return count / (time.perf_counter() - started)


def main() -> None:
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    world = json.loads((WORK / f"world-sqlite-{size}.json").read_text())
    db = sqlite3.connect(WORK / f"sqlite-{size}" / "roster.db")
    org, project, users = world["org_id"], world["projects"][0], world["users"]
    page = per_second(lambda i: db.execute(PAGE, (org, project)).fetchall())
    retrieve = per_second(lambda i: db.execute(
        RETRIEVE, (org, project, f"user-{i * 7919 % users:026d}")).fetchall())
    print(f"SQLite alone, {size:,} memberships: page of 100 {page:,.0f}/s, "
          f"retrieve {retrieve:,.0f}/s (one core, in-process)")


if __name__ == "__main__":
    main()
