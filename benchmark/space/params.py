"""Analytic trainable-parameter count of the NAS-Bench-101 network (no TensorFlow).

Follows the original ``model_builder``: a 3x3 conv-BN-ReLU stem, stacks of cells with a 2x2
max-pool and channel doubling before every stack but the first, global average pooling and a
dense layer.  A conv-BN-ReLU with kernel k has ``k*k*c_in*c_out`` weights (no bias) plus BN's
scale and shift (``2*c_out``); max-pooling has none.

The count is linear in the choice of op per vertex (channels depend on the graph only), so
:func:`parameter_coefficients` returns a base count plus a per-vertex, per-op term; that lets the
enumeration count all cells of one graph at once.
"""
from __future__ import annotations

import numpy as np

from .constants import NUM_LABELS, NUM_MODULES_PER_STACK, NUM_STACKS, OP_LABELS, STEM_FILTER_SIZE

#: Kernel size by hash label: conv3x3 (0), conv1x1 (1), maxpool3x3 (2, no weights).
_KERNEL_BY_LABEL = (3, 1, 0)


def _conv_bn(k: int, c_in: int, c_out: int) -> int:
    return k * k * c_in * c_out + 2 * c_out


def vertex_channels(input_channels: int, output_channels: int, matrix: np.ndarray) -> list[int]:
    """Channels of each vertex (``compute_vertex_channels`` of the original)."""
    n = matrix.shape[0]
    channels = [0] * n
    channels[0] = input_channels
    channels[n - 1] = output_channels
    if n == 2:
        return channels
    in_degree = int(matrix[1:, n - 1].sum())
    interior, correction = divmod(output_channels, in_degree)
    for v in range(1, n - 1):
        if matrix[v, n - 1]:
            channels[v] = interior
            if correction:
                channels[v] += 1
                correction -= 1
    for v in range(n - 3, 0, -1):
        if not matrix[v, n - 1]:
            for dst in range(v + 1, n - 1):
                if matrix[v, dst]:
                    channels[v] = max(channels[v], channels[dst])
    return channels


def parameter_coefficients(matrix: np.ndarray, *, stem_channels: int = STEM_FILTER_SIZE,
                           num_stacks: int = NUM_STACKS,
                           modules_per_stack: int = NUM_MODULES_PER_STACK,
                           num_labels: int = NUM_LABELS) -> tuple[int, np.ndarray]:
    """``(base, per_op)`` with ``params = base + sum_v per_op[v, label_v]`` for a pruned graph.

    ``per_op`` has shape ``(num_vertices, 3)``; rows 0 and n-1 are zero.
    """
    matrix = np.asarray(matrix)
    n = matrix.shape[0]
    per_op = np.zeros((n, 3), dtype=np.int64)
    base = _conv_bn(3, 3, stem_channels)
    channels = current = stem_channels
    for stack in range(num_stacks):
        if stack > 0:
            channels *= 2
        for _ in range(modules_per_stack):
            ch = vertex_channels(current, channels, matrix)
            for t in range(1, n - 1):
                if matrix[0, t]:
                    base += _conv_bn(1, current, ch[t])
                for label, k in enumerate(_KERNEL_BY_LABEL):
                    if k:
                        per_op[t, label] += _conv_bn(k, ch[t], ch[t])
            if matrix[0, n - 1]:
                base += _conv_bn(1, current, channels)
            current = channels
    return base + current * num_labels + num_labels, per_op


def trainable_parameters(matrix: np.ndarray, ops: list[str], **network: int) -> int:
    """Trainable parameters of the whole network for a pruned, valid cell."""
    base, per_op = parameter_coefficients(matrix, **network)
    return base + int(sum(per_op[t, OP_LABELS[op]] for t, op in enumerate(ops[1:-1], start=1)))
