#!/usr/bin/env bash
# Tests of the PyTorch tracer workloads/tools/trace_torch.py: traces real training steps of
# resnet18, mobilenet_v2 (batch 1, 3x64x64 and 3x224x224), the two modules of
# tests/data/tracer/attention_module.py and the one of tests/data/tracer/mixed_module.py, and
# checks
#   * the layers and GEMM shapes against the rules of models/workload/workload.h;
#   * that lbsim loads every trace written (`lbsim workload show`), and that every trace's ops
#     are the layer's own expansion by lbsim (models/workload/expand.cpp: op names, phases,
#     element counts, GEMM shapes) less the phases that did not run;
#   * the zoo cross-check: the 224x224 traces against `lbsim workload show resnet18|mobilenet_v2
#     --batch 1 --out`, layer by layer by name (fields and every op);
#   * the --dump-tensors files (shapes, and for a module run twice the values, recomputed here);
#   * that bad arguments exit 2 without writing anything.
# Usage: test_tracer.sh path/to/lbsim   (CTest passes the lbsim executable)
# Skips (exit 0) only when Debian's /usr/bin/python3 cannot import torch.
set -euo pipefail
PY=/usr/bin/python3
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TRACER=$ROOT/workloads/tools/trace_torch.py
ATTN=$ROOT/tests/data/tracer/attention_module.py
MIXED=$ROOT/tests/data/tracer/mixed_module.py
LBSIM=${1:-}
export OMP_NUM_THREADS=1  # small models on a shared machine
export PYTHONDONTWRITEBYTECODE=1  # no __pycache__ next to tests/data/tracer/*.py

if ! $PY -c 'import torch' 2>/dev/null; then
  echo "SKIP: $PY cannot import torch (apt-get install python3-torch python3-torchvision" \
    "python3-yaml python3-numpy); tracer not tested"
  exit 0
fi

[ -n "$LBSIM" ] && [ -x "$LBSIM" ] || { echo "usage: $0 path/to/lbsim" >&2; exit 2; }
LBSIM=$(cd "$(dirname "$LBSIM")" && pwd)/$(basename "$LBSIM")

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }

trace() { $PY "$TRACER" "$@" 2>stderr.txt || fail "tracer failed: $* ($(cat stderr.txt))"; }

trace --model resnet18 --batch 1 --input 3,64,64 --out r18.yaml \
  --dump-tensors dumps --layers conv1,layer1.0.conv2,fc
trace --model mobilenet_v2 --batch 1 --input 3,64,64 --out mbv2.yaml
trace --module "$ATTN:TinyTransformer" --batch 2 --input 8,32 --out attn.yaml \
  --dump-tensors adumps --layers attn.qkv
trace --module "$ATTN:SharedAttention" --batch 1 --input 8,32 --out shared.yaml --seed 3 \
  --dump-tensors sdumps --layers attn.qkv,attn.qkv_1
trace --module "$MIXED:MixedLayers" --batch 2 --input 1,10,10 --out mixed.yaml
trace --model resnet18 --batch 1 --input 3,224,224 --out r18_224.yaml
trace --model mobilenet_v2 --batch 1 --input 3,224,224 --out mbv2_224.yaml
TRACES="r18.yaml mbv2.yaml attn.yaml shared.yaml mixed.yaml r18_224.yaml mbv2_224.yaml"

# lbsim loads every trace; and expands each trace's layers itself (the trace without its ops,
# written back with the expansion by `workload show --out`) for the comparison below.
lbsim() { "$LBSIM" "$@" >lbsim.txt 2>&1 || fail "lbsim $* exited $? ($(cat lbsim.txt))"; }
$PY - $TRACES <<'PY'
import sys
import yaml
for path in sys.argv[1:]:
    with open(path) as f:
        doc = yaml.safe_load(f)
    for layer in doc["layers"]:
        del layer["ops"]
    with open("noops." + path, "w") as f:  # same directory: the tensors paths stay valid
        yaml.safe_dump(doc, f, sort_keys=False)
PY
for t in $TRACES; do
  lbsim workload show "$t"
  lbsim workload show "noops.$t" --out "expanded.$t"
