"""`inkrec train --init`: start from a trained model's weights (transfer learning), `--freeze` for the head alone.

A backbone trained on many drawings already knows strokes, corners and closed shapes; a new task with a few
hundred pictures a class learns little of that from scratch. The initial weights come from a run directory
(its best.pt) or from an exported model whose weights ship beside it (`MODEL.pt` beside `MODEL.onnx`, as the
bundled models' do), always loaded with `torch.load(weights_only=True)`: a checkpoint someone sent cannot
run code. The architecture and its options are the initial model's; the classifier is new unless the classes
are the same, in the same order.
"""

from __future__ import annotations

from pathlib import Path

from torch import nn

from inkrec.errors import ConfigError, DataFormatError
from inkrec.train.checkpoint import load_checkpoint
from inkrec.train.runs import RUN_FORMAT

__all__ = ["apply_init", "freeze_backbone", "head_prefix", "init_checkpoint", "weights_path"]


def weights_path(init: str | Path) -> Path:
    """The weights-only file behind `init`: a run directory's best.pt, a .pt itself, or MODEL.pt beside MODEL.onnx."""
    path = Path(init)
    if path.is_dir():
        found = path / "best.pt"
        if not found.is_file():
            raise ConfigError(f"--init {path}: not a finished run directory (no best.pt)")
        return found
    if path.suffix.lower() == ".onnx":
        found = path.with_suffix(".pt")
        if not found.is_file():
            raise ConfigError(
                f"--init {path}: an ONNX graph holds no trainable weights, and no {found.name} ships beside it; "
                "give the run directory it was exported from, or put its best.pt there as "
                f"{found.name}"
            )
        return found
    if not path.is_file():
        raise ConfigError(f"--init {path}: no such run directory or model file")
    return path


def init_checkpoint(init: str | Path) -> dict:
    """The run checkpoint behind `init` (weights-only load), checked for what training needs."""
    path = weights_path(init)
    payload = load_checkpoint(path, expect_format=RUN_FORMAT)
    for key in ("model", "classes", "input", "state_dict"):
        if key not in payload:
            raise DataFormatError(path, f"run checkpoint lacks {key!r}")
    return payload


def head_prefix(model: nn.Module) -> str:
    """The name of the model's classifier: its last linear layer."""
    names = [name for name, m in model.named_modules() if isinstance(m, nn.Linear)]
    if not names:
        raise ConfigError("the model has no linear classifier to replace")
    return names[-1]


def apply_init(model: nn.Module, payload: dict, classes: list[str]) -> dict:
    """Load the initial weights into `model`; the classifier too when the classes are the same. Returns a
    summary (tensors loaded, whether the head is new)."""
    head = head_prefix(model)
    same_classes = [str(c) for c in payload["classes"]] == [str(c) for c in classes]
    own = model.state_dict()
    state = {}
    for key, value in payload["state_dict"].items():
        if not same_classes and key.startswith(head + "."):
            continue
        if key not in own:
            raise DataFormatError(f"--init {payload.get('model')}", f"weight {key!r} does not fit this model")
        if own[key].shape != value.shape:
            raise DataFormatError(
                f"--init {payload.get('model')}", f"weight {key!r} has shape {tuple(value.shape)}, "
                f"the model {tuple(own[key].shape)}")
        state[key] = value
    model.load_state_dict(state, strict=False)
    return {"loaded": len(state), "new_head": not same_classes, "head": head}


def _hold_eval(module: nn.Module, _args) -> None:
    module.eval()


def freeze_backbone(model: nn.Module) -> int:
    """Everything but the classifier stops learning, batch-norm statistics included (those layers stay in
    eval mode, or a frozen backbone would still drift with every batch's statistics). Returns how many
    parameters still train."""
    head = head_prefix(model)
    trainable = 0
    for name, p in model.named_parameters():
        p.requires_grad_(name.startswith(head + "."))
        trainable += p.numel() if p.requires_grad else 0
    for name, m in model.named_modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and not name.startswith(head):
            m.register_forward_pre_hook(_hold_eval)
    return trainable


def check_input(payload: dict, data_input: dict) -> None:
    want, have = payload["input"], data_input
    if want.get("kind") != have.get("kind") or want.get("size") != have.get("size"):
        raise ConfigError(
            f"--init model reads {want.get('kind')} {want.get('size')}, but this data gives "
            f"{have.get('kind')} {have.get('size')}: give --size {want.get('size')}"
        )


