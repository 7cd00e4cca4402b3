"""``nasbench data``: convert, download, inspect and query tables."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from benchmark.errors import InputError

from .util import command, command_group, folder_path


def register(groups: argparse._SubParsersAction) -> None:
    sub = command_group(groups, "data", "the table: convert, download, info, verify, query",
                        "NAS-Bench-101 tables and stores.")

    c = command(sub, "convert", "convert an official .tfrecord into a store", cmd_convert,
                "nasbench data convert nasbench_only108.tfrecord",
                "nasbench data convert nasbench_full.tfrecord --out ~/nb101-full")
    c.add_argument("src", type=Path, help="nasbench_full.tfrecord or nasbench_only108.tfrecord")
    c.add_argument("--out", type=folder_path,
                   help="store directory (default: <src>.store beside it)")

    d = command(sub, "download", "download the official file, verify, convert", cmd_download,
                "nasbench data download --only108 --dir ~/nb101")
    which = d.add_mutually_exclusive_group()
    which.add_argument("--full", dest="which", action="store_const", const="full",
                       help="nasbench_full.tfrecord (~1.95 GB, budgets 4/12/36/108)")
    which.add_argument("--only108", dest="which", action="store_const", const="only108",
                       help="nasbench_only108.tfrecord (~499 MB; the default)")
    d.set_defaults(which="only108")

    f = command(sub, "cifar10", "download the official CIFAR-10 python tarball, verified",
                cmd_cifar10, "nasbench data cifar10 --dir ~/data")
    for download in (d, f):
        download.add_argument("--dir", type=Path, default=Path("."),
                              help="download folder (default: .)")
        download.add_argument("--url", help="override the download URL (mirrors, tests)")
        download.add_argument("--sha256", help="override the expected SHA256 (with --url)")

    i = command(sub, "info", "summary of a store", cmd_info,
                "nasbench data info ~/nb101/nasbench_only108.store", "nasbench data info surrogate")
    i.add_argument("store", nargs="?", default="surrogate",
                   help="store directory, .tfrecord, or 'surrogate' (the embedded table, default)")

    v = command(sub, "verify", "re-check every array of a store against its manifest's SHA256",
                cmd_verify, "nasbench data verify ~/nb101/nasbench_only108.store")
    v.add_argument("store", type=Path, help="store directory")

    q = command(sub, "query", "metrics of one cell as JSON", cmd_query,
                "nasbench data query --hash 28cfc7874f6d200472e1a9dcd8650aa0 --data surrogate",
                "nasbench data query --matrix '[[0,1],[0,0]]' --ops input,output --epochs 12")
    key = q.add_mutually_exclusive_group(required=True)
    key.add_argument("--hash", help="module hash")
    key.add_argument("--matrix", help="adjacency as JSON (with --ops)")
    q.add_argument("--ops", help="comma-joined ops, with input and output")
    q.add_argument("--epochs", type=int, help="budget (default: every budget of the store)")
    q.add_argument("--data", default="surrogate", type=folder_path,
                   help="store, .tfrecord or 'surrogate'")


def open_table(name: str):
    """``surrogate`` (the embedded table) or a path to a store / official file."""
    from benchmark import NASBench

    if str(name) == "surrogate":
        return NASBench.surrogate()
    return NASBench(name)


def cmd_convert(args: argparse.Namespace) -> int:
    from benchmark.data.convert import convert

    out = convert(args.src, args.out)
    print(out)
    return 0


def cmd_download(args: argparse.Namespace) -> int:
    from benchmark.data.download import download

    print(download(args.which, args.dir, url=args.url, sha256=args.sha256))
    return 0


def cmd_cifar10(args: argparse.Namespace) -> int:
    """The trainer's input; its URL and checksum live in ``trainer.cifar`` (no Keras import)."""
    from benchmark.data.download import fetch
    from trainer.cifar import OFFICIAL_SHA256, OFFICIAL_URL

    if args.sha256 and not args.url:
        raise InputError("--sha256 only goes with --url")
    url = args.url or OFFICIAL_URL
    print(fetch(url, args.dir / Path(url).name, args.sha256 or OFFICIAL_SHA256))
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    nb = open_table(args.store)
    m = nb.manifest
    info = {"store": str(nb.path), "kind": nb.label,
            "cells": len(nb), "budgets": nb.budgets, "repeats": m["num_repeats"],
            "complete": m["complete"], "source": m.get("source"), **m.get("optima", {})}
    print(json.dumps(info, indent=2))
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from benchmark.data.store import open_store

    store = open_store(args.store, verify=True)
    print(f"{store.path}: {len(store.manifest['files'])} arrays match their SHA256")
    return 0


def cmd_query(args: argparse.Namespace) -> int:
    from .space import parse_spec

    nb = open_table(args.data)
    if args.hash:
        fixed, computed = nb.get_metrics_from_hash(args.hash)
    else:
        if not args.ops:
            raise InputError("--matrix needs --ops")
        fixed, computed = nb.get_metrics_from_spec(parse_spec(args.matrix, args.ops))
    if args.epochs is not None:
        if args.epochs not in computed:
            raise InputError(f"--epochs {args.epochs} not in this store's budgets {nb.budgets}")
        computed = {args.epochs: computed[args.epochs]}
    rows = fixed["module_adjacency"].tolist()
    fixed["module_adjacency"] = "@matrix@"   # printed below as one row per line, still JSON
    text = json.dumps({**fixed, "runs": {str(k): v for k, v in computed.items()}}, indent=2)
    print(text.replace('"@matrix@"', "[\n" + ",\n".join(f"    {json.dumps(r)}" for r in rows)
                       + "\n  ]"))
    return 0
