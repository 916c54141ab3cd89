"""JSON-protocol SQS model for Debian's old botocore/awscli.

Debian 12's awscli (2.9) and python3-botocore (1.29) talk to SQS with the old Query protocol,
which the emulator (fauxqs) rejects. This writes a copy of their SQS model switched to the
AWS JSON 1.0 protocol (as SQS itself now uses) into DEST/sqs/<version>/service-2.json; point
AWS_DATA_PATH (CLI) or the botocore loader (boto3) at DEST. When the installed model already
speaks JSON nothing is written.

    /usr/bin/python3 tests/lib/sqsjson.py DEST [--for awscli|botocore]   # prints DEST
"""
import glob
import importlib.util
import json
import os
import sys


def _model_dirs(flavour):
    """The sqs model folders of the awscli-bundled botocore or of python3-botocore."""
    name = "awscli" if flavour == "awscli" else "botocore"
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return []
    root = list(spec.submodule_search_locations)[0]
    data = os.path.join(root, "botocore", "data") if name == "awscli" else os.path.join(root, "data")
    return sorted(glob.glob(os.path.join(data, "sqs", "*", "service-2.json*")))


def to_json_protocol(model):
    """Returns the SQS model dict rewritten for the JSON 1.0 protocol (in place)."""
    md = model["metadata"]
    md["protocol"] = "json"
    md["jsonVersion"] = "1.0"
    md["targetPrefix"] = "AmazonSQS"
    md.pop("xmlNamespace", None)
    if "protocols" in md:
        md["protocols"] = ["json"]
    for shape in model["shapes"].values():
        shape.pop("flattened", None)
        shape.pop("locationName", None)
        kind = shape.get("type")
        if kind == "list":
            shape.get("member", {}).pop("locationName", None)
        elif kind == "map":
            shape.get("key", {}).pop("locationName", None)
            shape.get("value", {}).pop("locationName", None)
        elif kind == "structure":
            for member in shape.get("members", {}).values():
                member.pop("locationName", None)
                member.pop("flattened", None)
    for op in model.get("operations", {}).values():
        out = op.get("output")
        if out:
            out.pop("resultWrapper", None)
    return model


def prepare(dest, flavour="botocore"):
    """Writes the JSON-protocol model under dest; returns True if written, False if not needed."""
    paths = _model_dirs(flavour)
    if not paths:
        raise RuntimeError("no SQS model found for %s" % flavour)
    path = paths[-1]
    version = os.path.basename(os.path.dirname(path))
    if path.endswith(".gz"):
        import gzip
        with gzip.open(path, "rt", encoding="utf-8") as f:
            model = json.load(f)
    else:
        with open(path, encoding="utf-8") as f:
            model = json.load(f)
    if model["metadata"].get("protocol") == "json":
        return False
    out_dir = os.path.join(dest, "sqs", version)
    os.makedirs(out_dir, exist_ok=True)
    tmp = os.path.join(out_dir, "service-2.json.tmp%d" % os.getpid())
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(to_json_protocol(model), f)
    os.replace(tmp, os.path.join(out_dir, "service-2.json"))
    return True


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    flavour = "awscli"
    if len(argv) >= 4 and argv[2] == "--for":
        flavour = argv[3]
    prepare(argv[1], flavour)
    print(argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
