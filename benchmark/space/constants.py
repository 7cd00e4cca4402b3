"""Constants of the NAS-Bench-101 search space (Ying et al., 2019)."""
from __future__ import annotations

INPUT = "input"
OUTPUT = "output"
CONV3X3 = "conv3x3-bn-relu"
CONV1X1 = "conv1x1-bn-relu"
MAXPOOL3X3 = "maxpool3x3"

#: Interior operations; their order sets the hash labels 0, 1, 2 (input is -1, output -2).
OPS: tuple[str, ...] = (CONV3X3, CONV1X1, MAXPOOL3X3)
OP_LABELS: dict[str, int] = {INPUT: -1, OUTPUT: -2, CONV3X3: 0, CONV1X1: 1, MAXPOOL3X3: 2}

MAX_VERTICES = 7
MAX_EDGES = 9
BUDGETS: tuple[int, ...] = (4, 12, 36, 108)
NUM_REPEATS = 3

#: Defaults of the network that produced the table (the original ``config.py``).
STEM_FILTER_SIZE = 128
NUM_STACKS = 3
NUM_MODULES_PER_STACK = 3
NUM_LABELS = 10
NUM_OP_CHOICES = len(OPS)
#: Op name of each hash label (the inverse of OP_LABELS).
LABEL_OPS: dict[int, str] = {label: op for op, label in OP_LABELS.items()}


def ops_of_labels(labels) -> list[str]:
    """Op names of hash labels (-1 input, 0/1/2 the interior ops, -2 output)."""
    return [LABEL_OPS[lab] for lab in labels]


def slot_bit(x: int, y: int) -> int:
    """Bit of the edge x -> y (x < y) in the space's bitmask order, the original
    ``gen_is_edge_fn``'s: column by column of the upper triangle."""
    return x + y * (y - 1) // 2
