"""The `tracker` command: serve a config, check it, create sink schemas, prune (GDPR), manage accounts."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from tracker import __version__, logs
from tracker.config import Config, ConfigError, load, replace, split_bind

log = logging.getLogger("tracker.cli")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="tracker",
        description="Edge server and analytics tracker.",
        epilog="tracker accounts add|disable|remove UID [CONFIG] [--password-stdin]: manage short-link admin accounts. "
        "tracker dead-letter list|replay SINK [CONFIG]: show a sink's dead-lettered rows or offer them again.",
    )
    p.add_argument("config", nargs="?", default="./config.json", help="path to config.json (default ./config.json)")
    p.add_argument("--version", action="version", version=f"tracker {__version__}")
    p.add_argument("--check-config", action="store_true", help="validate the config and exit (0 ok, 2 bad)")
    p.add_argument("--init-schema", action="store_true", help="create the tables of every enabled sink and exit")
    p.add_argument("--prune", action="store_true", help="apply the Prune rules of every sink and exit")
    p.add_argument("--logs-only", action="store_true", help="with --prune: only prune logs")
    p.add_argument(
        "--erase",
        metavar="VID|UID",
        help="erase one person's rows in every sink and exit: a UUID (vid and uid columns), vid:UUID or uid:UUID",
    )
    p.add_argument("--bind", metavar="HOST:PORT", help="override ProxyPort")
    p.add_argument("--port", type=int, help="override the port of ProxyPort")
    p.add_argument("--workers", type=int, help="override Workers")
    p.add_argument("--server", choices=("hypercorn", "granian"), help="override Server (the HTTP engine)")
    p.add_argument("--spool", metavar="DIR", help="override SpoolDirectory")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["accounts"]:
        from tracker.redirects import accounts_cli

        return accounts_cli.main(argv[1:])
    if argv[:1] == ["dead-letter"]:
        from tracker.pipeline import deadletter_cli

        return deadletter_cli.main(argv[1:])
    args = parser().parse_args(argv)
    try:
        config = _with_overrides(load(args.config), args)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    logs.setup("debug" if config.debug else "info")
    for path in config.unsupported:
        log.warning("config key accepted but not supported yet", extra={"key": path, "source": config.source})
    if args.check_config:
        return _check_engine(config) or _check_sinks(config)
    if args.init_schema:
        return asyncio.run(_init_schema(config))
    if args.prune or args.erase:
        return _privacy(config, args)
    from tracker.server import serve

    return serve(config)


def _with_overrides(config: Config, args: argparse.Namespace) -> Config:
    changes: dict[str, object] = {}
    if args.bind:
        changes["proxy_port"] = args.bind
    if args.port is not None:
        host, _ = split_bind(config.proxy_port)
        changes["proxy_port"] = f"{host}:{args.port}"
    if args.workers is not None:
        changes["workers"] = args.workers
    if args.server:
        changes["server"] = args.server
    if args.spool:
        changes["spool_directory"] = args.spool
    if not changes:
        return config
    from tracker.config import validate

    updated = replace(config, **changes)
    validate(updated)
    return updated


def _check_engine(config: Config) -> int:
    """The engine is installed; print one line per feature it cannot do as configured (never silently)."""
    from tracker.server.engine import engine_for

    try:
        engine = engine_for(config)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    for line in engine.limitations(config):
        print(line)
    return 0


def _check_sinks(config: Config) -> int:
    """Build every enabled sink (without connecting): its name is registered and its libraries import."""
    from tracker.sinks.registry import build_sinks

    try:
        build_sinks(config)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    print(f"{config.source}: ok")
    return 0


async def _init_schema(config: Config) -> int:
    from tracker.sinks.registry import build_sinks, schema_owner

    for sink in build_sinks(config):
        owner = schema_owner(sink)
        if owner is None:
            await sink.open()
        else:
            await owner.init_schema()
        await sink.close()
        print(f"{sink.name}: schema ready")
    return 0


def _privacy(config: Config, args: argparse.Namespace) -> int:
    from tracker.privacy import erase_cli, prune_cli

    try:
        if args.erase:
            return asyncio.run(erase_cli.run(config, args.erase))
        return asyncio.run(prune_cli.run(config, args.logs_only or config.prune_logs_only))
    except KeyboardInterrupt:
        return prune_cli.INTERRUPTED
