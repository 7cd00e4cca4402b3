"""``nasbench train`` and ``nasbench build-table``: the real training pipeline (trainer extra)."""
from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from benchmark.errors import InputError

from .util import examples

log = logging.getLogger("nasbench")

INCEPTION = ("'[[0,1,1,1,0,1,0],[0,0,0,0,0,0,1],[0,0,0,0,0,0,1],[0,0,0,0,1,0,0],"
             "[0,0,0,0,0,0,1],[0,0,0,0,0,0,1],[0,0,0,0,0,0,0]]' "
             "--ops input,conv1x1-bn-relu,conv3x3-bn-relu,conv3x3-bn-relu,conv3x3-bn-relu,"
             "maxpool3x3,output")


def register(groups: argparse._SubParsersAction) -> None:
    t = groups.add_parser("train", help="train one cell for real and print its metrics",
                          **examples(f"nasbench train --matrix {INCEPTION} --dry-run",
                                     f"nasbench train --matrix {INCEPTION} --epochs 4 "
                                     "--data cifar-10-python.tar.gz --mixed-precision",
                                     "nasbench train --matrix '[[0,1],[0,0]]' --ops input,output"
                                     " --epochs 4 --data ../shared/data/cifar10 --tiny"))
    t.add_argument("--matrix", required=True, help="adjacency as JSON, rows are sources")
    t.add_argument("--ops", required=True, help="comma-joined ops, with input and output")
    t.add_argument("--epochs", type=int, default=4, help="budget: 4, 12, 36 or 108 (default 4)")
    t.add_argument("--seed", type=int, default=0, help="seed of weights and data order")
    t.add_argument("--record", type=Path,
                   help="also write the run as a one-record official .tfrecord")
    t.add_argument("--dry-run", action="store_true",
                   help="build the network, print its trainable parameter count, exit")
    _config_arguments(t)
    t.set_defaults(func=cmd_train)

    b = groups.add_parser("build-table", help="train many cells into an official-format table",
                          **examples("nasbench build-table --sample 100 --epochs 4,12,36,108 "
                                     "--repeats 3 --data cifar-10-python.tar.gz --out nb-new "
                                     "--ray-address auto",
                                     "nasbench build-table --cells cells.json --epochs 4 "
                                     "--data ../shared/data/cifar10 --out tiny --tiny"))
    which = b.add_mutually_exclusive_group(required=True)
    which.add_argument("--cells", type=Path, help="JSON (or .json.gz) list of {matrix, ops}")
    which.add_argument("--sample", type=int, help="this many cells drawn uniformly at random")
    b.add_argument("--epochs", default="4,12,36,108", help="budgets (default 4,12,36,108)")
    b.add_argument("--repeats", type=int, default=3, help="runs per cell and budget (default 3)")
    b.add_argument("--seed", type=int, default=0, help="seed of the sample and of every run")
    b.add_argument("--out", type=Path, required=True, help="build folder (resumable)")
    b.add_argument("--ray-address", help="'local' (Ray on 127.0.0.1), 'auto' or ray://host:port;"
                                         " default: train in this process")
    b.add_argument("--force", action="store_true", help="replace a build with another plan")
    _config_arguments(b)
    b.set_defaults(func=cmd_build_table)


def _config_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", help="CIFAR-10: cifar-10-python.tar.gz (nasbench data cifar10 "
                                  "downloads it), its folder, or an image folder / tarball")
    p.add_argument("--tiny", action="store_true",
                   help="tiny network and data for CPU smoke tests (16 channels, 1 cell per "
                        "stack, 2,000 training images)")
    p.add_argument("--train-images", type=int, help="use only this many training images")
    p.add_argument("--eval-images", type=int, help="evaluate on this many images per split")
    p.add_argument("--mixed-precision", action="store_true", help="bfloat16 compute")
    p.add_argument("--no-xla", action="store_true", help="do not compile with XLA")
    p.add_argument("--steps-per-execution", type=int, default=1,
                   help="training steps per compiled call (default 1)")
    from trainer.config import DEVICE_KINDS

    p.add_argument("--device", choices=DEVICE_KINDS,
                   help="train on this kind of device (default: the backend's choice)")
    p.add_argument("--data-parallel", action="store_true",
                   help="split each batch over every device of that kind (JAX: Keras "
                        "DataParallel; TensorFlow: MirroredStrategy, TPUStrategy for tpu)")


