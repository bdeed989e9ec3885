"""aioslsk's side of the conformance suite (tests/tests/conformance.rs).

Reads one JSON request per line on stdin and answers one JSON line on stdout:

* ``{"op": "hello", "tables": {...}}`` -> aioslsk's version, every message
  direction aioslsk defines, the declared divergences and the probe results.
* ``{"op": "check", "kind", "code", "ours", "frame"}`` -> reads our frame
  with aioslsk and compares it with our values (through ``mapping``), then
  writes the same values with aioslsk and returns that frame for the Rust side
  to read.

Only aioslsk's protocol modules are used (standard library only).
"""

import dataclasses
import json
import logging
import sys
import traceback

import aioslsk
from aioslsk.protocol import messages as aio
from aioslsk.protocol.primitives import bytearr

import mapping

KIND_BASES = {
    "server-request": (aio.ServerMessage, "Request", aio.ServerMessage.deserialize_request),
    "server-response": (aio.ServerMessage, "Response", aio.ServerMessage.deserialize_response),
    "peer-init": (aio.PeerInitializationMessage, "Request", aio.PeerInitializationMessage.deserialize_request),
    "peer": (aio.PeerMessage, "Request", aio.PeerMessage.deserialize_request),
    "distributed": (aio.DistributedMessage, "Request", aio.DistributedMessage.deserialize_request),
}


class LeftoverBytes(logging.Handler):
    """aioslsk only logs a warning when a message has bytes it did not read;
    for the suite that is a disagreement."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        if "unparsed bytes" in record.getMessage():
            self.messages.append(record.getMessage())


LEFTOVERS = LeftoverBytes()
logging.getLogger("aioslsk.protocol.primitives").addHandler(LEFTOVERS)
logging.getLogger("aioslsk.protocol.primitives").propagate = False


def aio_classes():
    """(kind, code) -> (class path, class) for every direction aioslsk defines."""
    found = {}
    for kind, (base, direction, _) in KIND_BASES.items():
        for message in base.__subclasses__():
            cls = getattr(message, direction, None)
            if cls is not None:
                found[(kind, int(cls.MESSAGE_ID))] = (f"{message.__name__}.{direction}", cls)
    return found


AIO = aio_classes()


def plain(value):
    """aioslsk's decoded value as JSON-like data."""
    if dataclasses.is_dataclass(value):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (bytes, bytearray)):
        return list(value)
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def build(cls, values):
    """An aioslsk dataclass from JSON-like attribute values."""
    kwargs = {}
    for f in dataclasses.fields(cls):
        value = values[f.name]
        proto = f.metadata.get("type")
        sub = f.metadata.get("subtype")
        if value is not None:
            if dataclasses.is_dataclass(proto):
                value = build(proto, value)
            elif sub is not None and dataclasses.is_dataclass(sub):
                value = [build(sub, v) for v in value]
            elif proto is bytearr:
                value = bytes(value)
        kwargs[f.name] = value
    return cls(**kwargs)


def expected_attributes(kind, code, ours):
    """The aioslsk attribute values our message corresponds to."""
    _, _, convert = mapping.MESSAGES[(kind, code)]
    cls = AIO[(kind, code)][1]
    ours = ours or {}
    given = convert(ours) if convert else {}
    values = {}
    for f in dataclasses.fields(cls):
        if f.name in given:
            values[f.name] = given[f.name]
        elif f.name in ours:
            values[f.name] = ours[f.name]
        else:
            raise KeyError(f"mapping gives no value for aioslsk attribute {f.name!r}")
    return values


def compare(cls, expected, decoded, path=""):
    """Differences between expected and decoded attribute values. An absent
    optional field (None) matches the default aioslsk fills in."""
    problems = []
    for f in dataclasses.fields(cls):
        want, got = expected[f.name], decoded[f.name]
        default = f.default if f.default is not dataclasses.MISSING else None
        if want is None and got == plain(default):
            continue
        if want != got or type(want) is bool and type(got) is not bool:
            problems.append(f"{path}{f.name}: ours {want!r}, aioslsk {got!r}")
    return problems