done
lbsim workload show resnet18 --batch 1 --out zoo_r18.yaml
lbsim workload show mobilenet_v2 --batch 1 --out zoo_mbv2.yaml

ATTN="$ATTN" MIXED="$MIXED" TRACES="$TRACES" $PY - <<'PY'
import importlib.util
import os
import re
import sys

import numpy as np
import torch
import yaml

errors = []


def check(cond, msg):
    if not cond:
        errors.append(msg)


def load(path):
    with open(path) as f:
        return yaml.safe_load(f)


def gemms(layer, phase):
    return [(o["m"], o["n"], o["k"], o.get("groups", 1)) for o in layer["ops"]
            if o["phase"] == phase and o["op"] == "gemm"]


def vectors(layer, phase):
    return [(o["name"], o["elements"]) for o in layer["ops"]
            if o["phase"] == phase and o["op"] == "vector"]


def check_update(l, params, path):
    """sgd_momentum over the layer's parameters, once: on the first call of a repeated module."""
    upd = vectors(l, "update")
    later_call = re.search(r"_[1-9][0-9]*$", l["name"]) is not None
    want = [] if later_call else [("sgd_momentum", params)]
    check(upd == want, f"{path}: {l['name']}: update {upd}, want {want}")


def check_common(doc, path, network, batch, inp):
    """Header, unique names, op keys, and the workload.h formulas for conv2d/linear/matmul."""
    check(list(doc)[:7] == ["schema_version", "network", "batch", "input", "training",
                            "smp_samples", "layers"], f"{path}: header keys {list(doc)}")
    check(doc["schema_version"] == 1 and doc["network"] == network and doc["batch"] == batch
          and doc["input"] == inp and doc["training"] is True and doc["smp_samples"] == 1,
          f"{path}: header values")
    names = [l["name"] for l in doc["layers"]]
    check(len(names) == len(set(names)), f"{path}: duplicate layer names")
    check(doc["layers"][-1]["type"] == "softmax_cross_entropy", f"{path}: last layer not the loss")
    for l in doc["layers"]:
        n = l["name"]
        for o in l["ops"]:
            keys = set(o)
            if o["op"] == "gemm":
                ok = {"phase", "op", "m", "n", "k"} <= keys <= {"phase", "op", "m", "n", "k",
                                                                "groups", "samples"}
                ok = ok and o.get("groups", 2) > 1 and o.get("samples", 2) > 1
                ok = ok and min(o["m"], o["n"], o["k"]) > 0
            else:
                ok = keys == {"phase", "op", "name", "elements"} and o["elements"] > 0
            check(ok and o["phase"] in ("fwd", "dgrad", "wgrad", "update"), f"{path}: {n}: op {o}")
        check(l["ops"][0]["phase"] == "fwd", f"{path}: {n}: first op not fwd")
        t = l["type"]
        if t == "conv2d":
            g = l["groups"]
            r, s = l["kernel"]
            ci, co = l["in_channels"] // g, l["out_channels"] // g
            ho, wo = [(l["input_hw"][i] + 2 * l["padding"][i] - l["dilation"][i] * (l["kernel"][i] - 1)
                       - 1) // l["stride"][i] + 1 for i in (0, 1)]
            check([ho, wo] == l["output_hw"], f"{path}: {n}: output_hw {l['output_hw']} vs {[ho, wo]}")
            pix = batch * ho * wo
            check(gemms(l, "fwd") == [(pix, co, ci * r * s, g)], f"{path}: {n}: fwd {gemms(l, 'fwd')}")
            dg = [(pix, ci * r * s, co, g)] if l["input_grad"] else []
            check(gemms(l, "dgrad") == dg, f"{path}: {n}: dgrad {gemms(l, 'dgrad')}")
            c2i = [("col2im", batch * l["in_channels"] * r * s * ho * wo)] if l["input_grad"] else []
            check(vectors(l, "dgrad") == c2i, f"{path}: {n}: col2im {vectors(l, 'dgrad')}")
            check(gemms(l, "wgrad") == [(ci * r * s, co, pix, g)], f"{path}: {n}: wgrad")
            check_update(l, l["out_channels"] * ci * r * s + (l["out_channels"] if l["bias"] else 0),
                         path)
        elif t == "linear":
            rows, fi, fo = l["rows"], l["in_features"], l["out_features"]
            check(gemms(l, "fwd") == [(rows, fo, fi, 1)], f"{path}: {n}: fwd")
            dg = [(rows, fi, fo, 1)] if l["input_grad"] else []
            check(gemms(l, "dgrad") == dg, f"{path}: {n}: dgrad")
            check(gemms(l, "wgrad") == [(fi, fo, rows, 1)], f"{path}: {n}: wgrad")
            check_update(l, fi * fo + (fo if l["bias"] else 0), path)
        elif t == "matmul":
            check(gemms(l, "fwd") == [(l["m"], l["n"], l["k"], l["count"])], f"{path}: {n}: fwd")


def of_type(doc, t):
    return [l for l in doc["layers"] if l["type"] == t]


def by_name(doc):
    return {l["name"]: l for l in doc["layers"]}


# ---- resnet18, batch 1, 3x64x64
r18 = load("r18.yaml")
check_common(r18, "r18.yaml", "resnet18", 1, [3, 64, 64])
check(len(of_type(r18, "conv2d")) == 20, f"resnet18: {len(of_type(r18, 'conv2d'))} conv2d, want 20")
check(len(of_type(r18, "linear")) == 1, "resnet18: want 1 linear")
check(len(of_type(r18, "add")) == 8, f"resnet18: {len(of_type(r18, 'add'))} adds, want 8 (blocks)")
first = r18["layers"][0]
check(first["name"] == "conv1" and first["input_grad"] is False and not gemms(first, "dgrad")
      and not vectors(first, "dgrad"), f"resnet18: first conv {first['name']} has dgrad")
check(gemms(first, "fwd") == [(32 * 32, 64, 3 * 7 * 7, 1)] and first["output_hw"] == [32, 32],
      f"resnet18: conv1 fwd {gemms(first, 'fwd')}")
check(all(l["input_grad"] for l in of_type(r18, "conv2d")[1:]), "resnet18: later conv without dgrad")
L = by_name(r18)
check("layer1.0.relu" in L and "layer1.0.relu_1" in L and "layer1.0.relu_2" not in L,
      "resnet18: the block's ReLU runs twice: want relu/relu_1 names (as the zoo)")
check(L.get("layer4.1.conv2", {}).get("output_hw") == [2, 2], "resnet18: layer4 output 2x2")
check(L.get("fc", {}).get("rows") == 1 and L["fc"]["in_features"] == 512, "resnet18: fc fields")
check(vectors(L["bn1"], "update") == [("sgd_momentum", 128)], "resnet18: bn1 update 2*64")
check(L["loss"]["classes"] == 1000, "resnet18: loss classes")

# ---- mobilenet_v2, batch 1, 3x64x64
mb = load("mbv2.yaml")
check_common(mb, "mbv2.yaml", "mobilenet_v2", 1, [3, 64, 64])
convs = of_type(mb, "conv2d")
check(len(convs) == 52, f"mobilenet_v2: {len(convs)} conv2d, want 52")
check(len(of_type(mb, "linear")) == 1, "mobilenet_v2: want 1 linear")
check(len(of_type(mb, "add")) == 10, f"mobilenet_v2: {len(of_type(mb, 'add'))} adds, want 10")
dw = [l for l in convs if l["groups"] > 1]
check(len(dw) == 17, f"mobilenet_v2: {len(dw)} depthwise convs, want 17")
for l in dw:
    fwd = gemms(l, "fwd")[0]
    check(l["groups"] == l["in_channels"] == l["out_channels"] and fwd[1] == 1 and fwd[2] == 9
          and fwd[3] == l["groups"], f"mobilenet_v2: {l['name']}: depthwise fwd {fwd}")
check(convs[0]["input_grad"] is False and not gemms(convs[0], "dgrad"), "mobilenet_v2: first conv")

# ---- attention module, batch 2, 8 tokens x 32
spec = importlib.util.spec_from_file_location("attn", os.environ["ATTN"])
A = importlib.util.module_from_spec(spec)
spec.loader.exec_module(A)
at = load("attn.yaml")
check_common(at, "attn.yaml", "TinyTransformer", 2, [A.TOKENS, A.DIM])
mm = of_type(at, "matmul")
count = 2 * A.HEADS
want = [("attn.matmul", (count, A.TOKENS, A.TOKENS, A.HEAD_DIM)),   # q @ k^T
        ("attn.matmul_1", (count, A.TOKENS, A.HEAD_DIM, A.TOKENS))]   # probs @ v
got = [(l["name"], (l["count"], l["m"], l["n"], l["k"])) for l in mm]
check(got == want, f"attention: matmul layers {got}, want {want}")
for l in mm:
    c, m, n, k = l["count"], l["m"], l["n"], l["k"]
    check(sorted(gemms(l, "dgrad")) == sorted([(m, k, n, c), (k, n, m, c)]),
          f"attention: {l['name']}: dgrad {gemms(l, 'dgrad')}")
    check(not gemms(l, "wgrad") and not vectors(l, "update"), f"attention: {l['name']}: has wgrad")
AL = by_name(at)
check([l["name"] for l in of_type(at, "linear")] == ["attn.qkv", "attn.proj", "head"],
      "attention: linear layers")
check(AL["attn.qkv"]["rows"] == 2 * A.TOKENS and AL["head"]["rows"] == 2, "attention: rows")
check(AL.get("norm", {}).get("type") == "layer_norm" and AL["norm"]["features"] == A.DIM,
      "attention: layer_norm")
check(AL.get("attn.softmax", {}).get("kind") == "softmax", "attention: softmax activation")
check(AL.get("add", {}).get("elements") == A.TOKENS * A.DIM, "attention: residual add")
order = [l["name"] for l in at["layers"]]
check(order.index("attn.qkv") < order.index("attn.matmul") < order.index("attn.softmax")
      < order.index("attn.matmul_1") < order.index("attn.proj") < order.index("head"),
      f"attention: execution order {order}")

# ---- --dump-tensors
def check_dump(doc, path, layer, shapes):
    l = by_name(doc)[layer]
    check(sorted(l.get("tensors", {})) == ["activation", "error", "weight"], f"{path}: {layer}: tensors")
    arrays = {}
    for role, shape in shapes.items():
        p = os.path.join(os.path.dirname(os.path.abspath(path)), l["tensors"][role])
        check(os.path.isfile(p), f"{path}: {layer}: {role}: {p} missing")
        if os.path.isfile(p):
            a = np.load(p)
            check(a.dtype == np.float32 and a.flags.c_contiguous and a.shape == shape
                  and np.isfinite(a).all(), f"{layer}.{role}: {a.dtype} {a.shape}, want {shape}")
            arrays[role] = a
    return arrays


check_dump(r18, "r18.yaml", "conv1",
           {"activation": (1, 3, 64, 64), "weight": (64, 3, 7, 7), "error": (1, 64, 32, 32)})
check_dump(r18, "r18.yaml", "layer1.0.conv2",
           {"activation": (1, 64, 16, 16), "weight": (64, 64, 3, 3), "error": (1, 64, 16, 16)})
fc = check_dump(r18, "r18.yaml", "fc",
                {"activation": (1, 512), "weight": (1000, 512), "error": (1, 1000)})
if "error" in fc:  # d(mean CE)/d(logits) = softmax - onehot: sums to 0, one negative entry
    e = fc["error"][0]
    check(abs(e.sum()) < 1e-5 and (e < 0).sum() == 1, "fc.error is not softmax - onehot")
check(sorted(os.listdir("dumps")) == sorted(f"{l}.{r}.npy" for l in ("conv1", "layer1.0.conv2", "fc")
                                            for r in ("activation", "weight", "error")),
      f"dumps/: {sorted(os.listdir('dumps'))}")
check_dump(at, "attn.yaml", "attn.qkv", {"activation": (2 * A.TOKENS, A.DIM),
                                         "weight": (3 * A.DIM, A.DIM), "error": (2 * A.TOKENS, 3 * A.DIM)})
check(all("tensors" not in l for l in r18["layers"] if l["name"] not in ("conv1", "layer1.0.conv2", "fc")),
      "resnet18: tensors on an unselected layer")

# ---- one module run twice (SharedAttention): name, name_1, update once, the dumps of each
# call are that call's real tensors (recomputed here with the tracer's documented random order:
# manual_seed, model construction, randn input, randint targets).
sh = load("shared.yaml")
check_common(sh, "shared.yaml", "SharedAttention", 1, [A.TOKENS, A.DIM])
SL = by_name(sh)
q0, q1 = SL.get("attn.qkv"), SL.get("attn.qkv_1")
check(q0 is not None and q1 is not None and "attn.qkv_2" not in SL, "shared: qkv call names")
check(len(of_type(sh, "matmul")) == 4 and "attn.matmul_3" in SL, "shared: 4 matmuls")
if q0 and q1:
    check(q0["input_grad"] is False and not gemms(q0, "dgrad") and gemms(q1, "dgrad"),
          "shared: the first qkv call's input is the model input (no dgrad), the second's is not")
    check(gemms(q0, "wgrad") and gemms(q1, "wgrad"), "shared: wgrad in both calls")
    check(vectors(q0, "update") == [("sgd_momentum", 3 * A.DIM * A.DIM + 3 * A.DIM)]
          and not vectors(q1, "update"), "shared: update once, on the first call")
torch.manual_seed(3)
model = A.SharedAttention()
x = torch.randn(1, A.TOKENS, A.DIM)
seen = []
def fwd_hook(m, inp, out):
    out.retain_grad()
    seen.append((inp[0].detach().reshape(-1, A.DIM).clone(), out))
model.attn.qkv.register_forward_hook(fwd_hook)
logits = model(x)
torch.nn.functional.cross_entropy(logits, torch.randint(0, A.CLASSES, (1,))).backward()
for i, (act, out) in enumerate(seen):
    want = {"activation": act.numpy(), "weight": model.attn.qkv.weight.detach().numpy(),
            "error": out.grad.reshape(-1, 3 * A.DIM).numpy()}
    for role, w in want.items():
        name = "attn.qkv" if i == 0 else f"attn.qkv_{i}"
        got = np.load(f"sdumps/{name}.{role}.npy")
        check(got.shape == w.shape and np.allclose(got, w, rtol=1e-5, atol=1e-7),
              f"shared: {name}.{role} differs from the recomputed tensor")

# ---- vector-op names, phases and element counts of the layer types the zoo does not cover
spec = importlib.util.spec_from_file_location("mixed", os.environ["MIXED"])
M = importlib.util.module_from_spec(spec)
spec.loader.exec_module(M)
mx = load("mixed.yaml")
check_common(mx, "mixed.yaml", "MixedLayers", 2, [1, M.SIDE, M.SIDE])
check([l["name"] for l in mx["layers"]] == ["embed", "norm", "conv", "bn", "gelu", "maxpool",
                                            "pool", "adapt", "drop", "head", "loss"],
      f"mixed: layers {[l['name'] for l in mx['layers']]} (a Dropout with p=0 or "
      "training=False runs nothing: not traced)")
ML = by_name(mx)


def vec_ops(l):
    return [(o["phase"], o["name"], o["elements"]) for o in l["ops"] if o["op"] == "vector"]


tokens = 2 * M.SIDE * M.SIDE
pix = 2 * M.CH * M.SIDE * M.SIDE
want = {
    "embed": [("fwd", "embedding_gather", tokens * M.DIM),
              ("wgrad", "embedding_scatter", tokens * M.DIM),
              ("update", "sgd_momentum", M.VOCAB * M.DIM)],
    "norm": [("fwd", "ln_fwd", tokens * M.DIM), ("wgrad", "ln_param_grad", tokens * M.DIM),
             ("dgrad", "ln_bwd", tokens * M.DIM), ("update", "sgd_momentum", 2 * M.DIM)],
    "bn": [("fwd", "bn_fwd", pix), ("dgrad", "bn_bwd", pix)],  # affine=False: no parameters
    "gelu": [("fwd", "gelu_fwd", pix), ("dgrad", "gelu_bwd", pix)],
    "maxpool": [("fwd", "maxpool_fwd", pix), ("dgrad", "maxpool_bwd", pix)],
    "pool": [("fwd", "avgpool_fwd", pix // 4), ("dgrad", "avgpool_bwd", pix // 4)],
    "adapt": [("fwd", "adaptive_avgpool_fwd", 2 * M.CH * M.ADAPT**2),
              ("dgrad", "adaptive_avgpool_bwd", 2 * M.CH * M.ADAPT**2)],
    "drop": [("fwd", "dropout_fwd", 2 * M.CH * M.ADAPT**2),
             ("dgrad", "dropout_bwd", 2 * M.CH * M.ADAPT**2)],
    "loss": [("fwd", "softmax_xent_fwd", 2 * M.CLASSES),
             ("dgrad", "softmax_xent_bwd", 2 * M.CLASSES)],
}
for name, w in want.items():
    got = vec_ops(ML[name]) if name in ML else None
    check(got == w, f"mixed: {name}: vector ops {got}, want {w}")
check(ML["embed"]["input_grad"] is False and ML["conv"]["input_grad"] is False,
      "mixed: embed/conv read the network input: input_grad false")
check("kernel" not in ML["adapt"] and ML["maxpool"]["kernel"] == [3, 3],
      "mixed: an adaptive_avg pool has no window fields, a max pool has")
# the attention's norm reads the network input: its parameter gradient (wgrad) without dgrad
check(vec_ops(AL["norm"]) == [("fwd", "ln_fwd", 2 * A.TOKENS * A.DIM),
                              ("wgrad", "ln_param_grad", 2 * A.TOKENS * A.DIM),
                              ("update", "sgd_momentum", 2 * A.DIM)],
      f"attention: norm ops {vec_ops(AL['norm'])}")
check(vec_ops(L["maxpool"]) == [("fwd", "maxpool_fwd", 64 * 16 * 16),
                                ("dgrad", "maxpool_bwd", 64 * 16 * 16)],
      f"resnet18: maxpool ops {vec_ops(L['maxpool'])} (output elements)")


# ---- every trace's ops = lbsim's own expansion of the layer (expanded.<trace>, written by
# `lbsim workload show noops.<trace> --out`) less the phases that did not run, in its order.
def resolved(layer):
    """The layer's ops as lbsim resolves them: a GEMM without `groups` takes the expansion's
    (the conv's groups, the matmul's count)."""
    dflt = {"conv2d": layer.get("groups", 1), "matmul": layer.get("count", 1)}.get(layer["type"], 1)
    return [(o["phase"], "gemm", o["m"], o["n"], o["k"], o.get("groups", dflt),
             o.get("samples", 1)) if o["op"] == "gemm" else
            (o["phase"], o["name"], o["elements"], o.get("ops_per_element")) for o in layer["ops"]]


def is_subsequence(sub, seq):
    it = iter(seq)
    return all(any(x == y for y in it) for x in sub)


for path in os.environ["TRACES"].split():
    tr, ex = load(path), load("expanded." + path)
    check([l["name"] for l in tr["layers"]] == [l["name"] for l in ex["layers"]],
          f"{path}: lbsim's layers differ")
    for lt, le in zip(tr["layers"], ex["layers"]):
        got, full = resolved(lt), resolved(le)
        check(is_subsequence(got, full), f"{path}: {lt['name']}: ops {got} are not lbsim's "
              f"expansion {full} less the phases that did not run")
        check([o for o in got if o[0] == "fwd"] == [o for o in full if o[0] == "fwd"],
              f"{path}: {lt['name']}: fwd ops {got}, lbsim expands {full}")


# ---- zoo cross-check: the 224x224 traces against lbsim's zoo, layer by layer by name. Both name
# a repeated call "<path>", "<path>_1", ...; the one known difference is MobileNetV2's functional
# F.adaptive_avg_pool2d, which has no module path: "adaptive_avgpool" in a trace, "avgpool" in
# the zoo.
def zoo_name(name, aliases):
    return aliases.get(name, name)


for net, path, zpath, aliases in [("resnet18", "r18_224.yaml", "zoo_r18.yaml", {}),
                                  ("mobilenet_v2", "mbv2_224.yaml", "zoo_mbv2.yaml",
                                   {"adaptive_avgpool": "avgpool"})]:
    tr, zoo = load(path), load(zpath)
    check_common(tr, path, net, 1, [3, 224, 224])
    tnames = [zoo_name(l["name"], aliases) for l in tr["layers"]]
    znames = [l["name"] for l in zoo["layers"]]
    only_t = [n for n in tnames if n not in znames]
    only_z = [n for n in znames if n not in tnames]
    check(tnames == znames,
          f"{net}: layer names/order differ from the zoo: only traced {only_t}, only zoo {only_z}")
    Z = by_name(zoo)
    gemm_ops = updates = vec_layers = 0
    for lt in tr["layers"]:
        lz = Z.get(zoo_name(lt["name"], aliases))
        if lz is None:
            continue
        ft = {k: v for k, v in lt.items() if k not in ("name", "ops")}
        fz = {k: v for k, v in lz.items() if k not in ("name", "ops")}
        check(ft == fz, f"{net}: {lt['name']}: fields {ft}, zoo {fz}")
        got, want = resolved(lt), resolved(lz)
        check(got == want, f"{net}: {lt['name']}: ops {got}, zoo {want}")
        if got == want:
            gemm_ops += sum(o[1] == "gemm" for o in got)
            updates += sum(o[0] == "update" for o in got)
            vec_layers += lt["type"] not in ("conv2d", "linear")
    print(f"zoo cross-check {net}: {len(tnames)} layers, {gemm_ops} conv2d/linear GEMMs, "
          f"{updates} updates, {vec_layers} element-wise layers equal")

if errors:
    print("\n".join(errors), file=sys.stderr)
    sys.exit(1)
PY
echo "traces ok"

# Bad arguments: exit 2, a message on stderr, no output (an existing output stays untouched).
expect_usage_error() {
  local pattern=$1; shift
  echo old >out.yaml
  rm -rf baddump
  set +e
  $PY "$TRACER" "$@" >stdout.txt 2>stderr.txt
  local rc=$?
  set -e
  [ $rc -eq 2 ] || fail "expected exit 2, got $rc for: $* ($(cat stderr.txt))"
  grep -q -- "$pattern" stderr.txt || fail "stderr lacks '$pattern' for: $*: $(cat stderr.txt)"
  [ "$(cat out.yaml)" = old ] || fail "out.yaml was written although the tracer failed: $*"
  [ -z "$(ls baddump 2>/dev/null)" ] || fail "tensors were written although the tracer failed: $*"
  [ -z "$(ls -A | grep '^\.tmp-')" ] || fail "temp files left behind: $*"
}
expect_usage_error "unknown --model 'nosuchnet'" --model nosuchnet --input 3,64,64 --out out.yaml
expect_usage_error "bad --input" --model resnet18 --input 3,x,64 --out out.yaml
expect_usage_error "sizes must be positive" --model resnet18 --input 3,0,64 --out out.yaml
expect_usage_error "bad --input" --model resnet18 --input "" --out out.yaml
expect_usage_error "positive integer" --model resnet18 --batch 0 --input 3,64,64 --out out.yaml
expect_usage_error "unknown conv2d/linear layer 'nosuch'" --model resnet18 --input 3,64,64 \
  --out out.yaml --dump-tensors baddump --layers conv1,nosuch
expect_usage_error "unknown conv2d/linear layer 'layer1.0.relu'" --model resnet18 \
  --input 3,64,64 --out out.yaml --dump-tensors baddump --layers layer1.0.relu
expect_usage_error "must be given together" --model resnet18 --input 3,64,64 --out out.yaml \
  --layers conv1
expect_usage_error "not found" --module "$work/missing.py:Net" --input 8,32 --out out.yaml
expect_usage_error "no torch.nn.Module class 'Nope'" --module "$ATTN:Nope" --input 8,32 \
  --out out.yaml
expect_usage_error "it ran 2 times: attn.qkv, attn.qkv_1" \
  --module "$ATTN:SharedAttention" --input 8,32 --out out.yaml --dump-tensors baddump \
  --layers attn.qkv_2
expect_usage_error "failed on input" --module "$ATTN:TinyTransformer" --input 8,31 \
  --out out.yaml
echo "bad arguments ok"
echo "PASS"
