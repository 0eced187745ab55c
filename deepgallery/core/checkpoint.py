"""Checkpoints: tensors in safetensors, configuration and training state in a JSON file beside them.

A checkpoint ``NAME`` is two files, ``NAME.safetensors`` and ``NAME.json``; the JSON records the
config, free-form metadata (step, metrics, what data it was trained on) and the SHA-256 of the tensor
file, which is checked on load. Both are written atomically, tensors first, so a kill mid-save leaves
the previous checkpoint intact. Nothing is ever unpickled.

Optimizer state is flattened into the same tensor file (``optim/<param>/<key>``) so training can resume.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .atomic import atomic_path, write_text
from .distributed import unwrap
from .errors import UserError
from .hashing import sha256_file

FORMAT = "deepgallery-checkpoint-1"


def _paths(path: str | os.PathLike) -> tuple[Path, Path]:
    p = Path(path)
    if p.suffix in (".safetensors", ".json"):
        p = p.with_suffix("")
    return p.with_name(p.name + ".safetensors"), p.with_name(p.name + ".json")


def exists(path: str | os.PathLike) -> bool:
    st, js = _paths(path)
    return st.is_file() and js.is_file()


def save(
    path: str | os.PathLike,
    tensors: dict[str, torch.Tensor],
    config: dict[str, Any],
    meta: dict[str, Any] | None = None,
    optimizer: torch.optim.Optimizer | None = None,
) -> Path:
    """Write NAME.safetensors and NAME.json atomically; returns the .safetensors path."""
    st_path, js_path = _paths(path)
    tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    optim_meta = None
    if optimizer is not None:
        opt_tensors, optim_meta = _flatten_optimizer(optimizer)
        tensors.update(opt_tensors)
    with atomic_path(st_path) as tmp:
        save_file(tensors, str(tmp))
    record = {
        "format": FORMAT,
        "config": config,
        "meta": meta or {},
        "optimizer": optim_meta,
        "sha256": sha256_file(st_path),
    }
    write_text(js_path, json.dumps(record, indent=2, sort_keys=True))
    return st_path


def load(path: str | os.PathLike, how_to_fix: str = "") -> tuple[dict[str, torch.Tensor], dict[str, Any], dict]:
    """Return (model tensors, config, meta). Raises UserError for a missing or corrupt checkpoint."""
    st_path, js_path = _paths(path)
    fix = f" {how_to_fix}" if how_to_fix else ""
    if not st_path.is_file() or not js_path.is_file():
        raise UserError(f"checkpoint {st_path.with_suffix('')} not found (needs .safetensors and .json).{fix}")
    try:
        record = json.loads(js_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise UserError(f"checkpoint config {js_path} is not valid JSON (corrupt).{fix}") from None
    if record.get("format") != FORMAT:
        raise UserError(f"{js_path} is not a deepgallery checkpoint.{fix}")
    if record.get("sha256") and sha256_file(st_path) != record["sha256"]:
        raise UserError(f"checkpoint {st_path} is corrupt (SHA-256 mismatch).{fix}")
    try:
        tensors = load_file(str(st_path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise UserError(f"checkpoint {st_path} cannot be read ({exc}).{fix}") from None
    model = {k: v for k, v in tensors.items() if not k.startswith("optim/")}
    meta = dict(record.get("meta") or {})
    meta["_optimizer"] = record.get("optimizer")
    meta["_optim_tensors"] = {k: v for k, v in tensors.items() if k.startswith("optim/")}
    return model, record.get("config") or {}, meta


def restore_optimizer(optimizer: torch.optim.Optimizer, meta: dict) -> bool:
    """Load optimizer state saved by `save(..., optimizer=...)`; False if the checkpoint had none."""
    om, ot = meta.get("_optimizer"), meta.get("_optim_tensors") or {}
    if not om:
        return False
    state: dict[int, dict[str, Any]] = {}
    for key, tensor in ot.items():
        _, idx, name = key.split("/", 2)
        state.setdefault(int(idx), {})[name] = tensor
    for idx, scalars in om["scalars"].items():
        state.setdefault(int(idx), {}).update(scalars)
    optimizer.load_state_dict({"state": state, "param_groups": om["param_groups"]})
    return True


def _flatten_optimizer(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    sd = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for idx, st in sd["state"].items():
        for name, value in st.items():
            if isinstance(value, torch.Tensor) and value.dim() > 0:
                tensors[f"optim/{idx}/{name}"] = value.detach().cpu().contiguous()
            elif isinstance(value, torch.Tensor):
                tensors[f"optim/{idx}/{name}"] = value.detach().cpu().reshape(())
            else:
                scalars.setdefault(str(idx), {})[name] = value
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def half(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Floating-point tensors as float16 (integers untouched): what a shipped checkpoint stores."""
    return {k: v.detach().half() if v.is_floating_point() else v.detach() for k, v in tensors.items()}


def export_half(path: str | os.PathLike, tensors: dict[str, torch.Tensor], config: dict[str, Any],
                meta: dict[str, Any] | None = None) -> Path:
    """Ship a model: its tensors in float16, no optimizer state (a few MB instead of a training checkpoint)."""
    return save(path, half(tensors), config, meta)


def _same(stored: Any, value: Any) -> bool:
    if dataclasses.is_dataclass(value) and isinstance(stored, dict):
        try:
            then = type(value)(**stored)
        except TypeError:  # a field this version no longer has
            return False
        # as JSON holds them: a tuple field comes back from the file as a list
        return json.loads(json.dumps(dataclasses.asdict(then))) == json.loads(json.dumps(dataclasses.asdict(value)))
    return stored == value


def resume(
    path: str | os.PathLike | None,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    *,
    same: dict[str, Any] | None = None,
    how_to_fix: str = "choose another output path, or delete it to start again",
) -> dict[str, Any] | None:
    """Continue training from the checkpoint at `path`, if there is one.

    Loads the tensors (as float32, since a shipped one may be float16) into `model` and the optimizer state into
    `optimizer`; returns the checkpoint's meta (``meta["step"]`` is where to continue), or None when `path`
    holds no checkpoint. `same` lists config values the checkpoint must share with this run (e.g. the network's
    shape); a mismatch, or tensors that do not fit the model, is a UserError instead of a traceback. A value that
    is a config dataclass is compared as one: a field the checkpoint predates takes its default, so adding a field
    to a model's config does not strand the runs saved before it.
    """
    if path is None or not exists(path):
        return None
    tensors, config, meta = load(path)
    for key, value in (same or {}).items():
        if not _same(config.get(key), value):
            if dataclasses.is_dataclass(value):
                value = dataclasses.asdict(value)
            raise UserError(f"{path} was trained with {key}={config.get(key)!r}, this run has {value!r}; {how_to_fix}")
    try:
        unwrap(model).load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in tensors.items()})
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise UserError(f"{path} holds a network of another shape ({first}); {how_to_fix}") from None
    if optimizer is not None:
        restore_optimizer(optimizer, meta)
    meta.setdefault("step", 0)
    return meta
