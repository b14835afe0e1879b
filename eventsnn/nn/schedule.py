"""Learning-rate schedule: linear warm-up, then cosine decay."""
from __future__ import annotations

import math

from .._validation import check_int, check_nonnegative, check_positive


def warmup_cosine(step: int, base_lr: float, warmup_steps: int, total_steps: int, min_lr: float = 0.0) -> float:
    """Learning rate at ``step`` (0-based).

    lr = base_lr (step + 1) / warmup_steps                           for step < warmup_steps
    lr = min_lr + (base_lr - min_lr) (1 + cos(pi p)) / 2,  p = (step - warmup) / (total - warmup)
    and min_lr once step >= total_steps.
    """
    step = check_int("step", step, 0)
    base_lr = check_positive("base_lr", base_lr)
    warmup = check_int("warmup_steps", warmup_steps, 0)
    total = check_int("total_steps", total_steps, warmup + 1)
    min_lr = check_nonnegative("min_lr", min_lr)
    if min_lr > base_lr:
        raise ValueError(f"min_lr must be <= base_lr ({base_lr!r}): the schedule decays, got {min_lr!r}")
    if step < warmup:
        return base_lr * (step + 1) / warmup
    p = min(1.0, (step - warmup) / (total - warmup))
    return min_lr + (base_lr - min_lr) * 0.5 * (1 + math.cos(math.pi * p))
