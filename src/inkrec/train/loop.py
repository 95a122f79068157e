"""The training loop, in one readable file: `train(config) -> TrainResult`.

    data      open the training split, cut a stratified validation split, stack bitmaps into one tensor
    model     from the registry; channels-last; optional torch.compile; DDP under torchrun
    optimise  AdamW (no decay on biases and norms), warm-up + cosine (or one-cycle) learning rate,
              label smoothing, augmentation on the fly, mixed precision when asked for
    each epoch  validate; keep the best weights; write best.pt (when better) and last.pt (always,
              atomically); log to MLflow; stop early when validation stops improving
    finish    restore the best weights, score the test split, write metrics.json + learning_curve.png

Everything random is derived from (seed, epoch, rank, batch), and everything stateful (weights,
optimizer, step, early-stopping counters, RNG states) is in last.pt, so `--resume` after a kill ends with
bit-identical weights to a run that was never interrupted.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from tqdm.auto import tqdm

from inkrec.errors import ConfigError
from inkrec.jsonio import to_plain, write_json
from inkrec.models import architecture, create_model
from inkrec.train import distributed as D
from inkrec.train import perf
from inkrec.train.augment import augment_bitmaps, in_line_context, strength_of, vary_pen
from inkrec.train.checkpoint import (
    CHECKPOINT_FORMAT,
    load_checkpoint,
    rng_state,
    save_atomic,
    seed_everything,
    set_rng_state,
)
from inkrec.train.config import TrainConfig, make_config
from inkrec.train.data import BatchSource, MemoryBitmaps, Splits, epoch_batches, iter_inputs, load_splits
from inkrec.train.distill import Teachers, distillation_loss
from inkrec.train.init import apply_init, check_input, freeze_backbone, head_prefix, init_checkpoint
from inkrec.train.runs import plot_learning_curve, remove_stale_temporaries, run_payload
from inkrec.train.tracking import Tracker


@dataclass
class TrainResult:
    run_dir: Path
    classes: list[str]
    history: list[dict]
    best_epoch: int
    best_val_top1: float | None
    test: dict | None
    epochs_run: int
    stopped_early: bool
    train_seconds: float  # time spent in training steps (validation and set-up excluded)
    train_samples: int  # samples seen in training steps (all processes)
    samples_per_s: float
    wall_seconds: float
    environment: dict = field(default_factory=dict)
    model: torch.nn.Module | None = None  # best weights, eval mode, on the CPU


# ------------------------------------------------------------------------------------------- schedule


def lr_at(step: int, *, schedule: str, base: float, warmup: int, total: int, floor: float = 0.01) -> float:
    """Learning rate for optimizer step `step` (a pure function of the step, so resuming needs no state)."""
    if schedule == "onecycle":  # cosine up from base/25 over 30% of the steps, cosine down to base/1e4
        up = max(1, int(0.3 * total))
        if step < up:
            return base / 25 + (base - base / 25) * (1 - math.cos(math.pi * step / up)) / 2
        p = min(1.0, (step - up) / max(1, total - up))
        return base / 1e4 + (base - base / 1e4) * (1 + math.cos(math.pi * p)) / 2
    if step < warmup:
        return base * (step + 1) / warmup
    if schedule == "constant":
        return base
    p = min(1.0, (step - warmup) / max(1, total - warmup))
    return base * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * p)))


def param_groups(model: torch.nn.Module, weight_decay: float) -> list[dict]:
    """Weight decay on weight matrices and kernels only, not on biases and normalisation scales."""
    decay = [p for p in model.parameters() if p.requires_grad and p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.ndim < 2]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def mix_seed(*parts: int) -> int:
    """One 63-bit seed from several integers (numpy's SeedSequence: well mixed, platform independent)."""
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1, np.uint64)[0] >> np.uint64(1))


# ------------------------------------------------------------------------------------------- batches


