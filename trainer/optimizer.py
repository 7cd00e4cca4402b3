"""RMSProp as TensorFlow 1's ``tf.train.RMSPropOptimizer`` ran it for NAS-Bench-101.

TF1 differs from Keras 3's RMSprop in one place: its mean-square accumulator starts at 1.0, not
0.0 (epsilon is inside the square root in both).  The update, per variable ``v`` with gradient
``g``::

    g   = g + weight_decay * v                  # the L2 term wd * sum(v**2) / 2 of the loss
    ms  = decay * ms + (1 - decay) * g**2       # ms starts at 1.0
    mom = momentum * mom + lr * g / sqrt(ms + epsilon)
    v   = v - mom

The learning rate follows cosine decay by step and is 0 at step 0 (the original trains one
step with learning rate 0 to initialise batch-norm statistics before its first evaluation).
"""
from __future__ import annotations

import math

from .backend import keras as _keras
from .config import TrainConfig

keras = _keras()
ops = keras.ops


@keras.saving.register_keras_serializable("nasbench")
class CosineByStep(keras.optimizers.schedules.LearningRateSchedule):
    """``0.5 * lr * (1 + cos(pi * step / total_steps))``, and 0 at step 0."""

    def __init__(self, learning_rate: float, total_steps: int):
        self.learning_rate = float(learning_rate)
        self.total_steps = int(total_steps)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        progress = step / float(max(self.total_steps, 1))
        lr = 0.5 * self.learning_rate * (1.0 + ops.cos(math.pi * progress))
        return ops.where(ops.equal(step, 0.0), 0.0, lr)

    def get_config(self) -> dict:
        return {"learning_rate": self.learning_rate, "total_steps": self.total_steps}


@keras.saving.register_keras_serializable("nasbench")
class TF1RMSProp(keras.optimizers.RMSprop):
    """Keras RMSprop with TF1's accumulator start (1.0) and an L2 gradient term."""

    def __init__(self, learning_rate, rho: float = 0.9, momentum: float = 0.9,
                 epsilon: float = 1.0, l2: float = 0.0, **kwargs):
        super().__init__(learning_rate=learning_rate, rho=rho, momentum=momentum,
                         epsilon=epsilon, centered=False, **kwargs)
        self.l2 = float(l2)

    def build(self, var_list) -> None:
        if self.built:
            return
        keras.optimizers.Optimizer.build(self, var_list)
        self._velocities = self.add_optimizer_variables(var_list, "velocity", initializer="ones")
        self._momentums = self.add_optimizer_variables(var_list, "momentum")
        self._average_gradients = []

    def update_step(self, gradient, variable, learning_rate) -> None:
        if self.l2:
            gradient = ops.add(ops.cast(gradient, variable.dtype),
                               ops.multiply(self.l2, variable))
        super().update_step(gradient, variable, learning_rate)

    def get_config(self) -> dict:
        return {**super().get_config(), "l2": self.l2}


def make_optimizer(config: TrainConfig, total_steps: int) -> TF1RMSProp:
    """The run's optimizer for a budget of ``total_steps`` steps."""
    return TF1RMSProp(CosineByStep(config.learning_rate, total_steps), rho=config.rms_decay,
                      momentum=config.momentum, epsilon=config.rms_epsilon,
                      l2=config.weight_decay)
