"""The trainer (issue 8): network parameter counts, TF1 RMSProp, CIFAR-10 input, a tiny real
training run, records that load as a table, the CLI, and a resumable ``build-table`` on Ray."""
from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import importlib.util
import json
import os
import subprocess
import sys
import tarfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from .conftest import (
    INCEPTION_HASH,
    INCEPTION_MATRIX,
    INCEPTION_OPS,
    NB101,
    ROOT,
    SHARED,
    official_tarball,
)

CIFAR_JPEG = SHARED / "cifar10" / "cifar10-jpeg.tar.gz"
BEST_HASH = "02e5a0247bbdcf2860b7e96f74961594"
needs_cifar = pytest.mark.skipif(not CIFAR_JPEG.is_file(),
                                 reason=f"shared CIFAR-10 images not found at {CIFAR_JPEG}")


@pytest.fixture(scope="module", autouse=True)
def keras():
    from trainer.backend import TrainerUnavailable, keras

    try:
        return keras()
    except TrainerUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def cifar():
    if not CIFAR_JPEG.is_file():
        pytest.skip(f"shared CIFAR-10 images not found at {CIFAR_JPEG}")
    from trainer.cifar import load

    return load(CIFAR_JPEG)


def _spec(matrix, ops):
    from benchmark.space import ModelSpec

    return ModelSpec(matrix, ops)


def _built_parameters(spec, config=None) -> int:
    from trainer.config import TrainConfig
    from trainer.network import build_network, trainable_parameter_count

    return trainable_parameter_count(build_network(spec, config or TrainConfig(),
                                                   np.random.default_rng(0)))


def test_parameter_counts_of_known_cells(cells):
    from benchmark.space import cell_spec

    assert _built_parameters(_spec(INCEPTION_MATRIX, INCEPTION_OPS)) == 2_694_282
    best = cell_spec(cells.hex_hashes().index(BEST_HASH))
    assert _built_parameters(best) == 32_426_634


@pytest.mark.skipif(not NB101.is_dir(), reason=f"shared sample not found at {NB101}")
def test_parameter_counts_of_sampled_cells():
    with gzip.open(NB101 / "sample_30k.json.gz", "rt") as fh:
        sample = json.load(fh)
    rng = np.random.default_rng(8)
    for i in rng.choice(len(sample), 4, replace=False):
        cell = sample[int(i)]
        assert _built_parameters(_spec(cell["matrix"], cell["ops"])) == \
            cell["trainable_parameters"], cell["hash"]


def test_tiny_network_matches_the_analytic_count_for_any_size():
    from benchmark.space import trainable_parameters
    from trainer.config import TrainConfig

    config = TrainConfig.tiny(num_stacks=2, modules_per_stack=2)
    spec = _spec(INCEPTION_MATRIX, INCEPTION_OPS)
    assert _built_parameters(spec, config) == trainable_parameters(
        spec.matrix, spec.ops, **config.network())


def test_rmsprop_has_tf1_semantics(keras):
    """ms starts at 1, epsilon inside the root, momentum, L2 as a gradient term, lr 0 at step 0."""
    from trainer.optimizer import CosineByStep, TF1RMSProp

    var = keras.Variable(np.array([1.0, -2.0, 0.5], dtype="float32"))
    opt = TF1RMSProp(CosineByStep(0.2, 10), rho=0.9, momentum=0.9, epsilon=1.0, l2=1e-2)
    x, ms, mom = np.array([1.0, -2.0, 0.5]), np.ones(3), np.zeros(3)
    for step in range(5):
        g = np.array([0.5, 0.25, -1.0]) * (step + 1)
        opt.apply_gradients([(keras.ops.convert_to_tensor(g.astype("float32")), var)])
        lr = 0.0 if step == 0 else 0.5 * 0.2 * (1 + np.cos(np.pi * step / 10))
        g = g + 1e-2 * x
        ms = 0.9 * ms + 0.1 * g ** 2
        mom = 0.9 * mom + lr * g / np.sqrt(ms + 1.0)
        x = x - mom
        np.testing.assert_allclose(keras.ops.convert_to_numpy(var.value), x, rtol=1e-5, atol=1e-6)
    assert not np.allclose(x, [1.0, -2.0, 0.5])