def character_loss(logits: torch.Tensor, y: torch.Tensor, soft: torch.Tensor | None, pairs: torch.Tensor | None,
                   cfg: TrainConfig) -> torch.Tensor:
    """The batch's loss: labels (and teachers) for characters; for pairs of characters (`--line-pairs`), the
    uniform answer, which is no character in particular."""
    one = torch.ones(len(y), dtype=torch.bool, device=y.device) if pairs is None else ~pairs
    loss = logits.new_zeros(())
    if one.any():
        if soft is None:
            loss = F.cross_entropy(logits[one], y[one], label_smoothing=cfg.label_smoothing)
        else:
            loss = distillation_loss(logits[one], y[one], soft[one], weight=cfg.distill_weight,
                                     temperature=cfg.distill_temperature, label_smoothing=cfg.label_smoothing)
        loss = loss * one.float().mean()
    if pairs is not None and pairs.any():
        uniform = -F.log_softmax(logits[pairs], dim=1).mean(dim=1).mean()
        loss = loss + uniform * pairs.float().mean()
    return loss


class Batches:
    """Moves a source's batches to the device and turns them into model input (float, augmented)."""

    def __init__(self, source: BatchSource, device: torch.device, channels_last: bool, pen: float = 0.0,
                 line_context: float = 0.0, line_pairs: float = 0.0):
        self.source = source
        self.device = device
        self.channels_last = channels_last
        self.pen = pen
        self.line_context = line_context
        self.line_pairs = line_pairs

    def model_inputs(self, inputs: tuple[torch.Tensor, ...], strength: float,
                     generator: torch.Generator | None) -> tuple[torch.Tensor, ...]:
        if self.source.input_kind == "strokes":
            return tuple(t.to(self.device, non_blocking=True) for t in inputs)
        x = inputs[0].to(self.device, non_blocking=True).float().div_(255.0)
        if strength > 0 and self.source.bitmap_augment and generator is not None:
            x = augment_bitmaps(vary_pen(x, self.pen, generator), strength, generator)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return (x,)

    def in_context(self, inputs: tuple[torch.Tensor, ...], generator: torch.Generator | None
                   ) -> tuple[tuple[torch.Tensor, ...], torch.Tensor | None]:
        """The model's view of a training batch from `model_inputs` and which of its bitmaps are pairs of
        characters (None: none): a share shown amid a line's neighbours (`--line-context`, `--line-pairs`)."""
        if (self.line_context <= 0 and self.line_pairs <= 0) or generator is None \
                or self.source.input_kind == "strokes":
            return inputs, None
        x, pairs = in_line_context(inputs[0].contiguous(), self.line_context, generator, pairs=self.line_pairs)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return (x,), pairs


@torch.no_grad()
def score_split(model: torch.nn.Module, source: BatchSource | None, *, batch_size: int, device: torch.device,
             dtype: torch.dtype | None, channels_last: bool, label_smoothing: float, info: D.DistInfo,
             classes: int | None = None) -> dict | None:
    """Loss, top-1 and top-3 over a whole split (sharded over processes, summed), among the first `classes`
    outputs (the data set's own classes, without auxiliary ones) when given."""
    if source is None or len(source) == 0:
        return None
    was_training = model.training
    model.eval()
    batches = epoch_batches(len(source), batch_size, epoch=0, seed=0, rank=info.rank, world=info.world,
                            shuffle=False)
    feed = Batches(source, device, channels_last)
    loss_sum = top1 = top3 = 0.0
    n = 0
    for _, idx, inputs in iter_inputs(source, batches, 0.0, seed=0, epoch=0, rank=info.rank):
        y = torch.from_numpy(source.labels[idx]).to(device)
        with perf.autocast(device, dtype):
            logits = model(*feed.model_inputs(inputs, 0.0, None))
        logits = logits.float()[:, :classes]
        loss_sum += float(F.cross_entropy(logits, y, reduction="sum", label_smoothing=label_smoothing))
        k = min(3, logits.shape[1])
        top = logits.topk(k, dim=1).indices
        top1 += float((top[:, 0] == y).sum())
        top3 += float((top == y[:, None]).any(dim=1).sum())
        n += len(idx)
    loss_sum, top1, top3, n = D.all_reduce_sum([loss_sum, top1, top3, float(n)], info)
    model.train(was_training)
    if n == 0:
        return None
    return {"loss": loss_sum / n, "top1": top1 / n, "top3": top3 / n, "n": int(n)}


# --------------------------------------------------------------------------------------------- resume


