"""`vidsr models`: the shipped weights and their validation scores, in two tables: the models
trained for real streams, and the papers' clean-bicubic ones."""

from __future__ import annotations

import argparse

from vidsr.cli._ui import UI

TABLES = {
    "video": "trained for real streams (Set5 shrunk by swscale bicubic, x264 CRF 23; Y)",
    "bicubic": "papers' protocol (Set5, MATLAB bicubic; Y)",
}


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("models", help="list the shipped models with their Set5 scores")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run, quiet=False)


def run(args: argparse.Namespace, ui: UI) -> int:
    from vidsr.models import SHIPPED, load_with_meta
    from vidsr.models.collapsible import macs_per_pixel
    from vidsr.models.graph import inference_graph

    rows: dict[str, list[list[object]]] = {k: [] for k in TABLES}
    records = []
    for (name, scale), entry in SHIPPED.items():
        model, meta = load_with_meta(name, scale)
        degrade = meta["config"].get("degrade", "bicubic")
        macs = macs_per_pixel(inference_graph(model))
        val = meta.get("val", {})
        rows[degrade].append([
            f"{name} x{scale}", f"{macs:,}", val.get("psnr", "—"), val.get("ssim", "—"),
            val.get("bicubic_psnr", "—"), entry.file,
        ])
        records.append({"model": name, "scale": scale, "file": entry.file,
                        "sha256": entry.sha256, "degrade": degrade, "macs_per_pixel": macs,
                        **meta})
    for degrade, title in TABLES.items():
        if rows[degrade]:
            ui.table(title, ["model", "MACs / LR px", "PSNR dB", "SSIM", "bicubic dB", "file"],
                     rows[degrade])
    ui.result(f"{len(records)} models", {"models": records})
    return 0