def test_augment_is_a_padded_crop_with_flips():
    from trainer.augment import RGB_MEAN, RGB_STD, augment, normalise

    rng = np.random.default_rng(0)
    images = rng.integers(1, 256, (64, 32, 32, 3), dtype=np.uint8)
    out = augment(images, np.random.default_rng(1))
    padded = np.pad(images, ((0, 0), (4, 4), (4, 4), (0, 0)))
    flips = set()
    for i in range(len(images)):
        found = [(dy, dx, f) for dy in range(9) for dx in range(9) for f in (False, True)
                 if np.array_equal(out[i], (lambda w: w[:, ::-1] if f else w)(
                     padded[i, dy:dy + 32, dx:dx + 32]))]
        assert found, f"image {i} is not a crop of its padded image"
        flips.add(found[0][2])
    assert flips == {False, True}
    assert (out == 0).any()  # some crops reach into the zero padding
    np.testing.assert_allclose(normalise(images[:1])[0, 0, 0],
                               (images[0, 0, 0] - RGB_MEAN) / RGB_STD, rtol=1e-6)


def test_cifar_image_folder_split(cifar):
    assert (len(cifar.train), len(cifar.valid), len(cifar.test)) == (40_000, 10_000, 10_000)
    assert cifar.train.images.shape[1:] == (32, 32, 3) and cifar.train.images.dtype == np.uint8
    for split in (cifar.train, cifar.valid, cifar.test, cifar.train_eval):
        assert np.bincount(split.labels).min() == np.bincount(split.labels).max()
    # class-interleaved order: the first 10,000 training images stand in for batch 1
    np.testing.assert_array_equal(cifar.train_eval.images, cifar.train.images[:10_000])
    assert np.bincount(cifar.subset(2000, 500).train.labels).tolist() == [200] * 10


def test_cifar_official_tarball_downloads_and_loads(cifar, tmp_path, capsys):
    from harness.cli import main
    from trainer.cifar import load

    served = tmp_path / "served"
    served.mkdir()
    official_tarball(served / "cifar-10-python.tar.gz", cifar, per_batch=30, test_images=20)
    digest = hashlib.sha256((served / "cifar-10-python.tar.gz").read_bytes()).hexdigest()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/cifar-10-python.tar.gz"
    try:
        assert main(["data", "cifar10", "--dir", str(tmp_path / "dl"), "--url", url,
                     "--sha256", digest]) == 0
        assert main(["data", "cifar10", "--dir", str(tmp_path / "bad"), "--url", url,
                     "--sha256", "0" * 64]) == 2
        assert "does not match" in capsys.readouterr().err
    finally:
        server.shutdown()
    data = load(tmp_path / "dl" / "cifar-10-python.tar.gz")
    assert (len(data.train), len(data.valid), len(data.test)) == (120, 30, 20)
    np.testing.assert_array_equal(data.train.images, cifar.train.images[:120])
    np.testing.assert_array_equal(data.valid.labels, cifar.valid.labels[:30])
    np.testing.assert_array_equal(data.train_eval.images, cifar.train.images[:30])  # batch 1
    with tarfile.open(tmp_path / "dl" / "cifar-10-python.tar.gz") as tar:
        tar.extractall(tmp_path / "x", filter="data")
    extracted = load(tmp_path / "x")
    np.testing.assert_array_equal(extracted.test.images, data.test.images)


def test_cifar_bad_sources_name_the_culprit(tmp_path):
    from trainer.cifar import DatasetError, load

    with pytest.raises(DatasetError, match="no such file"):
        load(tmp_path / "missing.tar.gz")
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not a tarball at all")
    with pytest.raises(DatasetError, match="junk.tar.gz"):
        load(junk)
    folder = tmp_path / "imgs" / "train" / "cat"
    folder.mkdir(parents=True)
    (folder / "0000.jpg").write_bytes(b"garbage")
    with pytest.raises(DatasetError, match="0000.jpg is not an image"):
        load(tmp_path / "imgs")
    batches = tmp_path / "cifar-10-batches-py"
    batches.mkdir()
    (batches / "data_batch_1").write_bytes(b"\x80garbage")
    with pytest.raises(DatasetError, match="data_batch_1"):
        load(batches)


