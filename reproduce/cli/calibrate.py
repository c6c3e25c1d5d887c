"""``reproduce calibrate``: the one command that fits and writes the
calibration."""
from __future__ import annotations

import argparse


def add_parser(sub) -> None:
    cal = sub.add_parser("calibrate", help="fit the two calibrated parameters to the paper "
                         "and write data/results/calibration.json")
    g = cal.add_mutually_exclusive_group()
    g.add_argument("--check", action="store_true",
                   help="only check that the committed fit is current (exit 2 if stale)")
    g.add_argument("--force", action="store_true", help="refit even if the fit is current")
    cal.set_defaults(func=cmd_calibrate)


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Fit (or check) the calibration; the only command that writes it."""
    from ..bench.calibration import CALIBRATION, read_report
    if args.check:
        doc = read_report()
        print(f"{CALIBRATION.name}: current (model version {doc['model_version']})")
        return 0
    from ..bench.calibrate import ensure, refit
    if args.force:
        doc, fitted = refit(), True
    else:
        doc, fitted = ensure()
    what = "fitted and written" if fitted else "already current, not refitted"
    print(f"{CALIBRATION.name}: {what} (model version {doc['model_version']}): "
          f"bg_kernel_cycles={doc['bg_kernel_cycles']}, "
          f"mp_entry_overhead={doc['mp_entry_overhead']}")
    return 0
