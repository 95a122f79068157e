"""Training: `inkrec train` and its Python API.

    from inkrec.train.config import make_config
    from inkrec.train.loop import train
    result = train(make_config(data="../shared/datasets/quickdraw/numpy_bitmap", model="inknet", epochs=12))

Modules: `config` (TrainConfig), `loop` (the loop itself), `data` (batches without per-sample Python),
`augment` (bitmap and stroke augmentation), `checkpoint` (atomic, pickle-free checkpoints), `runs` (run
directories, `load_run`), `distributed` (torchrun / DDP), `perf` (threads, bfloat16, torch.compile),
`tracking` (MLflow), `tune` (Optuna search), `cli` (`inkrec train`, its options made from TrainConfig),
`tune_cli` (`inkrec tune`, apart because it needs Optuna).
"""