@pytest.fixture(scope="module")
def tiny_run(cifar):
    """The tiny network on 2,000 shared images for 2 epochs."""
    from trainer.config import TrainConfig
    from trainer.train import train

    return train(_spec(INCEPTION_MATRIX, INCEPTION_OPS), 2, cifar, TrainConfig.tiny(), seed=0,
                 progress=False)


@needs_cifar
def test_tiny_training_learns(tiny_run):
    start, half, final = tiny_run.evaluations
    assert (start.steps, half.steps, final.steps) == (1, 40, 80)
    assert start.training_time == 0.0 < half.training_time < final.training_time
    assert final.validation_accuracy >= 0.2, final  # chance is 0.1 (500 images: sd 0.013)
    assert final.train_accuracy >= 0.2 and final.test_accuracy >= 0.2
    assert tiny_run.module_hash == INCEPTION_HASH and tiny_run.attempts == 1


@needs_cifar
def test_tiny_training_is_deterministic(tiny_run, cifar):
    from trainer.config import TrainConfig
    from trainer.train import train

    again = train(_spec(INCEPTION_MATRIX, INCEPTION_OPS), 2, cifar, TrainConfig.tiny(), seed=0,
                  progress=False)
    accuracies = [(e.train_accuracy, e.validation_accuracy, e.test_accuracy)
                  for e in again.evaluations]
    assert accuracies == [(e.train_accuracy, e.validation_accuracy, e.test_accuracy)
                          for e in tiny_run.evaluations]


@needs_cifar
def test_result_round_trips_through_the_store(tiny_run, tmp_path, cells):
    from benchmark import NASBench
    from benchmark.data.convert import convert
    from benchmark.data.records import Run, adjacency_string, encode
    from benchmark.data.tfrecord import write_records
    from benchmark.space import representative

    stored = representative(_spec(INCEPTION_MATRIX, INCEPTION_OPS))
    runs = [Run(tiny_run.module_hash, 4, adjacency_string(stored.matrix.tolist()),
                ",".join(stored.ops), tiny_run.trainable_parameters, tiny_run.run_values(),
                tiny_run.total_time)] * 3
    write_records(tmp_path / "t.tfrecord", [encode(r) for r in runs])
    nb = NASBench(convert(tmp_path / "t.tfrecord", tmp_path / "t.store", progress=False))
    fixed, computed = nb.get_metrics_from_hash(INCEPTION_HASH)
    assert fixed["trainable_parameters"] == tiny_run.trainable_parameters
    final = tiny_run.evaluations[-1]
    assert computed[4][0]["final_validation_accuracy"] == pytest.approx(
        final.validation_accuracy, abs=1e-7)
    assert computed[4][2]["final_training_time"] == pytest.approx(final.training_time, rel=1e-6)


