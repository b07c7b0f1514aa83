"""`scoresby search`: an area and a date range to a scene list, from any STAC API (pystac-client)."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

from scoresby.core.errors import EXIT_INVALID, EXIT_OK, InvalidInput, one_line
from scoresby.options import Subparsers, output_option, products_option

HELP_ORDER = 40
"""Where `scoresby --help` lists this command."""


def add_parser(sub: Subparsers) -> None:
    """`scoresby search`: its parser, run by `search_command`."""
    se = sub.add_parser("search", help="find scenes by area and dates in a STAC API; prints a scene list")
    se.add_argument(
        "--stac", required=True, metavar="URL|PRESET", help="earth-search, landsatlook or an https:// URL"
    )
    se.add_argument("--collection", required=True, action="append", metavar="NAME", help="repeat for several")
    se.add_argument("--bbox", metavar="W,S,E,N", help="area in degrees")
    se.add_argument("--aoi", metavar="AREA.geojson", help="area as a GeoJSON geometry or feature")
    se.add_argument("--datetime", required=True, metavar="START/END", help="e.g. 2013-04-01/.. (open end)")
    se.add_argument("--max-cloud", type=float, metavar="PCT", help="only items with eo:cloud_cover <= PCT")
    se.add_argument("--limit", type=int, metavar="N", help="at most N items")
    se.add_argument(
        "--allow-host",
        action="append",
        metavar="HOST",
        help="a private host, IP or network the API's assets may name (repeat; also SCORESBY_ALLOW_HOSTS)",
    )
    se.add_argument("--timeout", type=float, metavar="S", help="per-request timeout in seconds (default 30)")
    products_option(se, "products of the list (default: the defaults)")
    output_option(se, "output of the list (local folder or s3:// prefix)")
    se.add_argument("-o", metavar="SCENES.json", help="write the list to a file instead of stdout")
    se.set_defaults(func=search_command)


def search_command(args: Any) -> int:
    """Print (or write with -o) the scene list of every matching item; 2 for bad flags or a failed search."""
    # urllib3 logs every retry of an unreachable API; the one error line below says what went wrong.
    logging.getLogger("urllib3").setLevel(logging.ERROR)
    from scoresby.core.scene_list import parse_scene_list
    from scoresby.search.client import SearchError
    from scoresby.search.plan import searched_list

    logging.getLogger("scoresby.search.client").setLevel(logging.ERROR)  # skipped Items: written below
    try:
        spec = _spec(args)
        products = [p.strip() for p in args.products.split(",")] if args.products else None
        doc, skipped = searched_list(
            spec,
            output=args.output,
            defaults={"products": products} if products else None,
            progress=_progress,
        )
        if doc["scenes"]:
            parse_scene_list(doc)  # the list we hand out must be one `scoresby run` accepts
    except InvalidInput as exc:
        sys.stderr.write("\n".join(f"scoresby search: {p}" for p in exc.problems) + "\n")
        return EXIT_INVALID
    except SearchError as exc:
        sys.stderr.write(f"scoresby search: {one_line(exc)}\n")
        return EXIT_INVALID
    n = len(doc["scenes"])
    sys.stderr.write("".join(f"scoresby search: {note}\n" for note in skipped))
    sys.stderr.write(
        f"scoresby search: {n} scene{'s' if n != 1 else ''} found"
        + (f", {len(skipped)} item{'s' if len(skipped) != 1 else ''} skipped" if skipped else "")
        + (" (nothing matched: the list is empty)" if n == 0 and not skipped else "")
        + (" (the list is empty)" if n == 0 and skipped else "")
        + "\n"
    )
    text = json.dumps(doc, indent=2) + "\n"
    if args.o:
        Path(args.o).write_text(text, encoding="utf-8")
        sys.stderr.write(f"scoresby search: scene list written to {args.o}\n")
    else:
        sys.stdout.write(text)
    return EXIT_OK


def _spec(args: Any) -> Any:
    """The search flags as one validated SearchSpec (InvalidInput lists every bad flag)."""
    from scoresby.core.search import check_search, parse_bbox

    problems: list[str] = []
    block: dict[str, Any] = {"stac": args.stac, "collections": args.collection, "datetime": args.datetime}
    if args.bbox is not None and args.aoi is not None:
        problems.append("--bbox and --aoi: give one of them")
    elif args.bbox is not None:
        block["bbox"] = parse_bbox(args.bbox, "--bbox", problems)
    elif args.aoi is not None:
        block["intersects"] = _read_aoi(args.aoi, problems)
    if args.max_cloud is not None:
        block["max_cloud"] = args.max_cloud
    if args.limit is not None:
        block["limit"] = args.limit
    if args.allow_host:
        block["allow_hosts"] = args.allow_host
    if args.timeout is not None:
        block["timeout"] = args.timeout
    spec = None if problems else check_search(block, "search", problems)
    if spec is None:
        flags = {
            "search.max_cloud": "--max-cloud",
            "search.collections": "--collection",
            "search.allow_hosts": "--allow-host",
            "search.": "--",
        }
        raise InvalidInput([_flag_names(p, flags) for p in problems])
    return spec


def _flag_names(problem: str, flags: dict[str, str]) -> str:
    """A search-block problem worded with the CLI's flag names."""
    for field, flag in flags.items():
        problem = problem.replace(field, flag)
    return problem.replace("search: ", "")


def _read_aoi(path: str, problems: list[str]) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        problems.append(f"--aoi: cannot read {path!r} as GeoJSON ({one_line(exc)})")
        return None


def _progress(count: int) -> None:
    sys.stderr.write(f"scoresby search: {count} items so far\n")