def _check_resume(ckpt: dict, cfg: TrainConfig, classes: list[str], model_kwargs: dict, path: Path) -> None:
    if ckpt.get("model") != cfg.model:
        raise ConfigError(f"cannot resume {path}: it trains model {ckpt.get('model')!r}, not {cfg.model!r}")
    old = list(ckpt.get("classes") or [])
    if old != classes:
        gone = [c for c in old if c not in classes]
        new = [c for c in classes if c not in old]
        detail = []
        if gone:
            detail.append(f"missing now: {', '.join(map(repr, gone[:8]))}")
        if new:
            detail.append(f"new: {', '.join(map(repr, new[:8]))}")
        if not detail:
            detail.append("same names in a different order")
        raise ConfigError(
            f"cannot resume {path}: the class map differs from the checkpoint's "
            f"({len(old)} classes then, {len(classes)} now; {'; '.join(detail)})"
        )
    if dict(ckpt.get("model_kwargs") or {}) != to_plain(model_kwargs):
        raise ConfigError(
            f"cannot resume {path}: model options differ (checkpoint {ckpt.get('model_kwargs')}, now {model_kwargs})"
        )


# ---------------------------------------------------------------------------------------------- train


def train(config: TrainConfig | dict, *, on_epoch: Callable[[dict], None] | None = None) -> TrainResult:
    """Train one model as `config` says; returns the history, the best weights and the test scores.

    Under torchrun this runs in every process; only rank 0 writes the run directory.
    `on_epoch(record)` is called with each epoch's history record after its checkpoint is written; an
    exception it raises (a tuner pruning the run) ends training there and propagates.
    """
    cfg = config if isinstance(config, TrainConfig) else make_config(**config)
    info = D.setup(cfg.device)
    try:
        result = _train(cfg, info, on_epoch)
        D.barrier(info)  # every process has finished before any takes the process group down
        return result
    finally:
        D.teardown(info)