def test_cli_train_dry_run_and_bad_input(capsys):
    from harness.cli import main

    ops = ",".join(INCEPTION_OPS)
    assert main(["train", "--matrix", json.dumps(INCEPTION_MATRIX), "--ops", ops,
                 "--dry-run"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out == {**out, "module_hash": INCEPTION_HASH, "trainable_parameters": 2_694_282}
    for argv, culprit in [
            (["--matrix", "[[0,1],[0,0]", "--ops", "input,output"], "--matrix is not valid JSON"),
            (["--matrix", "[[0,1],[0,0]]", "--ops", "input,conv9x9"], "ops[-1] must be"),
            (["--matrix", "[[0,0],[0,0]]", "--ops", "input,output"], "not valid"),
            (["--matrix", "[[0,1],[0,0]]", "--ops", "input,output"], "--data is required"),
            (["--matrix", "[[0,1],[0,0]]", "--ops", "input,output", "--epochs", "5",
              "--data", "x"], "not a NAS-Bench-101 budget"),
            (["--matrix", "[[0,1],[0,0]]", "--ops", "input,output", "--data",
              "/nonexistent/cifar"], "/nonexistent/cifar: no such file")]:
        assert main(["train", *argv]) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("nasbench: error: ") and culprit in err and err.count("\n") == 1


def _build_table(out: Path, *extra: str) -> subprocess.Popen:
    cells = out.parent / "cells.json"
    cells.write_text(json.dumps([
        {"matrix": [[0, 1], [0, 0]], "ops": ["input", "output"]},
        {"matrix": [[0, 1, 0], [0, 0, 1], [0, 0, 0]], "ops": ["input", "conv3x3-bn-relu",
                                                           "output"]}]))
    return subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "build-table", "--cells", str(cells),
         "--epochs", "4", "--repeats", "3", "--data", str(CIFAR_JPEG), "--out", str(out),
         "--tiny", "--train-images", "200", "--eval-images", "100", *extra],
        cwd=ROOT, env={**os.environ, "PYTHONHASHSEED": "0"},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _accuracies(folder: Path) -> dict[str, tuple[float, ...]]:
    from benchmark.data.records import decode

    return {p.name: tuple(decode(p.read_bytes()).values[k] for k in (1, 2, 3, 5, 6, 7))
            for p in sorted((folder / "records").glob("*.rec"))}


@needs_cifar
@pytest.mark.slow
def test_build_table_resumes_after_kill_on_ray(tmp_path, cells):
    """SIGKILL after the first record, resume on a local Ray: same records as a clean build."""
    from benchmark import NASBench

    killed = tmp_path / "killed"
    proc = _build_table(killed)
    deadline = time.time() + 240
    while not list((killed / "records").glob("*.rec")) and proc.poll() is None:
        assert time.time() < deadline, "no record after 240 s"
        time.sleep(0.2)
    proc.kill()
    proc.wait()
    first = list((killed / "records").glob("*.rec"))
    assert 1 <= len(first) < 6 and not (killed / "table.tfrecord").exists()
    assert not list((killed / "records").glob(".*.tmp"))
    resumed = _build_table(killed, "--ray-address", "local")
    out, err = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, err
    assert out.strip().endswith("table.store")
    clean = tmp_path / "clean"
    proc = _build_table(clean)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    assert len(_accuracies(killed)) == 6 and _accuracies(killed) == _accuracies(clean)
    nb = NASBench(killed / "table.store")
    assert sorted(nb.hash_iterator()) == ["043721b9c7fe8c5fad811d47d83132ec",
                                          "b49ac8c578b4561d79ac7087988f1c61"]
    # the same folder with another plan is refused, in one line
    other = _build_table(killed, "--seed", "1")
    _, err = other.communicate(timeout=120)
    assert other.returncode == 2 and "different plan" in err and err.count("\n") == 1


_DATA_PARALLEL = """
import json, sys
import numpy as np
import jax
from benchmark.space import ModelSpec
from trainer.cifar import Cifar10, Split
from trainer.config import TrainConfig
from trainer.augment import prefetch, training_batches
from trainer.backend import keras
from trainer.devices import placement
from trainer.train import _Stepper, compiled, evaluation_set, train

arrays = np.load(sys.argv[1])
split = {k: Split(arrays[k + "_x"], arrays[k + "_y"]) for k in ("train", "valid", "test")}
data = Cifar10(split["train"], split["valid"], split["test"], split["valid"])
spec = ModelSpec(json.loads(sys.argv[2]), json.loads(sys.argv[3]))
out = {"devices": len(jax.devices("cpu"))}
for parallel in (False, True):
    # the same 3 steps (the first at learning rate 0) from the same weights on the same
    # batches: equal up to float rounding
    config = TrainConfig.tiny(train_images=1000, eval_images=200, device="cpu",
                              data_parallel=parallel)
    keras().backend.clear_session()
    with placement(config):
        model = compiled(spec, config, np.random.default_rng(0), total_steps=100)
        batches = prefetch(training_batches(data.train, config.batch_size,
                                            np.random.default_rng(1)))
        _Stepper(model, batches, 1, []).run(3)
        batches.close()
        out[f"weights {parallel}"] = [keras().ops.convert_to_numpy(w.value).ravel().tolist()
                                      for w in model.trainable_weights]
        images, _ = evaluation_set(data.valid, config.batch_size)
        out[f"logits {parallel}"] = model.predict(images, batch_size=50, verbose=0).tolist()
config = TrainConfig.tiny(train_images=1000, eval_images=200, device="cpu", data_parallel=True)
result = train(spec, 2, data, config, seed=0, progress=False)
out["accuracy"] = result.evaluations[-1].validation_accuracy
try:
    with placement(TrainConfig.tiny(batch_size=51, data_parallel=True, device="cpu")):
        pass
except ValueError as exc:
    out["error"] = str(exc)
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def small_arrays(cifar, tmp_path_factory) -> Path:
    """1,000 training and 200 evaluation images per split, as .npz for a subprocess."""
    small = cifar.subset(1000, 200)
    arrays = tmp_path_factory.mktemp("small") / "small.npz"
    np.savez(arrays, train_x=small.train.images, train_y=small.train.labels,
             valid_x=small.valid.images, valid_y=small.valid.labels,
             test_x=small.test.images, test_y=small.test.labels)
    return arrays


def test_data_parallel_over_two_devices_matches_one(small_arrays):
    """Keras DataParallel over 2 (virtual) CPU devices trains the same network as one device:
    3 steps from the same weights on the same batches give the same weights and logits up to
    float rounding (compared there: over whole runs, rounding differences in the gradient sums
    grow into different accuracies); a data-parallel run learns; a batch that does not split
    is refused."""
    from trainer.backend import keras

    if keras().backend.backend() != "jax":
        pytest.skip("the virtual-device check needs the JAX backend")
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu",
           "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    proc = subprocess.run([sys.executable, "-c", _DATA_PARALLEL, str(small_arrays),
                           json.dumps(INCEPTION_MATRIX), json.dumps(INCEPTION_OPS)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["devices"] == 2
    for one, two in zip(out["weights False"], out["weights True"]):
        np.testing.assert_allclose(two, one, rtol=1e-4, atol=1e-5)
    single = np.asarray(out["logits False"])
    np.testing.assert_allclose(out["logits True"], single, rtol=1e-3, atol=1e-4)
    assert np.ptp(single) > 0.1  # the outputs differ between images: a real comparison
    assert out["accuracy"] > 0.15  # it learned something (chance 0.1)
    assert out["error"] == "batch size 51 does not split over 2 cpu devices"


_TENSORFLOW = """
import json, sys
import numpy as np
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from benchmark.space import ModelSpec
from trainer.backend import keras
from trainer.cifar import Cifar10, Split
from trainer.config import TrainConfig
from trainer.devices import placement
from trainer.network import build_network, trainable_parameter_count
from trainer.train import train

arrays = np.load(sys.argv[1])
split = {k: Split(arrays[k + "_x"], arrays[k + "_y"]) for k in ("train", "valid", "test")}
data = Cifar10(split["train"], split["valid"], split["test"], split["valid"])
spec = ModelSpec(json.loads(sys.argv[2]), json.loads(sys.argv[3]))
out = {"backend": keras().backend.backend(), "parameters": trainable_parameter_count(
    build_network(spec, TrainConfig(), np.random.default_rng(0)))}
for parallel in (False, True):
    config = TrainConfig.tiny(train_images=1000, eval_images=200, device="cpu",
                              data_parallel=parallel)
    with placement(config) as replicas:
        out[f"replicas {parallel}"] = replicas
    result = train(spec, 2, data, config, seed=0, progress=False)
    out[str(parallel)] = [e.validation_accuracy for e in result.evaluations]
print(json.dumps(out))
"""


@pytest.mark.skipif(importlib.util.find_spec("tensorflow") is None,
                    reason="TensorFlow is not installed (the test-tf extra)")
def test_tensorflow_backend_builds_trains_and_mirrors(small_arrays):
    """On TensorFlow: the Inception-like network's parameter count, a tiny run that learns, and
    the same run over 2 logical CPUs with MirroredStrategy (per-replica batch norm, so its
    accuracies need not equal the single-device ones)."""
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.run([sys.executable, "-c", _TENSORFLOW, str(small_arrays),
                           json.dumps(INCEPTION_MATRIX), json.dumps(INCEPTION_OPS)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["backend"] == "tensorflow" and out["parameters"] == 2_694_282
    assert out["replicas False"] == 1 and out["replicas True"] == 2
    for parallel in ("False", "True"):
        assert out[parallel][0] < 0.15 < out[parallel][-1], out  # chance at step 0, then learns
