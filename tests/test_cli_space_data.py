"""``nasbench space`` and ``nasbench data`` as a user runs them."""
from __future__ import annotations

import functools
import hashlib
import http.server
import json
import shutil
import threading

import pytest

from harness.cli import main

from .conftest import INCEPTION_HASH, INCEPTION_MEAN_TEST, NB101, needs_shared


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_space_hash(capsys):
    code, out, _ = run(capsys, "space", "hash", "--matrix", "[[0,1],[0,0]]",
                       "--ops", "input,output")
    assert code == 0 and out.strip() == "043721b9c7fe8c5fad811d47d83132ec"


@pytest.mark.parametrize("matrix, ops, words", [
    ("[[0,1],[1,0]]", "input,output", "upper triangular"),
    ("[[0,1],[0,0", "input,output", "not valid JSON"),
    ("[[0,1],[0,0]]", "input,conv9x9,output", "length of ops"),
    ("[[0,0],[0,0]]", "input,output", "disconnected"),
])
def test_space_hash_bad_input_is_one_line_exit_2(capsys, matrix, ops, words):
    code, out, err = run(capsys, "space", "hash", "--matrix", matrix, "--ops", ops)
    assert code == 2 and out == ""
    assert err.startswith("nasbench: error:") and words in err and err.count("\n") == 1


def test_space_info_and_export(capsys, cells, tmp_path):
    code, out, _ = run(capsys, "space", "info")
    assert code == 0 and "7\t359082" in out and "total\t423624" in out
    target = tmp_path / "cells.tsv"
    code, _, _ = run(capsys, "space", "export", "--out", str(target))
    lines = target.read_text().splitlines()
    assert code == 0 and len(lines) == 423_625
    assert lines[0].split("\t") == ["hash", "adjacency", "ops", "num_vertices", "num_edges",
                                    "trainable_parameters"]
    rows = [line.split("\t") for line in lines[1:]]
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)
    inception = next(r for r in rows if r[0] == INCEPTION_HASH)
    assert inception[1] == "0111100000000100000010000001000001000000010000000"
    assert inception[2].startswith("input,conv3x3-bn-relu,conv1x1-bn-relu,maxpool3x3")
    assert inception[3:] == ["7", "9", "2694282"]


@needs_shared
def test_data_convert_info_query(capsys, tmp_path):
    out_dir = tmp_path / "store"
    code, _, _ = run(capsys, "data", "convert", str(NB101 / "fixture_only108.tfrecord"),
                     "--out", str(out_dir))
    assert code == 0
    code, out, _ = run(capsys, "data", "info", str(out_dir))
    info = json.loads(out)
    assert info["cells"] == 31 and info["budgets"] == [108] and info["kind"] == "NAS-Bench-101"
    assert info["best_mean_test_accuracy"] == INCEPTION_MEAN_TEST
    code, out, _ = run(capsys, "data", "query", "--hash", INCEPTION_HASH, "--data", str(out_dir))
    data = json.loads(out)
    assert code == 0 and data["trainable_parameters"] == 2694282 and len(data["runs"]["108"]) == 3
    code, out, err = run(capsys, "data", "query", "--hash", INCEPTION_HASH, "--epochs", "12",
                         "--data", str(out_dir))
    assert code == 2 and "12" in err


def test_data_info_on_a_missing_store(capsys, tmp_path):
    code, _, err = run(capsys, "data", "info", str(tmp_path / "nope"))
    assert code == 2 and "nope" in err and err.count("\n") == 1


@needs_shared
def test_download_resumes_verifies_and_converts(tmp_path):
    from benchmark.data.download import download

    served = tmp_path / "served"
    served.mkdir()
    payload = (NB101 / "fixture_only108.tfrecord").read_bytes()
    (served / "nb.tfrecord").write_bytes(payload)
    digest = hashlib.sha256(payload).hexdigest()
    handler = functools.partial(_RangeHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/nb.tfrecord"
    try:
        dest = tmp_path / "dl"
        dest.mkdir()
        (dest / "nasbench_only108.tfrecord.part").write_bytes(payload[:1000])  # resume
        store = download("only108", dest, url=url, sha256=digest, progress=False)
        assert (dest / "nasbench_only108.tfrecord").read_bytes() == payload
        assert _RangeHandler.ranges[-1] == "bytes=1000-"
        assert (store / "manifest.json").exists()
        from benchmark.errors import DataFormatError

        shutil.rmtree(dest)
        with pytest.raises(DataFormatError, match="does not match"):
            download("only108", dest, url=url, sha256="0" * 64, progress=False)
        assert not list(dest.glob("*.part"))
        with pytest.raises(OSError, match="404"):
            download("only108", dest, url=url + "x", sha256=digest, progress=False)
    finally:
        server.shutdown()


class _RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Static files with single ``Range: bytes=N-`` support."""

    ranges: list[str] = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        spec = self.headers.get("Range")
        if not spec:
            return super().do_GET()
        _RangeHandler.ranges.append(spec)
        path = self.translate_path(self.path)
        try:
            data = open(path, "rb").read()
        except OSError:
            return self.send_error(404)
        start = int(spec.split("=")[1].rstrip("-"))
        self.send_response(206)
        self.send_header("Content-Length", str(len(data) - start))
        self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.end_headers()
        self.wfile.write(data[start:])