def divergences_for(kind, code, ours):
    return [
        name for name, d in mapping.DIVERGENCES.items()
        if (kind, code) in d["messages"] and d["when"](ours or {})
    ]


def check(request):
    kind, code, ours = request["kind"], request["code"], request["ours"]
    path, cls = AIO[(kind, code)]
    reply = {"divergences": divergences_for(kind, code, ours)}
    try:
        expected = expected_attributes(kind, code, ours)
    except Exception as e:
        if not reply["divergences"]:
            raise  # a hole in the mapping
        # A value aioslsk's classes cannot hold (e.g. an embedded message
        # other than a search request): neither side can agree.
        problem = f"aioslsk has no form for this value ({type(e).__name__}: {e})"
        return {**reply, "ours_to_aioslsk": problem, "aioslsk_frame": None, "aioslsk_encode_error": problem}

    # Our frame, read by aioslsk through its own dispatch.
    frame = bytes.fromhex(request["frame"])
    LEFTOVERS.messages.clear()
    try:
        decoded = KIND_BASES[kind][2](frame)
        problems = []
        if type(decoded) is not cls:
            problems.append(f"aioslsk read it as {type(decoded).__qualname__}")
        else:
            problems += compare(cls, expected, plain(decoded))
        problems += LEFTOVERS.messages
        reply["ours_to_aioslsk"] = "; ".join(problems) or None
    except Exception as e:  # aioslsk failing on our frame is a result, not a crash
        reply["ours_to_aioslsk"] = f"aioslsk failed: {type(e).__name__}: {e}"

    # The same values, written by aioslsk.
    try:
        reply["aioslsk_frame"] = build(cls, expected).serialize().hex()
    except Exception as e:
        reply["aioslsk_frame"] = None
        reply["aioslsk_encode_error"] = f"{type(e).__name__}: {e}"
    return reply


def probe_frame(string_bytes):
    """A server AdminMessage (code 66) carrying the given string bytes."""
    payload = len(string_bytes).to_bytes(4, "little") + string_bytes
    body = (66).to_bytes(4, "little") + payload
    return len(body).to_bytes(4, "little") + body


def run_probe(probe):
    frame = probe_frame(bytes.fromhex(probe["string_bytes"]))
    try:
        got = aio.ServerMessage.deserialize_response(frame).message
    except Exception as e:
        got = None
        error = f"{type(e).__name__}"
    else:
        error = None
    return {
        "divergence": probe["divergence"],
        "note": probe["note"],
        "kind": "server-response",
        "frame": frame.hex(),
        "ours": {"AdminMessage": {"message": probe["ours"]}},
        "aioslsk_read": got,
        "aioslsk_error": error,
        "aioslsk_as_declared": got == probe["aioslsk"],
    }


def hello(request):
    mapping.TABLES.update(request["tables"])
    return {
        "aioslsk": aioslsk.__version__,
        "messages": [
            {"kind": kind, "code": code, "class": path,
             "ours": mapping.MESSAGES[(kind, code)][1] if (kind, code) in mapping.MESSAGES else None}
            for (kind, code), (path, _) in sorted(AIO.items())
        ],
        "divergences": [
            {"id": name, "messages": [list(m) for m in d["messages"]], "breaks": d["breaks"],
             "reason": d["reason"]}
            for name, d in mapping.DIVERGENCES.items()
        ],
        "probes": [run_probe(p) for p in mapping.PROBES],
    }


def main():
    handlers = {"hello": hello, "check": check}
    for line in sys.stdin:
        request = json.loads(line)
        try:
            reply = handlers[request["op"]](request)
        except Exception:
            reply = {"helper_error": traceback.format_exc()}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
