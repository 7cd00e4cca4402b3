"""The NAS-Bench-101 network for a cell, built as the original ``model_builder`` builds it.

Stem: 3x3 conv-BN-ReLU with ``stem_channels``.  Then ``num_stacks`` stacks of
``modules_per_stack`` cells, a 2x2 max-pool and channel doubling before every stack but the
first; global average pooling and a dense layer.  In a cell, vertex channels follow
:func:`benchmark.space.params.vertex_channels`; inputs to a vertex are summed, interior inputs
truncated to the vertex's channels, each edge from the cell input gets its own 1x1 projection;
the output concatenates its inputs and adds the projected cell input.
"""
from __future__ import annotations

import numpy as np

from benchmark.space.constants import CONV1X1, CONV3X3, MAXPOOL3X3
from benchmark.space.errors import InputError
from benchmark.space.params import vertex_channels
from benchmark.space.spec import ModelSpec

from .backend import keras as _keras
from .config import TrainConfig

IMAGE_SHAPE = (32, 32, 3)


class _Layers:
    """Layer factory: every initializer gets its own seed drawn from the run's Generator."""

    def __init__(self, config: TrainConfig, rng: np.random.Generator):
        self.keras = _keras()
        self.config = config
        self.rng = rng
        #: Keras dtype policy of every layer but the logits (kept in float32).
        self.dtype = "mixed_bfloat16" if config.mixed_precision else "float32"

    def _seed(self) -> int:
        return int(self.rng.integers(0, 2**31 - 1))

    def conv_bn_relu(self, x, kernel: int, channels: int, name: str):
        """Conv (no bias, TF1 ``variance_scaling_initializer``) -> BN -> ReLU."""
        layers = self.keras.layers
        x = layers.Conv2D(
            channels, kernel, padding="same", use_bias=False, name=f"{name}_conv", dtype=self.dtype,
            kernel_initializer=self.keras.initializers.VarianceScaling(
                scale=1.0, mode="fan_in", distribution="truncated_normal", seed=self._seed()))(x)
        x = layers.BatchNormalization(momentum=self.config.bn_momentum,
                                      epsilon=self.config.bn_epsilon, name=f"{name}_bn",
                                      dtype=self.dtype)(x)
        return layers.ReLU(name=f"{name}_relu", dtype=self.dtype)(x)

    def cell(self, spec: ModelSpec, x, channels: int, name: str):
        """One cell (``build_module``) with ``channels`` output channels."""
        layers = self.keras.layers
        matrix = spec.matrix
        n = matrix.shape[0]
        in_channels = int(x.shape[-1])
        ch = vertex_channels(in_channels, channels, matrix)
        tensors = [x]
        concat = []
        for t in range(1, n - 1):
            add_in = [tensors[src] if int(tensors[src].shape[-1]) == ch[t]
                      else self._truncate(tensors[src], ch[t], f"{name}_v{t}_truncate{src}")
                      for src in range(1, t) if matrix[src, t]]
            if matrix[0, t]:
                add_in.append(self.conv_bn_relu(x, 1, ch[t], f"{name}_v{t}_projection"))
            v = add_in[0] if len(add_in) == 1 else layers.Add(
                name=f"{name}_v{t}_add", dtype=self.dtype)(add_in)
            op = spec.ops[t]
            if op == CONV3X3:
                v = self.conv_bn_relu(v, 3, ch[t], f"{name}_v{t}_conv3x3")
            elif op == CONV1X1:
                v = self.conv_bn_relu(v, 1, ch[t], f"{name}_v{t}_conv1x1")
            elif op == MAXPOOL3X3:
                v = layers.MaxPooling2D(3, strides=1, padding="same", name=f"{name}_v{t}_maxpool",
                                        dtype=self.dtype)(v)
            else:  # ModelSpec validated the ops; this is a bug
                raise AssertionError(op)
            tensors.append(v)
            if matrix[t, n - 1]:
                concat.append(v)
        if not concat:  # input -> output only
            return self.conv_bn_relu(x, 1, channels, f"{name}_output_projection")
        out = concat[0] if len(concat) == 1 else layers.Concatenate(name=f"{name}_concat",
                                                                      dtype=self.dtype)(concat)
        if matrix[0, n - 1]:
            out = layers.Add(name=f"{name}_output", dtype=self.dtype)(
                [out, self.conv_bn_relu(x, 1, channels, f"{name}_output_projection")])
        return out

    def _truncate(self, x, channels: int, name: str):
        """Keep the first ``channels`` channels (only ever one fewer, as the original asserts)."""
        return self.keras.layers.Lambda(lambda t: t[..., :channels], name=name,
                                        dtype=self.dtype)(x)


def build_network(spec: ModelSpec, config: TrainConfig, rng: np.random.Generator):
    """A ``keras.Model`` mapping normalised 32x32x3 images to ``num_labels`` logits."""
    if not spec.valid_spec:
        raise InputError(f"the cell {spec!r} is not valid: its input does not reach its output")
    f = _Layers(config, rng)
    keras = f.keras
    inputs = keras.Input(IMAGE_SHAPE, name="images")
    net = f.conv_bn_relu(inputs, 3, config.stem_channels, "stem")
    channels = config.stem_channels
    for stack in range(config.num_stacks):
        if stack > 0:
            net = keras.layers.MaxPooling2D(2, strides=2, padding="same",
                                            name=f"stack{stack}_downsample", dtype=f.dtype)(net)
            channels *= 2
        for module in range(config.modules_per_stack):
            net = f.cell(spec, net, channels, f"stack{stack}_module{module}")
    net = keras.layers.GlobalAveragePooling2D(name="pool", dtype=f.dtype)(net)
    logits = keras.layers.Dense(
        config.num_labels, name="logits", dtype="float32",
        kernel_initializer=keras.initializers.GlorotUniform(seed=f._seed()))(net)
    return keras.Model(inputs, logits, name="nasbench101")


def trainable_parameter_count(model) -> int:
    """Trainable parameters of a built model (what the dataset's ``trainable_parameters`` holds)."""
    return int(sum(np.prod(v.shape) for v in model.trainable_weights))
