"""The ``eventsnn`` command line.

    eventsnn inspect CKPT     summary of a checkpoint (verifies every dataset)
    eventsnn simulate cuba|coba [--n N] [--duration MS] [--save CKPT]
"""
from __future__ import annotations

import argparse
import sys

from .checkpoint import inspect, save
from .errors import CheckpointError
from .reference_networks import coba, cuba


def _inspect(args: argparse.Namespace) -> int:
    print(inspect(args.checkpoint))
    return 0


def _simulate(args: argparse.Namespace) -> int:
    bench = {"cuba": cuba, "coba": coba}[args.network](args.n, seed=args.seed)
    bench.network.run(args.duration)
    rate = bench.spikes.num_spikes / args.n / (args.duration / 1000.0)
    print(f"{args.network}: {args.n} neurons, {args.duration:g} ms, {bench.spikes.num_spikes} spikes, {rate:.2f} Hz")
    if args.save:
        print(f"saved {save(bench.network, args.save)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="eventsnn", description="Event-driven spiking neural networks.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("inspect", help="summarise a checkpoint")
    p.add_argument("checkpoint")
    p.set_defaults(run=_inspect)
    p = sub.add_parser("simulate", help="run a Brette et al. (2007) benchmark network")
    p.add_argument("network", choices=["cuba", "coba"])
    p.add_argument("--n", type=int, default=4000)
    p.add_argument("--duration", type=float, default=1000.0, help="ms")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--save", help="write the network, with its state, to this HDF5 file")
    p.set_defaults(run=_simulate)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (CheckpointError, ValueError, OSError) as err:
        print(f"eventsnn {args.command}: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
