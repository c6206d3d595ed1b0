"""Command line of the standalone fake: ``python -m tests.fakes.fake_tmdb --port 0 --print-port``.

Every ``FaultConfig`` field is a flag (``rate_limit`` -> ``--rate-limit``; booleans get
``--no-...`` to turn them off; tuples take comma-separated values), so the CLI never lags
behind the knobs.  The process serves until SIGTERM/SIGINT, then exits 0.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .fake_tmdb import DEFAULT_API_KEY, DEFAULT_BEARER_TOKEN, FakeTmdb
from .tmdb_traffic import FaultConfig


def _tuple_of(kind: type) -> Callable[[str], tuple[Any, ...]]:
    def parse(text: str) -> tuple[Any, ...]:
        return tuple(kind(p.strip()) for p in text.split(",") if p.strip())

    return parse


def _add_fault_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("faults and limits (also settable via POST /_control)")
    for f in dataclasses.fields(FaultConfig):
        flag = "--" + f.name.replace("_", "-")
        default = f.default
        if isinstance(default, bool):
            off = "--no-" + f.name.replace("_", "-")
            group.add_argument(flag, dest=f.name, action="store_true", default=None)
            group.add_argument(off, dest=f.name, action="store_false")
        elif isinstance(default, tuple):
            kind = type(default[0]) if default else str
            group.add_argument(flag, dest=f.name, type=_tuple_of(kind), metavar="A,B,..",
                               help=f"default {','.join(map(str, default))}")
        elif default is None:  # retry_after: int | None
            group.add_argument(flag, dest=f.name, type=int, help="default: computed")
        else:
            group.add_argument(flag, dest=f.name, type=type(default), help=f"default {default}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.fake_tmdb",
                                     description="Fake TMDB v3 API + image host on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=0, help="0 = any free port (default)")
    parser.add_argument("--print-port", action="store_true",
                        help="print the port as the first stdout line once listening")
    parser.add_argument("--port-file", type=Path, help="also write the port to this file")
    parser.add_argument("--catalog", type=Path, action="append", default=[],
                        help="JSON catalog to load (repeatable)")
    parser.add_argument("--no-auto", dest="auto", action="store_false",
                        help="only the catalog: unknown titles and ids are not synthesised")
    parser.add_argument("--decoys", type=int, default=0, help="decoy results per auto search")
    parser.add_argument("--auto-seasons", type=int, default=15)
    parser.add_argument("--auto-episodes", type=int, default=30)
    parser.add_argument("--api-key", action="append", default=[], dest="api_keys",
                        help=f"valid key/token, repeatable (default {DEFAULT_API_KEY} and "
                             f"{DEFAULT_BEARER_TOKEN})")
    parser.add_argument("--seed", type=int, default=0)
    _add_fault_flags(parser)
    return parser


def _fake_from_args(args: argparse.Namespace) -> FakeTmdb:
    faults = {f.name: getattr(args, f.name) for f in dataclasses.fields(FaultConfig)
              if getattr(args, f.name) is not None}
    fake = FakeTmdb(port=args.port, auto=args.auto, decoys=args.decoys,
                    auto_seasons=args.auto_seasons, auto_episodes=args.auto_episodes,
                    api_keys=args.api_keys or (DEFAULT_API_KEY, DEFAULT_BEARER_TOKEN),
                    seed=args.seed, **faults)
    for path in args.catalog:
        fake.catalog.load(path)
    return fake


def _write_port_file(path: Path, port: int) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(f"{port}\n")
    os.replace(tmp, path)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        fake = _fake_from_args(args).start()
    except (ValueError, OSError) as exc:
        print(f"fake_tmdb: {exc}", file=sys.stderr)
        return 2
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    if args.port_file:
        _write_port_file(args.port_file, fake.port)
    if args.print_port:
        print(fake.port, flush=True)
    print(f"fake TMDB serving {fake.url} (images {fake.image_url})", file=sys.stderr, flush=True)
    try:
        while not done.wait(0.5):
            pass
    finally:
        fake.stop()
    return 0
