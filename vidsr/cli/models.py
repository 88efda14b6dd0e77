"""`vidsr models`: the shipped weights and their validation scores."""

from __future__ import annotations

import argparse

from vidsr.cli._ui import UI


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list the shipped models with their Set5 scores")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run, quiet=False)


def run(args: argparse.Namespace, ui: UI) -> int:
    from vidsr.models import SHIPPED, load_with_meta

    rows, records = [], []
    for (arch, scale), entry in sorted(SHIPPED.items()):
        meta = load_with_meta(arch, scale)[1]
        val = meta.get("val", {})
        rows.append(
            [
                f"{arch} x{scale}",
                meta["params"],
                val.get("psnr", "—"),
                val.get("ssim", "—"),
                val.get("bicubic_psnr", "—"),
                entry.file,
            ]
        )
        records.append(
            {"model": arch, "scale": scale, "file": entry.file, "sha256": entry.sha256, **meta}
        )
    ui.table(
        "shipped models (Set5, Y)",
        ["model", "params", "PSNR dB", "SSIM", "bicubic dB", "file"],
        rows,
    )
    ui.result(f"{len(rows)} models", {"models": records})
    return 0