def _train(cfg: TrainConfig, info: D.DistInfo, on_epoch: Callable[[dict], None] | None = None) -> TrainResult:
    wall0 = time.perf_counter()
    device = info.device
    out = Path(cfg.out)
    main = info.is_main
    bars = cfg.progress and main  # progress bars only: --quiet keeps the epoch lines and the summary
    say = cfg.verbose and main

    # ---- initial weights (transfer learning): they decide the architecture and the input size
    init_payload = None
    if cfg.init:
        init_payload = init_checkpoint(cfg.init)
        inp = dict(init_payload["input"])
        cfg = cfg.model_copy(update={
            "model": init_payload["model"],
            "model_kwargs": {**dict(init_payload.get("model_kwargs") or {}), **dict(cfg.model_kwargs)},
            "size": inp.get("size") if inp.get("kind") == "bitmap" else cfg.size,
        })
    elif cfg.freeze:
        raise ConfigError("--freeze needs --init (there is no trained backbone to keep)")

    # ---- machine
    threads = perf.configure_threads(cfg.threads, info.local_world) if device.type == "cpu" else torch.get_num_threads()
    amp_dtype = perf.autocast_dtype(device, cfg.amp)
    arch = architecture(cfg.model)
    channels_last = cfg.channels_last and arch.input_kind == "bitmap"
    strength = strength_of(cfg.augment)

    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed batch shapes: let cuDNN pick its fastest kernels
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True

    # ---- data
    splits: Splits = load_splits(cfg, arch.input_kind, augmenting=strength > 0, progress=bars)
    for source in (splits.train, splits.val, splits.test):
        if isinstance(source, MemoryBitmaps):
            source.to(device)
    classes = splits.classes
    auxiliary = splits.info.get("auxiliary")
    # auxiliary classes get outputs of their own after the data set's, cut off in every saved best.pt
    n_outputs = len(classes) + (len(auxiliary["classes"]) if auxiliary else 0)
    if auxiliary and cfg.teacher:
        raise ConfigError("--teacher and --aux-data do not go together: the teachers know none of the auxiliary classes")

    # ---- model and optimizer
    model_kwargs = dict(cfg.model_kwargs)
    if arch.input_kind == "bitmap" and "image_size" in arch.defaults:
        model_kwargs.setdefault("image_size", splits.input["size"])
    seed_everything(cfg.seed)
    model = create_model(cfg.model, n_outputs, **model_kwargs).to(device)
    init_report = None
    if init_payload is not None:
        check_input(init_payload, splits.input)
        init_report = apply_init(model, init_payload, classes)
        if cfg.freeze:
            init_report["trainable_parameters"] = freeze_backbone(model)
        if say:
            head = "a new classifier" if init_report["new_head"] else "its classifier"
            print(f"initial weights: {cfg.init} ({init_report['loaded']} tensors, {head}"
                  f"{'; backbone frozen' if cfg.freeze else ''})")
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(param_groups(model, cfg.weight_decay), lr=cfg.lr)
    scaler = perf.grad_scaler(device, amp_dtype)

    per_rank_batch = max(1, cfg.batch_size // info.world)
    steps_per_epoch = len(epoch_batches(len(splits.train), per_rank_batch, epoch=0, seed=cfg.seed,
                                        rank=info.rank, world=info.world))
    total_steps = steps_per_epoch * cfg.epochs
    warmup = int(round(cfg.warmup_epochs * steps_per_epoch))

    # ---- state (fresh, or from last.pt)
    start_epoch, step = 0, 0
    history: list[dict] = []
    best = {"top1": -1.0, "epoch": 0, "bad_epochs": 0}
    best_state: dict | None = None
    last_path = out / "last.pt"
    if cfg.resume:
        ckpt = None
        if main and last_path.is_file():
            ckpt = load_checkpoint(last_path, expect_format=CHECKPOINT_FORMAT)
            _check_resume(ckpt, cfg, classes, model_kwargs, last_path)
        ckpt = D.broadcast_object(ckpt, info)
        if ckpt is not None:
            model.load_state_dict(ckpt["state_dict"])
            optimizer.load_state_dict(ckpt["optimizer"])
            if ckpt.get("scaler"):
                scaler.load_state_dict(ckpt["scaler"])
            set_rng_state(ckpt["rng"])
            start_epoch, step = int(ckpt["epoch"]), int(ckpt["scheduler"]["step"])
            history = list(ckpt["history"])
            best = dict(ckpt["early_stopping"])
            best_state = ckpt.get("best_state_dict")
            if say:
                print(f"resuming {out} after epoch {start_epoch} (step {step})")
        elif say:
            print(f"nothing to resume in {out} (no last.pt): starting from scratch")

    # ---- speed-ups and data parallelism
    feed = Batches(splits.train, device, channels_last, cfg.pen, cfg.line_context, cfg.line_pairs)
    teachers = Teachers(cfg.teacher, classes, device, channels_last=channels_last) if cfg.teacher else None
    example_idx = np.arange(min(per_rank_batch, len(splits.train)))
    example = feed.model_inputs(splits.train.inputs(example_idx, 0.0, np.random.default_rng(0)), 0.0, None)
    fmodel = model
    if info.enabled:
        fmodel = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None, broadcast_buffers=False)
    fmodel, compiled = perf.compile_model(fmodel, cfg.compile, example, device, amp_dtype)

    environment = {
        "device": str(device), "threads": threads, "world_size": info.world, "amp_dtype": str(amp_dtype).replace("torch.", "") if amp_dtype else None,
        "channels_last": channels_last, "compiled": compiled, "torch": torch.__version__,
        "steps_per_epoch": steps_per_epoch, "per_process_batch": per_rank_batch,
    }

    tracker = None
    if main:
        out.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(out)  # what a kill in the middle of a write left behind
        write_json(out / "config.json", cfg.model_dump(mode="json"))
        tracker = Tracker(cfg.track, cfg.tracking_uri, cfg.experiment, out.name)
        tracker.log_params({"config": cfg.model_dump(mode="json"), "env": environment,
                            "data": {k: v for k, v in splits.data.items()}})

    def payload(state_dict: dict, metrics: dict) -> dict:
        return run_payload(model=cfg.model, model_kwargs=model_kwargs, classes=classes, input=splits.input,
                           data=splits.data, metrics=metrics, state_dict=own_classes(state_dict),
                           auxiliary=auxiliary)

    def own_classes(state_dict: dict) -> dict:
        """The weights with the classifier cut to the data set's classes: a best.pt is an ordinary model of
        them (export, eval, --init and --teacher read it as any other)."""
        if not auxiliary:
            return state_dict
        prefix = head_prefix(model) + "."
        return {k: v[: len(classes)] if k.startswith(prefix) else v for k, v in state_dict.items()}

    eval_kw = dict(batch_size=max(per_rank_batch, 512), device=device, dtype=amp_dtype, channels_last=channels_last,
                   label_smoothing=cfg.label_smoothing, info=info, classes=len(classes))

    # ---- epochs
    stopped_early = False
    train_seconds = sum(h.get("seconds", 0.0) for h in history)
    train_samples = sum(h.get("samples", 0) for h in history)
    patience = cfg.patience
    if patience and best["bad_epochs"] >= patience:
        start_epoch = cfg.epochs  # the checkpointed run had already stopped early
        stopped_early = True
    for epoch in range(start_epoch, cfg.epochs):
        model.train()
        torch.manual_seed(mix_seed(cfg.seed, epoch, info.rank, 1))  # dropout
        batches = epoch_batches(len(splits.train), per_rank_batch, epoch=epoch, seed=cfg.seed, rank=info.rank,
                                world=info.world)
        loss_sum = torch.zeros((), dtype=torch.float64, device=device)
        seen = 0
        bar = _progress(bars, sum(len(b) for b in batches), f"epoch {epoch + 1}/{cfg.epochs}")
        t0 = time.perf_counter()
        for b, idx, inputs in iter_inputs(splits.train, batches, strength, seed=cfg.seed, epoch=epoch,
                                          rank=info.rank, workers=cfg.workers):
            lr = lr_at(step, schedule=cfg.schedule, base=cfg.lr, warmup=warmup, total=total_steps)
            for group in optimizer.param_groups:
                group["lr"] = lr
            gen = torch.Generator().manual_seed(mix_seed(cfg.seed, epoch, info.rank, b, 2)) if strength > 0 else None
            x = feed.model_inputs(inputs, strength, gen)
            y = torch.from_numpy(splits.train.labels[idx]).to(device, non_blocking=True)
            view, pairs = feed.in_context(x, gen)
            with perf.autocast(device, amp_dtype):
                logits = fmodel(*view)
                # the teachers judge the character alone: what it is does not change amid neighbours
                soft = teachers.probabilities(x, cfg.distill_temperature) if teachers else None
            loss = character_loss(logits.float(), y, soft, pairs, cfg)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            step += 1
            loss_sum += loss.detach().double() * len(idx)
            seen += len(idx)
            if bar is not None:
                bar.update(len(idx))
                if b % 20 == 0:
                    bar.set_postfix(loss=f"{loss.item():.3f}", lr=f"{lr:.2e}", refresh=False)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        seconds = time.perf_counter() - t0
        if bar is not None:
            bar.close()
        D.average_buffers(model, info)
        total_loss, total_seen = D.all_reduce_sum([float(loss_sum), float(seen)], info)
        seconds = max(D.all_reduce_sum([seconds], info)[0] / info.world, 1e-9)
        train_seconds += seconds
        train_samples += int(total_seen)

        val = score_split(model, splits.val, **eval_kw)
        record = {
            "epoch": epoch + 1,
            "train_loss": total_loss / max(total_seen, 1),
            "val_loss": val["loss"] if val else None,
            "val_top1": val["top1"] if val else None,
            "val_top3": val["top3"] if val else None,
            "lr": lr_at(max(step - 1, 0), schedule=cfg.schedule, base=cfg.lr, warmup=warmup, total=total_steps),
            "seconds": seconds,
            "samples": int(total_seen),
            "samples_per_s": total_seen / seconds,
        }
        history.append(record)
        score = val["top1"] if val else float(epoch)  # without a validation split the latest epoch is best
        improved = score > best["top1"]
        if improved:
            best = {"top1": score, "epoch": epoch + 1, "bad_epochs": 0}
            best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        else:
            best["bad_epochs"] += 1
        stop = bool(patience) and best["bad_epochs"] >= patience

        if main:
            if improved:
                _save_best(out, payload(best_state, {"best_epoch": best["epoch"], "val": val}))
            save_atomic({
                "format": CHECKPOINT_FORMAT,
                "model": cfg.model,
                "model_kwargs": to_plain(model_kwargs),
                "classes": classes,
                "config": cfg.model_dump(mode="json"),
                "epoch": epoch + 1,
                "state_dict": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": {"name": cfg.schedule, "step": step, "warmup": warmup, "total": total_steps},
                "scaler": scaler.state_dict() if scaler.is_enabled() else {},
                "rng": rng_state(),
                "early_stopping": best,
                "best_state_dict": best_state,
                "history": history,
            }, last_path)
            tracker.log_metrics({k: v for k, v in record.items() if k != "epoch"}, step=epoch + 1)
            if say:
                v = f"val top-1 {100 * val['top1']:.2f}% loss {val['loss']:.4f}" if val else "no validation split"
                print(f"epoch {epoch + 1}: train loss {record['train_loss']:.4f}, {v}, "
                      f"{record['samples_per_s']:,.0f} samples/s{' *' if improved else ''}", flush=True)
        if on_epoch is not None:
            try:
                on_epoch(dict(record))
            except BaseException:
                if tracker is not None:
                    tracker.close("KILLED")
                raise
        if stop:
            stopped_early = True
            if say:
                print(f"early stop: no better validation top-1 for {patience} epochs; best epoch {best['epoch']}")
            break

    # ---- finish: best weights, test scores, files
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    test = score_split(model, splits.test, **eval_kw)
    digests = D.gather_strings(D.state_digest(model.state_dict()), info)
    if info.enabled:
        environment["weights_sha256_per_rank"] = digests
        environment["replicas_identical"] = len(set(digests)) == 1
    best_val = next((h["val_top1"] for h in history if h["epoch"] == best["epoch"]), None)
    metrics = {
        "history": history,
        "best": {"epoch": best["epoch"], "val_top1": best_val,
                 "val_loss": next((h["val_loss"] for h in history if h["epoch"] == best["epoch"]), None)},
        "test": test,
        "stopped_early": stopped_early,
        "train_seconds": train_seconds,
        "train_samples": train_samples,
        "samples_per_s": train_samples / train_seconds if train_seconds else None,
        "classes": len(classes),
        "data": splits.data,
        "environment": environment,
    }
    if main:
        final_state = model.state_dict()
        _save_best(out, payload(final_state, {"best_epoch": best["epoch"], "val_top1": best_val, "test": test}))
        write_json(out / "metrics.json", metrics)
        if history:
            plot_learning_curve(history, out / "learning_curve.png", title=f"{cfg.model} on {Path(cfg.data).name}")
        tracker.log_metrics({"best_val_top1": best_val or 0.0, **({"test_top1": test["top1"], "test_top3": test["top3"]}
                                                                 if test else {})}, step=best["epoch"])
        tracker.log_artifacts([out / "config.json", out / "metrics.json", out / "learning_curve.png"])
        tracker.close()
        if say:
            t = f", test top-1 {100 * test['top1']:.2f}% ({test['n']} samples)" if test else ""
            v = f", val top-1 {100 * best_val:.2f}%" if best_val is not None else " (the last: no validation split)"
            print(f"done: best epoch {best['epoch']}{v}{t}; run in {out}")
            if tracker.run_id is not None:
                print(f"tracked in MLflow (experiment {cfg.experiment!r}, run {tracker.run_id}); "
                      f"to look at it: {tracker.ui_command()}", flush=True)
    return TrainResult(
        run_dir=out, classes=classes, history=history, best_epoch=best["epoch"], best_val_top1=best_val, test=test,
        epochs_run=len(history), stopped_early=stopped_early, train_seconds=train_seconds,
        train_samples=train_samples, samples_per_s=train_samples / train_seconds if train_seconds else 0.0,
        wall_seconds=time.perf_counter() - wall0, environment=environment, model=model.cpu().eval(),
    )


def _save_best(out: Path, payload: dict) -> None:
    save_atomic(payload, out / "best.pt")


def _progress(show: bool, total: int, desc: str):
    if not show:
        return None
    return tqdm(total=total, desc=desc, unit="sample", unit_scale=True, leave=False, dynamic_ncols=True)
