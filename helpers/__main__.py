"""Command line: `python -m helpers serve --port 8000` runs the local server in the foreground.

Other commands: `python -m helpers check-recordings` validates every recording file; `check`, `grade` and
`labsteps` are the classroom's (helpers/classroom.py).
"""
from __future__ import annotations

import argparse
import sys

# nbformat validates with jsonschema, which on import compiles the grammar of an optional IRI checker (the
# rfc3987-syntax package, brought by Jupyter's own dependencies) for about two seconds. Notebooks never use that
# format, so these commands (`check` runs once per exercise on a lab platform) do without it.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

from . import classroom  # noqa: E402
from .recordings import RecordingIndex  # noqa: E402
from .server import KimiServer  # noqa: E402
from .settings import REPLAY_API_KEY, SettingsError, load_settings  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers", description="Kimi course helpers")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the local Kimi-compatible server in the foreground")
    serve.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (0 = any free port)")
    serve.add_argument("--mode", choices=["replay", "record", "passthrough"], default="replay")
    serve.add_argument("--pace", type=float, default=None, help="stream pacing: 1 = as recorded, 0 = instant")
    sub.add_parser("check-recordings", help="load every recording and report problems")
    classroom.add_commands(sub)
    args = parser.parse_args(argv)
    if args.command in classroom.COMMANDS:
        return classroom.run(args)

    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.command == "check-recordings":
        try:
            index = RecordingIndex.load(settings.recordings_dir)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        print(f"{len(index)} recordings OK in {settings.recordings_dir}")
        return 0

    pace = settings.replay_pace if args.pace is None else args.pace
    try:
        server = KimiServer(args.mode, settings.recordings_dir, upstream=settings.base_url, pace=pace, port=args.port)
    except OSError as exc:
        print(f"error: cannot listen on 127.0.0.1:{args.port} ({exc.strerror}); try another --port", file=sys.stderr)
        return 2
    except ValueError as exc:  # a forwarding server whose upstream is itself
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"Local Kimi server ({args.mode}) on {server.base_url}", flush=True)
    if args.mode == "replay":
        print("  Try it from another terminal (these settings are for that terminal's curl, not for .env):", flush=True)
        print(f"  curl {server.base_url}/models -H 'Authorization: Bearer {REPLAY_API_KEY}'", flush=True)
    else:
        print(f"  forwarding to {settings.base_url}", flush=True)
    print("  Ctrl-C to stop.", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
