#!/usr/bin/python3
"""Trace one real PyTorch training step into an lbsim workload trace (schema v1).

Usage:
  trace_torch.py --model resnet18 --batch 32 --input 3,224,224 --out t.yaml
  trace_torch.py --module path/to/file.py:ClassName --batch 2 --input 16,32 --out t.yaml
  ... [--dump-tensors DIR --layers conv1,fc] [--seed N]

Contract (models/workload/workload.h is the authority for fields and expansion rules):
  * The model (a torchvision classification model with weights=None, or ClassName() from the
    file) runs ONE training step in train mode: random normal input [batch, *input], random
    integer targets for the classifier output (its last dimension is the classes; a tuple/dict
    output uses its first/"out" entry), mean cross-entropy loss, loss.backward(), and
    torch.optim.SGD(lr=0.01, momentum=0.9).step(). Random draws, in this order after
    torch.manual_seed(--seed): model construction, input = torch.randn(batch, *input),
    targets = torch.randint(0, classes, (rows,)).
  * Module forward hooks and full backward hooks (register_full_backward_hook) see the real
    tensors of Conv2d, Linear, BatchNorm, LayerNorm, activation (including Dropout), 2-D pooling
    and Embedding modules. A TorchFunctionMode active during the forward pass sees, outside
    those modules: torch.matmul / bmm / mm / baddbmm and the @ operator (layer type matmul),
    F.linear (type linear, named after the module owning the weight, e.g. MultiheadAttention's
    "<path>.in_proj" and "<path>.out_proj"; nn.MultiheadAttention is traced through its
    functional body), same-shape tensor adds (type add: residual adds, including
    `out += identity`), functional activations (relu, gelu, silu, sigmoid, tanh, softmax,
    dropout) and functional 2-D pools.
    A dropout that returns its input (p = 0, or training=False) runs nothing and is not traced.
  * Layers are written in execution order; a layer's name is the module path from
    named_modules(); functional ops are named "<innermost running module path>.<op>" (e.g.
    "layer1.0.add", "attn.matmul", "attn.softmax"; pools "<path>.maxpool", ".avgpool",
    ".adaptive_avgpool", ".adaptive_maxpool"). A name that occurs more than once is named as
    torch.fx and the model zoo do: the first occurrence keeps it, later ones get "_1", "_2", ...
    in execution order (e.g. "layer1.0.relu", "layer1.0.relu_1").
  * Ops follow the expansion rules of workload.h, but a phase is only emitted when it ran:
    dgrad when the layer's input got a gradient (conv/linear: grad_input[0] is not None in the
    backward hook, which sets input_grad: false otherwise; matmul: one dgrad GEMM per operand
    that got a gradient), wgrad when the weight got a gradient in that call, update
    (sgd_momentum over the parameters the optimizer stepped) once per parameter, on the first
    layer that uses it.
  * Vector ops are named, placed in phases and counted exactly as models/workload/expand.cpp
    expands the layer (its table of ops_per_element is the authority): batch_norm bn_fwd (fwd),
    bn_param_grad (wgrad, when the weight got a gradient), bn_bwd (dgrad); layer_norm ln_fwd,
    ln_param_grad, ln_bwd likewise; activations "<kind>_fwd" / "<kind>_bwd"; pools
    "<kind>pool_fwd" / "<kind>pool_bwd" (maxpool, avgpool, adaptive_avgpool) over the OUTPUT
    elements batch*C*Ho*Wo; add add_fwd / add_bwd; the loss softmax_xent_fwd / softmax_xent_bwd
    over rows*classes; embedding embedding_gather (fwd) and embedding_scatter (wgrad, no dgrad);
    "col2im" with every conv dgrad GEMM; "sgd_momentum" for updates. Element counts are totals
    over the batch. ops_per_element is not written: lbsim's loader takes it from the layer's own
    expansion (the op of the same phase and name). Activation and pool kinds that expand.cpp
    does not know (hardswish, leaky_relu, adaptive_max, ...) are traced under their own names
    with a warning: lbsim rejects such a trace.
  * --dump-tensors DIR --layers a,b writes, for those conv2d/linear layers, the layer input
    (DIR/<layer>.activation.npy), the weight before the update (DIR/<layer>.weight.npy) and the
    gradient of the layer output (DIR/<layer>.error.npy), float32 C-order: conv NCHW / OIHW,
    linear 2-D (rows x in_features, out_features x in_features, rows x out_features). The trace
    references them under `tensors:` by paths relative to the trace file's directory.
  * Exit codes: 0 success; 2 bad arguments, or a model that fails on the given input (nothing
    is written); 1 tracer failure. Outputs are written atomically (temp file + rename).

Needs Debian's python3-torch, python3-torchvision, python3-yaml and python3-numpy; run with
/usr/bin/python3.
"""

import argparse
import importlib.util
import math
import os
import re
import sys
import tempfile

try:
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    import torchvision
    import yaml
    from torch.overrides import TorchFunctionMode
except ImportError as _e:
    sys.exit(f"trace_torch: error: {_e}; install Debian's python3-torch python3-torchvision "
             "python3-yaml python3-numpy and run with /usr/bin/python3")

EXIT_USAGE = 2
EXIT_FAILURE = 1


class UsageError(Exception):
    """A bad argument: reported on stderr, exit 2, nothing written."""


class TraceError(Exception):
    """The step ran but cannot be represented in the trace: exit 1, nothing written."""


