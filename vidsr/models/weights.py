"""Weight files: a state dict plus the metadata that says where it came from and how good it is.

A file is `{arch}_x{scale}-{sha256[:8]}.pt`, the hash taken over its own bytes, so a name can
never point at other content. Files are written from an in-memory buffer because torch.save
records the file name inside the archive: buffers make the bytes depend on the weights alone.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from vidsr.errors import ModelError

Meta = dict[str, Any]


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def serialize(state_dict: Mapping[str, torch.Tensor], meta: Meta) -> bytes:
    buffer = io.BytesIO()
    state = {k: v.detach().cpu().contiguous() for k, v in state_dict.items()}
    torch.save({"state_dict": state, "meta": meta}, buffer)
    return buffer.getvalue()


def save(state_dict: Mapping[str, torch.Tensor], meta: Meta, out_dir: Path, stem: str) -> Path:
    """Write `{stem}-{sha8}.pt` into out_dir atomically and return its path."""
    data = serialize(state_dict, meta)
    digest = hashlib.sha256(data).hexdigest()
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{stem}-{digest[:8]}.pt"
    tmp = path.with_suffix(".pt.part")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return path


def load(path: Path, sha256: str | None = None) -> tuple[dict[str, torch.Tensor], Meta]:
    """Read a weight file with `weights_only=True`, checking its hash when one is given."""
    try:
        if sha256 is not None and (actual := sha256_file(path)) != sha256:
            raise ModelError(
                f"{path}: sha256 {actual[:12]}… does not match the expected {sha256[:12]}…; "
                "the file is damaged — reinstall vidsr"
            )
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError as exc:
        raise ModelError(f"{path}: weight file missing — reinstall vidsr") from exc
    except (RuntimeError, OSError, EOFError, pickle.UnpicklingError) as exc:
        raise ModelError(f"{path}: not a readable weight file ({exc})") from exc
    if not isinstance(blob, dict) or {"state_dict", "meta"} - blob.keys():
        raise ModelError(f"{path}: not a vidsr weight file (expected state_dict and meta)")
    return blob["state_dict"], blob["meta"]
