"""The presenter's command alone: CPU and wall time per `PUT /api/v1/sessions/{id}/state`.

No screens, no sockets: the app runs in this process behind Starlette's TestClient, on a
fresh SQLite file, so the figure is the command path itself (HTTP layers, auth, the
write, publish) and, as CPU time of every thread of the process, moves less than wall
time when other work shares the cores. Compare builds by running it from each tree
(`cd other-tree && /path/to/.venv/bin/python -m bench.fanout_command`).

    .venv/bin/python -m bench.fanout_command             # 5 rounds of 200 commands
    .venv/bin/python -m bench.fanout_command --smoke     # CI: 1 round of 20
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from types import TracebackType

import httpx


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--commands", type=int, default=200, help="per round")
    parser.add_argument("--smoke", action="store_true", help="CI: 1 round of 20")
    args = parser.parse_args()
    if args.smoke:
        args.rounds, args.commands = 1, 20
    tmp = tempfile.mkdtemp(prefix="diemcau-command-")
    from bench import fanout

    os.environ.update({
        "DIEMCAU_DATABASE_URL": f"sqlite:///{tmp}/bench.db", "DIEMCAU_DATA_DIR": f"{tmp}/var",
        "DIEMCAU_ADMIN_PASSWORD": fanout.ADMIN_PASSWORD, "DIEMCAU_ENV": "development"})
    from starlette.testclient import TestClient

    from app.config import get_settings
    from app.main import create_app
    from app.migrate import upgrade

    get_settings.cache_clear()
    upgrade(get_settings().database_url)
    with TestClient(create_app()) as client:
        stage = fanout.prepare_diemcau("http://testserver", slides=40,
                                        client=_Borrowed(client))
        client.headers.update(stage.headers)
        url = f"/api/v1/sessions/{stage.session_id}/state"
        for i in range(50):  # first-use caches
            client.put(url, json={"slide": 1 + i % 40}).raise_for_status()
        rounds = []
        for _ in range(args.rounds):
            cpu, wall = time.process_time(), time.perf_counter()
            for i in range(args.commands):
                client.put(url, json={"slide": 1 + i % 40}).raise_for_status()
            rounds.append(((time.process_time() - cpu) * 1000 / args.commands,
                           (time.perf_counter() - wall) * 1000 / args.commands))
    rounds.sort()
    print(f"PUT /sessions/{{id}}/state, {args.rounds} rounds of {args.commands} (sorted, ms "
          f"per command): CPU {' '.join(f'{c:.2f}' for c, _ in rounds)} | wall "
          f"{' '.join(f'{w:.2f}' for _, w in rounds)}")


class _Borrowed:
    """The TestClient as `prepare_diemcau`'s `with httpx.Client(...)`, left open."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def __enter__(self) -> httpx.Client:
        return self.client

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        return None


if __name__ == "__main__":
    main()
