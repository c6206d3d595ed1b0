"""Command line: argument parsing only; the work happens in the modules it calls."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence

from sidecar import __version__
from sidecar.errors import ConfigError

EXIT_OK, EXIT_CONFIG = 0, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scanarr", description="TMDB metadata beside every movie and episode, "
        "for Plex and Jellyfin. Settings come from SCANARR_* environment variables.")
    parser.add_argument("--version", action="version", version=f"scanarr {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="web app, webhooks, scheduler and workers")
    serve.add_argument("--host", default="0.0.0.0", help="address to listen on (default 0.0.0.0)")
    serve.add_argument("--port", type=int, default=8765, help="port (default 8765)")

    scan = commands.add_parser("scan", help="one scan to completion")
    scan.add_argument("--mode", choices=("quick", "refresh", "full"), default="quick")
    scan.add_argument("paths", nargs="*", metavar="PATH",
                      help="only these files or folders (inside the library roots)")

    status = commands.add_parser("status", help="counts by state, queue, last scans, errors")
    status.add_argument("--json", action="store_true", help="machine-readable output")

    match = commands.add_parser("match", help="fix a match: give a file its TMDB id")
    match.add_argument("path", help="the video file")
    match.add_argument("tmdb_id", type=int, help="TMDB id of the movie or show")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return _dispatch(args)
    except ConfigError as exc:
        print(f"scanarr: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130


def _dispatch(args: argparse.Namespace) -> int:
    from sidecar import commands

    if args.command == "serve":
        return commands.serve(args.host, args.port)
    if args.command == "scan":
        return commands.scan(args.mode, args.paths)
    if args.command == "status":
        report = commands.status()
        print(json.dumps(report, indent=2) if args.json else commands.format_status(report))
        return EXIT_OK
    return commands.match(args.path, args.tmdb_id)


if __name__ == "__main__":
    sys.exit(main())