def warn(msg):
    print(f"trace_torch: warning: {msg}", file=sys.stderr)


# ------------------------------------------------------------------------------------------------
# Arguments


def parse_shape(text):
    """'3,224,224' -> [3, 224, 224]; every entry a positive integer."""
    parts = [p.strip() for p in text.split(",")]
    if any(not re.fullmatch(r"[0-9]+", p) for p in parts):
        raise argparse.ArgumentTypeError(
            f"bad --input '{text}': expected comma-separated positive integers, e.g. 3,224,224")
    dims = [int(p) for p in parts]
    if any(d <= 0 for d in dims):
        raise argparse.ArgumentTypeError(f"bad --input '{text}': sizes must be positive")
    return dims


def positive_int(text):
    if not re.fullmatch(r"[0-9]+", text.strip()) or int(text) <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got '{text}'")
    return int(text)


def parse_args(argv):
    """argparse reports its own errors with exit 2."""
    p = argparse.ArgumentParser(
        prog="trace_torch.py",
        description="Trace one PyTorch training step into an lbsim workload trace (schema v1).")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--model", help="torchvision classification model name (weights=None)")
    src.add_argument("--module", help="path/to/file.py:ClassName, constructed with no arguments")
    p.add_argument("--batch", type=positive_int, default=1, help="batch size (default 1)")
    p.add_argument("--input", type=parse_shape, required=True,
                   help="per-sample input shape, comma-separated, e.g. 3,224,224")
    p.add_argument("--out", required=True, help="output trace (.yaml)")
    p.add_argument("--dump-tensors", metavar="DIR",
                   help="write activation/weight/error .npy files of the --layers layers to DIR")
    p.add_argument("--layers", help="comma-separated conv2d/linear layer names for --dump-tensors")
    p.add_argument("--seed", type=int, default=0, help="torch random seed (default 0)")
    args = p.parse_args(argv)
    if (args.dump_tensors is None) != (args.layers is None):
        p.error("--dump-tensors and --layers must be given together")
    if args.layers is not None:
        args.layers = [n.strip() for n in args.layers.split(",")]
        if any(not n for n in args.layers):
            p.error("--layers: empty layer name")
        if len(set(args.layers)) != len(args.layers):
            p.error("--layers: duplicate layer name")
    return args


def check_paths(args):
    out_dir = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(out_dir):
        raise UsageError(f"--out: directory '{out_dir}' does not exist")
    if os.path.isdir(args.out):
        raise UsageError(f"--out: '{args.out}' is a directory")
    if args.dump_tensors is not None and os.path.exists(args.dump_tensors) and \
            not os.path.isdir(args.dump_tensors):
        raise UsageError(f"--dump-tensors: '{args.dump_tensors}' exists and is not a directory")