def train_config(args: argparse.Namespace):
    from trainer.config import TrainConfig

    changes = {"mixed_precision": args.mixed_precision, "xla": not args.no_xla,
               "steps_per_execution": args.steps_per_execution, "device": args.device,
               "data_parallel": args.data_parallel}
    for name in ("train_images", "eval_images"):
        value = getattr(args, name)
        if value is not None:
            if value < 1:
                raise InputError(f"--{name.replace('_', '-')} must be positive, got {value}")
            changes[name] = value
    return TrainConfig.tiny(**changes) if args.tiny else TrainConfig(**changes)


def _require_data(args: argparse.Namespace) -> str:
    if not args.data:
        raise InputError("--data is required: a CIFAR-10 tarball or folder "
                         "(nasbench data cifar10 downloads the official one)")
    return args.data


def cmd_train(args: argparse.Namespace) -> int:
    from benchmark.space import BUDGETS

    from .space import parse_spec

    spec = parse_spec(args.matrix, args.ops)
    if not spec.valid_spec:
        raise InputError("the cell is not valid: its input does not reach its output")
    config = train_config(args)
    if args.dry_run:
        import numpy as np

        from trainer.network import trainable_parameter_count
        from trainer.train import build

        model = build(spec, config, np.random.default_rng(args.seed))  # checks the count
        print(json.dumps({"module_hash": spec.hash(),
                          "trainable_parameters": trainable_parameter_count(model),
                          "layers": len(model.layers)}))
        return 0
    if args.epochs not in BUDGETS and not args.tiny:
        raise InputError(f"--epochs {args.epochs} is not a NAS-Bench-101 budget {list(BUDGETS)}")
    from trainer.cifar import load
    from trainer.train import train

    result = train(spec, args.epochs, load(_require_data(args)), config, seed=args.seed)
    summary = {"module_hash": result.module_hash, "epochs": result.epochs,
               "trainable_parameters": result.trainable_parameters,
               "total_time": round(result.total_time, 3), "attempts": result.attempts,
               "images_per_second": round(result.images_per_second, 1),
               "evaluations": [{k: round(v, 6) if isinstance(v, float) else v
                                for k, v in e.__dict__.items()} for e in result.evaluations]}
    if args.record:
        from benchmark.data.tfrecord import write_records
        from benchmark.space import representative

        from ..table_builder import record

        write_records(args.record, [record(result, representative(spec))])
        summary["record"] = str(args.record)
    print(json.dumps(summary, indent=2))
    return 0


def cmd_build_table(args: argparse.Namespace) -> int:
    import numpy as np

    from ..table_builder import TableBuild, read_cells, run_build, run_build_on_ray, sample_cells

    try:
        epochs = [int(e) for e in args.epochs.split(",")]
    except ValueError:
        raise InputError(f"--epochs must be comma-separated integers, got {args.epochs!r}") \
            from None
    data = _require_data(args)
    if not Path(data).exists():
        raise InputError(f"--data {data}: no such file or folder")
    cells = (read_cells(args.cells) if args.cells
             else sample_cells(args.sample, np.random.default_rng(args.seed)))
    build = TableBuild(args.out, cells, epochs, args.repeats, train_config(args),
                       str(Path(data).resolve()), args.seed)
    todo = build.prepare(force=args.force)
    log.info("build-table: %d cells x %d budgets x %d repeats; %d to train",
             len(build.cells), len(build.epochs), build.repeats, len(todo))
    if todo:
        if args.ray_address:
            run_build_on_ray(build, todo, args.ray_address)
        else:
            from trainer.cifar import load
            from trainer.train import train

            cifar = load(data)
            run_build(build, todo, lambda t: train(
                build.cells[t.cell], t.epochs, cifar, build.config, seed=build.seed_of(t),
                progress=False))
    print(build.finish())
    return 0
