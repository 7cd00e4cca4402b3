"""``ModelMetrics`` message classes built at import time from ``model_metrics.proto``.

The schema is read from the ``.proto`` kept beside this file and turned into a
``FileDescriptorProto`` for the protobuf runtime, so no generated code (and no pin of the
protobuf version that generated code would impose next to TensorFlow) is needed.  The parser
accepts the proto2 subset that file uses: messages with ``optional``/``repeated`` scalar,
string and message fields.
"""
from __future__ import annotations

import re
from pathlib import Path

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import Message

PROTO_PATH = Path(__file__).with_name("model_metrics.proto")

_FDP = descriptor_pb2.FieldDescriptorProto
_SCALARS = {"double": _FDP.TYPE_DOUBLE, "float": _FDP.TYPE_FLOAT, "int32": _FDP.TYPE_INT32,
            "int64": _FDP.TYPE_INT64, "bool": _FDP.TYPE_BOOL, "string": _FDP.TYPE_STRING}
_LABELS = {"optional": _FDP.LABEL_OPTIONAL, "repeated": _FDP.LABEL_REPEATED,
           "required": _FDP.LABEL_REQUIRED}


def parse_proto(text: str, name: str) -> descriptor_pb2.FileDescriptorProto:
    """A ``FileDescriptorProto`` for the simple proto2 file ``text``."""
    text = re.sub(r"//[^\n]*", "", text)
    fdp = descriptor_pb2.FileDescriptorProto(name=name, syntax="proto2")
    package = re.search(r"\bpackage\s+([\w.]+)\s*;", text)
    fdp.package = package.group(1) if package else ""
    for msg_name, body in re.findall(r"\bmessage\s+(\w+)\s*\{([^}]*)\}", text):
        msg = fdp.message_type.add(name=msg_name)
        for label, ftype, fname, number in re.findall(
                r"\b(optional|repeated|required)\s+([\w.]+)\s+(\w+)\s*=\s*(\d+)\s*;", body):
            field = msg.field.add(name=fname, number=int(number), label=_LABELS[label])
            if ftype in _SCALARS:
                field.type = _SCALARS[ftype]
            else:
                field.type = _FDP.TYPE_MESSAGE
                field.type_name = f".{fdp.package}.{ftype}" if fdp.package else f".{ftype}"
    return fdp


def _load() -> tuple[type[Message], type[Message]]:
    pool = descriptor_pool.DescriptorPool()
    pool.Add(parse_proto(PROTO_PATH.read_text(), PROTO_PATH.name))
    return tuple(message_factory.GetMessageClass(pool.FindMessageTypeByName(f"nasbench.{name}"))
                 for name in ("ModelMetrics", "EvaluationData"))


ModelMetrics, EvaluationData = _load()