def build_model(args):
    """Returns (model, network name). Raises UsageError on an unknown model or module."""
    if args.model is not None:
        names = torchvision.models.list_models(module=torchvision.models)
        if args.model not in names:
            raise UsageError(f"unknown --model '{args.model}'; torchvision classification models: "
                             + ", ".join(names))
        return torchvision.models.get_model(args.model, weights=None), args.model
    if ":" not in args.module:
        raise UsageError(f"--module '{args.module}': expected path/to/file.py:ClassName")
    path, cls_name = args.module.rsplit(":", 1)
    if not os.path.isfile(path):
        raise UsageError(f"--module: file '{path}' not found")
    try:
        spec = importlib.util.spec_from_file_location("lbsim_traced_module", path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
    except Exception as e:  # the user's file: any failure is a bad argument
        raise UsageError(f"--module: cannot import '{path}': {type(e).__name__}: {e}")
    cls = getattr(mod, cls_name, None)
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise UsageError(f"--module: '{path}' has no torch.nn.Module class '{cls_name}'")
    try:
        return cls(), cls_name
    except Exception as e:
        raise UsageError(f"--module: {cls_name}() failed: {type(e).__name__}: {e}")


# ------------------------------------------------------------------------------------------------
# Expansion: workload.h rules, emitting only the phases that ran


def gemm(phase, m, n, k, groups=1):
    op = {"phase": phase, "op": "gemm", "m": int(m), "n": int(n), "k": int(k)}
    if groups > 1:
        op["groups"] = int(groups)
    return op


def vector(phase, name, elements):
    return {"phase": phase, "op": "vector", "name": name, "elements": int(elements)}


def conv_ops(f, batch, dgrad, wgrad, update):
    g = f["groups"]
    r, s = f["kernel"]
    ho, wo = f["output_hw"]
    cin_g, cout_g = f["in_channels"] // g, f["out_channels"] // g
    pix = batch * ho * wo
    ops = [gemm("fwd", pix, cout_g, cin_g * r * s, g)]
    if dgrad:
        ops.append(gemm("dgrad", pix, cin_g * r * s, cout_g, g))
        ops.append(vector("dgrad", "col2im", batch * f["in_channels"] * r * s * ho * wo))
    if wgrad:
        ops.append(gemm("wgrad", cin_g * r * s, cout_g, pix, g))
    if update:
        ops.append(vector("update", "sgd_momentum", update))
    return ops


def linear_ops(f, dgrad, wgrad, update):
    rows, fin, fout = f["rows"], f["in_features"], f["out_features"]
    ops = [gemm("fwd", rows, fout, fin)]
    if dgrad:
        ops.append(gemm("dgrad", rows, fin, fout))
    if wgrad:
        ops.append(gemm("wgrad", fin, fout, rows))
    if update:
        ops.append(vector("update", "sgd_momentum", update))
    return ops


def matmul_ops(f, grad_a, grad_b):
    c, m, n, k = f["count"], f["m"], f["n"], f["k"]
    ops = [gemm("fwd", m, n, k, c)]
    if grad_a:
        ops.append(gemm("dgrad", m, k, n, c))  # dA = dC x B^T
    if grad_b:
        ops.append(gemm("dgrad", k, n, m, c))  # dB = A^T x dC
    return ops


def elementwise_ops(layer_type, f, batch, dgrad, wgrad, update):
    """Vector ops of an element-wise layer, as models/workload/expand.cpp names and counts them:
    fwd, the parameter-gradient reduction (wgrad), the backward (dgrad), the update (in its
    order). `dgrad` / `wgrad`: the layer's input / weight got a gradient. ops_per_element is left
    out: lbsim's loader takes it from the layer's own expansion (same phase and name)."""
    if layer_type == "pool":  # output elements; ops_per_element = the window
        stem = f["kind"] + "pool"
        fwd, bwd = stem + "_fwd", stem + "_bwd"
        n = batch * f["channels"] * f["output_hw"][0] * f["output_hw"][1]
    elif layer_type == "softmax_cross_entropy":  # per logit
        fwd, bwd = "softmax_xent_fwd", "softmax_xent_bwd"
        n = f.get("rows", batch) * f["classes"]
    else:
        fwd, bwd, n = {
            "batch_norm": lambda: ("bn_fwd", "bn_bwd", batch * f["elements"]),
            "layer_norm": lambda: ("ln_fwd", "ln_bwd", f["rows"] * f["features"]),
            "activation": lambda: (f["kind"] + "_fwd", f["kind"] + "_bwd", batch * f["elements"]),
            "add": lambda: ("add_fwd", "add_bwd", batch * f["elements"]),
        }[layer_type]()
    ops = [vector("fwd", fwd, n)]
    param_grad = {"batch_norm": "bn_param_grad", "layer_norm": "ln_param_grad"}.get(layer_type)
    if wgrad and param_grad:
        ops.append(vector("wgrad", param_grad, n))
    if dgrad:
        ops.append(vector("dgrad", bwd, n))
    if update:
        ops.append(vector("update", "sgd_momentum", update))
    return ops


def embedding_ops(f, wgrad, update):
    """Gather (fwd); the backward is the scatter-add into the weight gradient (wgrad): token ids
    carry no gradient, so there is no dgrad."""
    n = f["rows"] * f["dim"]
    ops = [vector("fwd", "embedding_gather", n)]
    if wgrad:
        ops.append(vector("wgrad", "embedding_scatter", n))
    if update:
        ops.append(vector("update", "sgd_momentum", update))
    return ops


def pair(v):
    return [int(v[0]), int(v[1])] if isinstance(v, (tuple, list)) else [int(v), int(v)]


def adaptive_window(in_hw, out_hw):
    """The fixed window of an adaptive pool: stride in//out, kernel covering the rest, no padding
    (exact when out divides in). Returns (kernel, stride, padding)."""
    stride = [max(1, in_hw[i] // out_hw[i]) for i in (0, 1)]
    kernel = [max(1, in_hw[i] - (out_hw[i] - 1) * stride[i]) for i in (0, 1)]
    return kernel, stride, [0, 0]


def pool_fields(kind, channels, in_hw, out_hw, window):
    """Pool layer fields; window = (kernel, stride, padding). An adaptive_avg pool has none: lbsim
    derives its window from input_hw and output_hw (adaptive_max, unknown to lbsim, keeps the
    fixed window of adaptive_window())."""
    f = dict(kind=kind, channels=channels, input_hw=in_hw, output_hw=out_hw)
    if kind != "adaptive_avg":
        f.update(kernel=window[0], stride=window[1], padding=window[2])
    return f


# ------------------------------------------------------------------------------------------------
# Tracing


ACT_MODULES = {
    nn.ReLU: "relu", nn.ReLU6: "relu6", nn.GELU: "gelu", nn.SiLU: "silu",
    nn.Hardswish: "hardswish", nn.Hardsigmoid: "hardsigmoid", nn.Sigmoid: "sigmoid",
    nn.Tanh: "tanh", nn.LeakyReLU: "leaky_relu", nn.ELU: "elu", nn.Mish: "mish",
    nn.Softmax: "softmax", nn.Hardtanh: "hardtanh", nn.PReLU: "prelu", nn.Dropout: "dropout",
}
POOL_MODULES = {nn.MaxPool2d: "max", nn.AvgPool2d: "avg", nn.AdaptiveAvgPool2d: "adaptive_avg",
                nn.AdaptiveMaxPool2d: "adaptive_max"}

T = torch.Tensor
# func -> (index of A, index of B) in args
MATMUL_FUNCS = {torch.matmul: (0, 1), torch.bmm: (0, 1), torch.mm: (0, 1), T.matmul: (0, 1),
                T.bmm: (0, 1), T.mm: (0, 1), T.__matmul__: (0, 1), T.__rmatmul__: (1, 0),
                torch.baddbmm: (1, 2), T.baddbmm: (1, 2)}
ADD_FUNCS = {torch.add, T.add, T.__add__, T.__radd__, T.add_, T.__iadd__}
ACT_FUNCS = {torch.relu: "relu", F.relu: "relu", T.relu: "relu", F.gelu: "gelu", F.silu: "silu",
             torch.sigmoid: "sigmoid", T.sigmoid: "sigmoid", torch.tanh: "tanh", T.tanh: "tanh",
             torch.softmax: "softmax", F.softmax: "softmax", T.softmax: "softmax",
             F.dropout: "dropout"}
POOL_FUNCS = {F.max_pool2d: "max", F.avg_pool2d: "avg", F.adaptive_avg_pool2d: "adaptive_avg",
              F.adaptive_max_pool2d: "adaptive_max"}
# The activation and pool kinds models/workload/expand.cpp can expand (its kActivations table and
# expand_pool()); lbsim rejects a trace with any other kind.
LBSIM_KINDS = {"activation": ("relu", "relu6", "gelu", "silu", "sigmoid", "tanh", "softmax",
                              "dropout"),
               "pool": ("max", "avg", "adaptive_avg")}
# Python-level functions whose body is traced (their nested torch calls are what runs).
TRANSPARENT_FUNCS = {F.multi_head_attention_forward}


def dropout_is_identity(func, args, kwargs):
    """F.dropout that returns its input (p = 0 or training=False: nothing runs); False for other
    functions."""
    if func is not F.dropout:
        return False
    named = dict(zip(("input", "p", "training"), args))
    named.update(kwargs)
    return named.get("p", 0.5) == 0 or not named.get("training", True)


def layer_type(m):
    """Layer type of a traced module, None for modules that are not traced themselves."""
    if isinstance(m, nn.Dropout) and (m.p == 0 or not m.training):
        return None  # returns its input: nothing runs
    if isinstance(m, nn.Conv2d):
        return "conv2d"
    if isinstance(m, nn.Linear):
        return "linear"
    if isinstance(m, nn.modules.batchnorm._BatchNorm):
        return "batch_norm"
    if isinstance(m, nn.LayerNorm):
        return "layer_norm"
    if type(m) in ACT_MODULES:
        return "activation"
    if type(m) in POOL_MODULES:
        return "pool"
    if isinstance(m, nn.Embedding):
        return "embedding"
    return None


class Probe(torch.autograd.Function):
    """Identity whose backward calls cb(gradient): evidence that a gradient reached the tensor.
    clone=True returns a copy (for outputs the model may modify in place)."""

    @staticmethod
    def forward(ctx, x, cb, clone):
        ctx.cb = cb
        return x.clone() if clone else x.view_as(x)

    @staticmethod
    def backward(ctx, g):
        ctx.cb(g)
        return g, None, None


class Record:
    """One traced layer call. `flags` are set during backward: input_grad (the layer input got a
    gradient), weight_grad (the weight did), bwd (the layer's backward ran), grad_a / grad_b
    (matmul operands)."""

    def __init__(self, kind, base, ltype, module=None):
        self.kind = kind  # "module" or "func"
        self.base = base  # module path (or functional-op name) before the _<i> of a repeated call
        self.type = ltype  # workload.h layer type name
        self.module = module
        self.fields = {}
        self.flags = {"bwd": False, "input_grad": False, "weight_grad": False,
                      "grad_a": False, "grad_b": False}
        # Parameter slices this layer updates: (parameter, slice key, elements); a slice is
        # counted on the first layer that uses it (MultiheadAttention's split in_proj_weight is
        # one parameter used as several slices).
        self.params = []
        self.dump = {}  # role -> tensor, for --dump-tensors
        self.out_shape = None
        self.name = base


class Tracer:
    """Hooks and the function mode for one training step; records layers in execution order."""

    def __init__(self, model, batch, dump_bases):
        self.model = model
        self.batch = batch
        self.dump_bases = dump_bases
        self.records = []
        self.paths = {}  # module -> first path in named_modules()
        for name, m in model.named_modules():
            self.paths.setdefault(m, name)
        self.owner = {}  # parameter -> (module path, attribute name)
        for m, path in self.paths.items():
            for pname, p in m.named_parameters(recurse=False):
                self.owner.setdefault(p, (path, pname))
        self.pending_bwd = {}  # module -> its calls whose backward hook has not fired yet
        self.stack = []  # modules whose forward is running
        self.traced_depth = 0  # > 0 inside a traced module: functional ops there are its own
        self.handles = []
        self.warned = set()

    # -- helpers

    def per_sample(self, numel, what):
        if numel % self.batch:
            raise TraceError(f"{what}: {numel} elements are not divisible by batch {self.batch}")
        return numel // self.batch

    def op_base(self, op):
        path = self.paths.get(self.stack[-1], "") if self.stack else ""
        return f"{path}.{op}" if path else op

    def new(self, kind, base, ltype, module=None):
        rec = Record(kind, base, ltype, module)
        self.records.append(rec)
        return rec

    @staticmethod
    def probe(x, rec, flag, store=None, clone=False):
        """x routed through a Probe that sets rec.flags[flag] when a gradient reaches x (and
        stores it, as rows x last dimension, in rec.dump[store])."""
        if not (isinstance(x, torch.Tensor) and x.requires_grad):
            return x

        def cb(g):
            rec.flags[flag] = True
            if store is not None:
                rec.dump[store] = g.detach().reshape(-1, g.shape[-1]).clone()

        return Probe.apply(x, cb, clone)

    @staticmethod
    def param_of(t):
        """The Parameter t is or views, else None."""
        while isinstance(t, torch.Tensor):
            if isinstance(t, nn.Parameter):
                return t
            t = t._base
        return None

    # -- module hooks

    def install(self):
        for m in self.model.modules():
            # Full backward hooks hand a module's output through a custom autograd Function, so
            # in-place activations would fail: they run out of place (same shapes and values).
            if isinstance(getattr(m, "inplace", None), bool):
                m.inplace = False
            self.handles.append(m.register_forward_pre_hook(self.pre_hook))
            self.handles.append(m.register_forward_hook(self.post_hook))
            if layer_type(m) is not None:
                self.handles.append(m.register_full_backward_hook(self.bwd_hook))

    def remove(self):
        for h in self.handles:
            h.remove()
        self.handles = []

    def pre_hook(self, m, inputs):
        self.stack.append(m)
        ty = layer_type(m)
        if ty is not None:
            self.traced_depth += 1
            rec = self.new("module", self.paths[m], ty, m)
            rec.params = [(p, None, p.numel()) for p in m.parameters(recurse=False)]
            self.pending_bwd.setdefault(m, []).append(rec)

    def post_hook(self, m, inputs, output):
        self.stack.pop()
        ty = layer_type(m)
        if ty is None:
            return
        self.traced_depth -= 1
        rec = self.pending_bwd[m][-1]
        x = inputs[0] if inputs else None
        if not isinstance(x, torch.Tensor) or not isinstance(output, torch.Tensor):
            raise TraceError(f"{rec.base}: expected a tensor input and output")
        rec.out_shape = tuple(output.shape)
        rec.fields = self.module_fields(m, ty, rec.base, x, output)
        if rec.base in self.dump_bases:
            in_f = getattr(m, "in_features", None)
            rec.dump["activation"] = (x.detach().clone() if ty == "conv2d"
                                      else x.detach().reshape(-1, in_f).clone())
            rec.dump["weight"] = m.weight.detach().clone()

    def module_fields(self, m, ty, name, x, y):
        """Trace fields of a traced module call (workload.h key names) from the real tensors."""
        if ty == "conv2d":
            if x.dim() != 4 or x.shape[0] != self.batch:
                raise TraceError(f"{name}: conv input {tuple(x.shape)} is not "
                                 f"[batch={self.batch}, C, H, W]")
            kernel, dil, stride = pair(m.kernel_size), pair(m.dilation), pair(m.stride)
            if isinstance(m.padding, str):  # 'valid' / 'same' (its symmetric part)
                pad = [0, 0] if m.padding == "valid" else [dil[i] * (kernel[i] - 1) // 2
                                                           for i in (0, 1)]
            else:
                pad = pair(m.padding)
            in_hw = [int(x.shape[2]), int(x.shape[3])]
            out_hw = [int(y.shape[2]), int(y.shape[3])]
            formula = [(in_hw[i] + 2 * pad[i] - dil[i] * (kernel[i] - 1) - 1) // stride[i] + 1
                       for i in (0, 1)]
            if formula != out_hw:
                warn(f"{name}: executed output {out_hw} differs from the formula's {formula}")
            return dict(in_channels=m.in_channels, out_channels=m.out_channels, kernel=kernel,
                        stride=stride, padding=pad, dilation=dil, groups=m.groups,
                        input_hw=in_hw, output_hw=out_hw, bias=m.bias is not None)
        if ty == "linear":
            return dict(in_features=m.in_features, out_features=m.out_features,
                        rows=x.numel() // m.in_features, bias=m.bias is not None)
        if ty == "batch_norm":
            return dict(channels=m.num_features, elements=self.per_sample(x.numel(), name))
        if ty == "layer_norm":
            feats = math.prod(m.normalized_shape)
            return dict(features=feats, rows=x.numel() // feats)
        if ty == "activation":
            return dict(kind=ACT_MODULES[type(m)], elements=self.per_sample(x.numel(), name))
        if ty == "pool":
            if x.dim() != 4:
                raise TraceError(f"{name}: pool input {tuple(x.shape)} is not [N, C, H, W]")
            in_hw, out_hw = [int(x.shape[2]), int(x.shape[3])], [int(y.shape[2]), int(y.shape[3])]
            if isinstance(m, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)):
                kernel, stride, pad = adaptive_window(in_hw, out_hw)
            else:
                kernel = pair(m.kernel_size)
                stride = pair(m.stride if m.stride is not None else m.kernel_size)
                pad = pair(m.padding)
            return pool_fields(POOL_MODULES[type(m)], int(x.shape[1]), in_hw, out_hw,
                               (kernel, stride, pad))
        assert ty == "embedding"
        return dict(vocab=m.num_embeddings, dim=m.embedding_dim, rows=x.numel())

    def bwd_hook(self, m, grad_input, grad_output):
        calls = self.pending_bwd.get(m, [])
        go = grad_output[0] if grad_output else None
        go_shape = tuple(go.shape) if go is not None else None
        # Backward runs in reverse: the latest pending call with this output shape.
        idx = next((i for i in range(len(calls) - 1, -1, -1)
                    if calls[i].out_shape == go_shape), len(calls) - 1)
        if idx < 0:
            return
        rec = calls.pop(idx)
        rec.flags["bwd"] = True
        rec.flags["input_grad"] = bool(grad_input) and grad_input[0] is not None
        w = getattr(m, "weight", None)
        rec.flags["weight_grad"] = isinstance(w, nn.Parameter) and w.requires_grad
        if rec.base in self.dump_bases and go is not None:
            rec.dump["error"] = (go.detach().clone() if rec.type == "conv2d"
                                 else go.detach().reshape(-1, m.out_features).clone())

    # -- functional ops (called from CaptureMode with the mode popped)

    def on_func(self, mode, func, args, kwargs):
        if self.traced_depth > 0:
            return func(*args, **kwargs)
        if func in TRANSPARENT_FUNCS:
            return self.transparent(mode, func, args, kwargs)
        tensors2 = len(args) >= 2 and all(isinstance(a, torch.Tensor) for a in args[:2])
        if func in MATMUL_FUNCS and kwargs.get("out") is None:
            return self.matmul(func, args, kwargs)
        if func is F.linear:
            return self.linear(args, kwargs)
        if func in ADD_FUNCS and len(args) == 2 and tensors2:
            return self.add(func, args, kwargs)
        if func in ACT_FUNCS and args and isinstance(args[0], torch.Tensor) and \
                args[0].is_floating_point() and not dropout_is_identity(func, args, kwargs):
            return self.activation(func, args, kwargs)
        if func in POOL_FUNCS and args and isinstance(args[0], torch.Tensor) and \
                args[0].dim() == 4 and not kwargs.get("return_indices", False):
            return self.pool(func, args, kwargs)
        return func(*args, **kwargs)

    def transparent(self, mode, func, args, kwargs):
        # The function's own torch-function dispatch (a module-level has_torch_function check) is
        # skipped for this call, so its body runs with the mode active and its nested linear /
        # bmm / softmax calls are traced.
        module = sys.modules[func.__module__]
        orig = module.has_torch_function
        module.has_torch_function = lambda *a, **k: False
        try:
            with mode:
                return func(*args, **kwargs)
        finally:
            module.has_torch_function = orig

    def matmul(self, func, args, kwargs):
        ia, ib = MATMUL_FUNCS[func]
        if max(ia, ib) >= len(args) or not all(isinstance(args[i], torch.Tensor) for i in (ia, ib)):
            return func(*args, **kwargs)
        a, b = args[ia], args[ib]
        if a.dim() < 1 or b.dim() < 1:
            return func(*args, **kwargs)
        if self.param_of(a) is not None or self.param_of(b) is not None:
            if "matmul" not in self.warned:
                self.warned.add("matmul")
                warn(f"{self.op_base('matmul')}: a matmul with a parameter operand is not traced")
            return func(*args, **kwargs)
        rec = self.new("func", self.op_base("matmul"), "matmul")
        batch_dims = torch.broadcast_shapes(tuple(a.shape[:-2]), tuple(b.shape[:-2]))
        rec.fields = dict(count=math.prod(batch_dims),
                          m=int(a.shape[-2]) if a.dim() >= 2 else 1,
                          n=int(b.shape[-1]) if b.dim() >= 2 else 1,
                          k=int(a.shape[-1]))
        new_args = list(args)
        new_args[ia] = self.probe(a, rec, "grad_a")
        new_args[ib] = self.probe(b, rec, "grad_b")
        return func(*new_args, **kwargs)

    def linear(self, args, kwargs):
        named = dict(zip(("input", "weight", "bias"), args))
        named.update(kwargs)
        x, w, b = named.get("input"), named.get("weight"), named.get("bias")
        if not (isinstance(x, torch.Tensor) and isinstance(w, torch.Tensor) and w.dim() == 2):
            return F.linear(*args, **kwargs)
        wp = self.param_of(w)
        fout, fin = int(w.shape[0]), int(w.shape[1])
        if wp is None:  # x @ w^T between activations
            rec = self.new("func", self.op_base("matmul"), "matmul")
            rec.fields = dict(count=1, m=x.numel() // fin, n=fout, k=fin)
            return F.linear(self.probe(x, rec, "grad_a"), self.probe(w, rec, "grad_b"), b)
        path, pname = self.owner.get(wp, ("", "weight"))
        suffix = "" if pname == "weight" else "." + re.sub(r"_weight$", "", pname)
        base = (path + suffix).lstrip(".") or self.op_base("linear")
        rec = self.new("func", base, "linear")
        rec.fields = dict(in_features=fin, out_features=fout, rows=x.numel() // fin,
                          bias=b is not None)
        for t in (w, b):
            p = self.param_of(t)
            if p is not None:  # key None: the whole parameter, as for module layers
                key = None if t is p else (t.storage_offset(), tuple(t.shape), tuple(t.stride()))
                rec.params.append((p, key, t.numel()))
        dump = base in self.dump_bases
        if dump:
            rec.dump["activation"] = x.detach().reshape(-1, fin).clone()
            rec.dump["weight"] = w.detach().clone()
        y = F.linear(self.probe(x, rec, "input_grad"), self.probe(w, rec, "weight_grad"), b)
        if dump:  # the output gradient, 2-D like the activation
            y = self.probe(y, rec, "bwd", store="error", clone=True)
        return y

    def add(self, func, args, kwargs):
        a, b = args
        if not (a.shape == b.shape and a.numel() > 1 and a.is_floating_point()
                and self.param_of(a) is None and self.param_of(b) is None
                and (a.requires_grad or b.requires_grad)):
            return func(*args, **kwargs)
        rec = self.new("func", self.op_base("add"), "add")
        rec.fields = dict(elements=self.per_sample(a.numel(), rec.base))
        # In-place adds (`out += identity`) run out of place: Python rebinds the result, and an
        # in-place add on a hooked module's output would be rejected by autograd.
        return torch.add(self.probe(a, rec, "grad_a"), self.probe(b, rec, "grad_b"), **kwargs)

    def activation(self, func, args, kwargs):
        x = args[0]
        kind = ACT_FUNCS[func]
        rec = self.new("func", self.op_base(kind), "activation")
        rec.fields = dict(kind=kind, elements=self.per_sample(x.numel(), rec.base))
        kwargs = {k: v for k, v in kwargs.items() if k != "inplace"}
        rest = args[1:] if func is not F.relu else ()  # F.relu's 2nd positional is inplace
        return func(self.probe(x, rec, "input_grad"), *rest, **kwargs)

    def pool(self, func, args, kwargs):
        x = args[0]
        kind = POOL_FUNCS[func]
        rec = self.new("func", self.op_base(kind + "pool"), "pool")
        y = func(self.probe(x, rec, "input_grad"), *args[1:], **kwargs)
        in_hw, out_hw = [int(x.shape[2]), int(x.shape[3])], [int(y.shape[2]), int(y.shape[3])]
        if kind.startswith("adaptive"):
            kernel, stride, pad = adaptive_window(in_hw, out_hw)
        else:
            named = dict(zip(("kernel_size", "stride", "padding"), args[1:4]))
            named.update({k: v for k, v in kwargs.items()
                          if k in ("kernel_size", "stride", "padding")})
            kernel = pair(named["kernel_size"])
            stride = pair(named.get("stride") or named["kernel_size"])
            pad = pair(named.get("padding", 0))
        rec.fields = pool_fields(kind, int(x.shape[1]), in_hw, out_hw, (kernel, stride, pad))
        return y

    def mode(self):
        tracer = self

        class CaptureMode(TorchFunctionMode):
            def __torch_function__(self, func, types, args=(), kwargs=None):
                return tracer.on_func(self, func, tuple(args), dict(kwargs or {}))

        return CaptureMode()


# ------------------------------------------------------------------------------------------------
# After the step: layers


def build_layers(records, batch, stepped):
    """Layer dicts (trace key order) from the records; `stepped(p)`: the optimizer updated p."""
    updated = set()
    layers = []
    for r in records:
        f, fl = r.fields, r.flags
        update = 0
        for p, key, elements in r.params:
            if (p, key) not in updated and stepped(p):
                updated.add((p, key))
                update += elements
        if r.type == "linear" and r.kind == "func":
            input_grad, wgrad = fl["input_grad"], fl["weight_grad"]
        else:
            input_grad = fl["input_grad"] or fl["grad_a"] or fl["grad_b"]
            w = getattr(r.module, "weight", None)
            wgrad = fl["bwd"] and fl["weight_grad"] and w is not None and w.grad is not None
        if r.type == "conv2d":
            ops = conv_ops(f, batch, input_grad, wgrad, update)
        elif r.type == "linear":
            ops = linear_ops(f, input_grad, wgrad, update)
        elif r.type == "matmul":
            ops = matmul_ops(f, fl["grad_a"], fl["grad_b"])
        elif r.type == "embedding":
            ops = embedding_ops(f, wgrad, update)
        else:
            ops = elementwise_ops(r.type, f, batch, input_grad, wgrad, update)
        layer = {"name": r.name, "type": r.type}
        layer.update(f)
        layer["input_grad"] = bool(input_grad)
        layer["ops"] = ops
        layers.append(layer)
    return layers


def assign_names(records):
    """First occurrence of a base name keeps it; later ones get _1, _2, ... (torch.fx style),
    skipping any suffix that is itself a base name so names stay unique."""
    bases = {r.base for r in records}
    seen, used = {}, set()
    for r in records:
        i = seen.get(r.base, 0)
        name = r.base if i == 0 else f"{r.base}_{i}"
        while i > 0 and (name in bases or name in used):
            i += 1
            name = f"{r.base}_{i}"
        seen[r.base] = i + 1
        used.add(name)
        r.name = name


def write_atomic(path, write, binary):
    """Writes via a temp file in the target directory, then renames it over `path`."""
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix="-" + os.path.basename(path), dir=d)
    try:
        with os.fdopen(fd, "wb" if binary else "w") as fh:
            write(fh)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def trace(args):
    torch.manual_seed(args.seed)
    model, network = build_model(args)
    model.train()
    batch = args.batch

    # --layers: a conv2d/linear module path, or such a path with the _<i> of a repeated call.
    dump_bases = set()
    if args.layers:
        known = [path for path, m in model.named_modules() if layer_type(m) in ("conv2d", "linear")]
        for name in args.layers:
            base = name
            repeat = re.fullmatch(r"(.*)_([0-9]+)", name)
            if base not in known and repeat and repeat.group(1) in known:
                base = repeat.group(1)
            if base not in known:
                raise UsageError(f"--layers: unknown conv2d/linear layer '{name}' (known: "
                                 + ", ".join(known[:20]) + (", ..." if len(known) > 20 else "")
                                 + ")")
            dump_bases.add(base)

    tracer = Tracer(model, batch, dump_bases)
    tracer.install()
    x = torch.randn(batch, *args.input)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    opt.zero_grad(set_to_none=True)
    try:
        with tracer.mode():
            out = model(x)
    except (TraceError, UsageError):
        raise
    except Exception as e:
        raise UsageError(f"{network} failed on input {[batch] + args.input}: "
                         f"{type(e).__name__}: {e}")
    tracer.stack.clear()
    if isinstance(out, (tuple, list)):  # e.g. GoogLeNet / Inception auxiliary outputs
        out = out[0]
    elif isinstance(out, dict):
        out = out["out"] if "out" in out else next(iter(out.values()))
    if not (isinstance(out, torch.Tensor) and out.is_floating_point() and out.dim() >= 1
            and out.requires_grad):
        raise TraceError("the model output is not a floating-point tensor that requires grad")
    classes = int(out.shape[-1])
    loss_rec = tracer.new("func", "loss", "softmax_cross_entropy")
    logits = tracer.probe(out, loss_rec, "input_grad").reshape(-1, classes)
    rows = int(logits.shape[0])
    loss_rec.fields = {"classes": classes}
    if rows != batch:
        warn(f"the classifier output has {rows} rows (batch {batch}); the loss layer carries rows")
        loss_rec.fields["rows"] = rows
    loss = F.cross_entropy(logits, torch.randint(0, classes, (rows,)))
    try:
        loss.backward()
        opt.step()
    except Exception as e:
        raise TraceError(f"backward/update of {network} failed: {type(e).__name__}: {e}")
    tracer.remove()

    def stepped(p):
        state = opt.state.get(p)
        return bool(state) and state.get("momentum_buffer") is not None

    covered = {p for r in tracer.records for p, _, _ in r.params}
    missed = {}  # (module class, parameter names) -> module paths
    for path, m in model.named_modules():
        names = tuple(n for n, p in m.named_parameters(recurse=False)
                      if p.grad is not None and p not in covered)
        if names:
            missed.setdefault((type(m).__name__, names), []).append(path)
    for (cls, names), mpaths in missed.items():
        where = f"'{mpaths[0]}'" + (f" and {len(mpaths) - 1} more" if len(mpaths) > 1 else "")
        warn(f"{where} ({cls}): parameters {', '.join(names)} got gradients but no traced layer "
             "uses them; their work is not in the trace")

    records = tracer.records
    assign_names(records)
    # --layers: exact trace names of conv2d/linear layers.
    by_name = {r.name: r for r in records}
    dump_recs = []
    for name in args.layers or []:
        r = by_name.get(name)
        if r is None or r.type not in ("conv2d", "linear"):
            base = re.sub(r"_[0-9]+$", "", name)
            calls = [q.name for q in records if q.base in (name, base)]
            hint = f"; it ran {len(calls)} times: {', '.join(calls)}" if calls else ""
            raise UsageError(f"--layers: unknown conv2d/linear layer '{name}'{hint}")
        dump_recs.append(r)

    layers = build_layers(records, batch, stepped)
    unknown = {}  # (layer type, kind) -> layer names
    for layer in layers:
        if layer["type"] in LBSIM_KINDS and layer["kind"] not in LBSIM_KINDS[layer["type"]]:
            unknown.setdefault((layer["type"], layer["kind"]), []).append(layer["name"])
    for (ltype, kind), lnames in unknown.items():
        where = f"'{lnames[0]}'" + (f" and {len(lnames) - 1} more" if len(lnames) > 1 else "")
        warn(f"{where}: {ltype} kind '{kind}' is not one lbsim expands (models/workload/expand.cpp:"
             f" {', '.join(LBSIM_KINDS[ltype])}); lbsim will reject this trace")

    # Tensor files first, then the trace that references them.
    out_dir = os.path.dirname(os.path.abspath(args.out))
    if dump_recs:
        os.makedirs(args.dump_tensors, exist_ok=True)
    for r in dump_recs:
        layer = layers[records.index(r)]
        if "error" not in r.dump:
            warn(f"{r.name}: no gradient reached the layer output; no error tensor")
        tensors = {}
        for role in ("activation", "weight", "error"):
            if role in r.dump:
                arr = np.ascontiguousarray(r.dump[role].to(torch.float32).numpy())
                path = os.path.join(args.dump_tensors, f"{r.name}.{role}.npy")
                write_atomic(path, lambda fh, arr=arr: np.save(fh, arr), binary=True)
                tensors[role] = os.path.relpath(os.path.abspath(path), out_dir)
        ops = layer.pop("ops")
        layer["tensors"] = tensors
        layer["ops"] = ops

    doc = {"schema_version": 1, "network": network, "batch": batch, "input": list(args.input),
           "training": True, "smp_samples": 1, "layers": layers}
    text = yaml.safe_dump(doc, sort_keys=False, default_flow_style=None, width=4096)
    write_atomic(args.out, lambda fh: fh.write(text), binary=False)
    print(f"trace_torch: {args.out}: {len(layers)} layers", file=sys.stderr)


def main(argv):
    args = parse_args(argv)
    try:
        check_paths(args)
        trace(args)
    except UsageError as e:
        print(f"trace_torch: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except TraceError as e:
        print(f"trace_torch: error: {e}", file=sys.stderr)
        return EXIT_FAILURE
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
