"""lbsim.torch: PyTorch layers that train on lbsim's number formats and, optionally, its bit-exact
GEMMs.

    import lbsim.torch as lt
    recipe = lt.Recipe.from_arch("arch_configs/luq_32x32.yaml", first_last_fp32=True, smp=2)
    model = lt.convert(model, recipe)          # nn.Conv2d -> QuantConv2d, nn.Linear -> QuantLinear
    for step, (x, y) in enumerate(loader):
        lt.set_step(model, step)               # keys the stochastic rounding of this iteration
        ...

Contract, per quantized layer (a Conv2d or Linear whose formats are not all fp32):
  * Forward: the input x is quantized with the activation format (role activation, tensor 0), the
    weight w with the weight format (role weight, tensor 1); y = x_q (*) w_q (+ fp32 bias).
  * Backward: the output gradient e is quantized ONCE with the error format (role error, tensor 2)
    and that one quantized tensor feeds both the dgrad GEMM (dx = e_q (*) w_q) and the wgrad GEMM
    (dw = x_q (*) e_q), as the papers prescribe (the same x_q and w_q as the forward). With
    recipe.smp = N > 1 (LUQ's SMP) e is quantized N times with independent keys and dx and dw
    are the means of the N samples' GEMMs. The dgrad GEMM is skipped when the layer's input
    needs no gradient (the first layer), as on the accelerator (trace: input_grad false).
  * Stochastic rounding is keyed by (recipe.seed, step, layer index, SMP sample): every tensor of
    a layer in one iteration is quantized with lbsim seed = key(seed, step, layer, sample) and
    tensor ids x = 0, w = 1, e = 2, exactly as `lbsim conv --seed KEY` quantizes x, w and e. A run
    is reproducible; set_step() advances the key.
  * gemm = "fast": quantize, dequantize, then torch's fp32 conv/matmul (what float emulators do).
    gemm = "exact": every GEMM of the three phases is lbsim's functional reference on the
    quantized operands with the recipe's accumulator (an arch YAML path or {bits, overflow,
    dgrad_lowering}): bit for bit what the simulated array outputs. A conv layer in exact mode
    equals `lbsim conv --phase fwd|dgrad|wgrad --seed KEY` on the same tensors (tested).
    Linear layers use `lbsim gemm` semantics: x (rows x in) and e (rows x out) are reduced along
    their last axis, w along in; their transposes reuse the same quantized codes.
  * Layers whose three formats are fp32 (e.g. first/last with first_last_fp32) run plain torch
    fp32 in both modes (the accelerator is not asked to run them).
Only groups = 1, dilation = 1 convolutions are supported (the lbsim conv lowering).
"""

import json
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from . import arch_info, conv as _conv, gemm as _gemm, quantize as _quantize

__all__ = ["Recipe", "QuantConv2d", "QuantLinear", "convert", "set_step", "quant_layers",
           "rng_key"]

ROLES = ("weight", "activation", "error")
_MASK = (1 << 64) - 1


def _splitmix64(z):
    z = (z + 0x9E3779B97F4A7C15) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def rng_key(seed, step, layer, sample=0):
    """The lbsim seed of layer `layer`'s tensors in iteration `step` (SMP sample `sample`)."""
    k = _splitmix64(int(seed) & _MASK)
    for v in (step, layer, sample):
        k = _splitmix64(k ^ (int(v) & _MASK))
    return k


def _is_fp32(spec):
    return spec is None or spec == "fp32"


class Recipe:
    """Formats per operand role (weight, activation, error; None or "fp32" = not quantized), with
    per-layer overrides: first_last_fp32 keeps the first and last conv/linear layer in fp32, and
    precision maps a layer name (module path) to {role: spec} (missing roles: the recipe's).
    gemm: "fast" | "exact"; acc: the exact mode's accumulator (arch path, dict or None); smp: LUQ
    SMP samples; seed: key of the stochastic rounding; threads: exact-mode threads (0 = all)."""

    def __init__(self, weight=None, activation=None, error=None, first_last_fp32=False,
                 precision=None, gemm="fast", acc=None, smp=1, seed=0, threads=0, name=None):
        if gemm not in ("fast", "exact"):
            raise ValueError(f"recipe gemm: '{gemm}'; allowed: fast, exact")
        if int(smp) < 1:
            raise ValueError(f"recipe smp: {smp} must be >= 1")
        self.formats = {"weight": weight, "activation": activation, "error": error}
        self.first_last_fp32 = bool(first_last_fp32)
        self.precision = dict(precision or {})
        for layer, roles in self.precision.items():
            bad = set(roles) - set(ROLES)
            if bad:
                raise ValueError(f"recipe precision.{layer}: unknown role(s) {sorted(bad)}; "
                                 f"allowed: {', '.join(ROLES)}")
        self.gemm = gemm
        self.acc = acc
        self.smp = int(smp)
        self.seed = int(seed)
        self.threads = int(threads)
        self.name = name or "_".join(str(self.formats[r]) for r in ROLES)
        self._exact_acc = None

    def exact_acc(self):
        """acc as the exact GEMMs pass it: an arch path is read once (its accumulator and dgrad
        lowering, all that calls on quantized operands use) instead of at every GEMM."""
        if not isinstance(self.acc, (str, os.PathLike)):
            return self.acc
        if self._exact_acc is None:
            self._exact_acc = arch_info(self.acc)["accumulator"]
        return self._exact_acc

    @classmethod
    def from_arch(cls, path, **kw):
        """Formats from the arch YAML's pe_array.formats (a role given in kw overrides it); in
        exact mode the arch's accumulator."""
        info = arch_info(path)
        kw.setdefault("acc", os.fspath(path))
        kw.setdefault("name", info["name"])
        formats = dict(info["formats"])
        formats.update({r: kw.pop(r) for r in ROLES if r in kw})
        return cls(**formats, **kw)

    @classmethod
    def from_file(cls, path, **kw):
        """A recipe file (YAML or JSON): {weight, activation, error, first_last_fp32, precision,
        gemm, acc, smp, seed, name} or {arch: PATH, ...} (relative paths: the file's directory).
        Keyword arguments override the file."""
        with open(path) as f:
            text = f.read()
        if path.endswith(".json"):
            doc = json.loads(text)
        else:
            import yaml
            doc = yaml.safe_load(text)
        if not isinstance(doc, dict):
            raise ValueError(f"{path}: a recipe is a mapping")
        allowed = {"arch", "weight", "activation", "error", "first_last_fp32", "precision", "gemm",
                   "acc", "smp", "seed", "name", "threads"}
        bad = set(doc) - allowed
        if bad:
            raise ValueError(f"{path}: unknown recipe key(s) {sorted(bad)}; allowed: "
                             + ", ".join(sorted(allowed)))
        base = os.path.dirname(os.path.abspath(path))
        doc.update(kw)
        arch = doc.pop("arch", None)
        if isinstance(doc.get("acc"), str):
            doc["acc"] = os.path.join(base, doc["acc"])
        if arch is not None:
            return cls.from_arch(os.path.join(base, arch), **doc)
        return cls(**doc)

    def layer_formats(self, name, index, count):
        """{role: spec or None} of conv/linear layer `name`, number `index` of `count`."""
        if self.first_last_fp32 and index in (0, count - 1):
            f = {r: None for r in ROLES}
        else:
            f = dict(self.formats)
        for role, spec in self.precision.get(name, {}).items():
            f[role] = spec
        return {r: (None if _is_fp32(f[r]) else f[r]) for r in ROLES}

    def describe(self):
        return {"name": self.name, **self.formats, "first_last_fp32": self.first_last_fp32,
                "precision": self.precision, "gemm": self.gemm, "acc": self.acc, "smp": self.smp,
                "seed": self.seed}


class _State:
    """Shared by the layers of one converted model: the recipe and the iteration counter."""

    def __init__(self, recipe):
        self.recipe = recipe
        self.step = 0


def _np(t):
    return t.detach().contiguous().numpy()


class _Operand:
    """A quantized tensor: its dequantized values (torch) and, in exact mode, the QTensor."""

    __slots__ = ("values", "qtensor")

    def __init__(self, t, spec, role, key, tid, axis, exact):
        if spec is None:
            self.values, self.qtensor = t.detach(), None
            return
        q = _quantize(_np(t), spec, role=role, seed=key, tensor_id=tid, reduction_axis=axis,
                      codes=False)
        self.values = torch.from_numpy(q.values)
        self.qtensor = q.qtensor if exact else None


class _QuantFn(torch.autograd.Function):
    """y = x_q (*) w_q for a QuantConv2d / QuantLinear `layer` (bias added outside)."""

    @staticmethod
    def forward(ctx, x, w, layer):
        state = layer.lbsim_state
        exact = state.recipe.gemm == "exact"
        key = rng_key(state.recipe.seed, state.step, layer.lbsim_index)
        f = layer.lbsim_formats
        axis = -1
        qx = _Operand(x, f["activation"], "activation", key, 0, axis, exact)
        qw = _Operand(w, f["weight"], "weight", key, 1, axis, exact)
        y = layer._gemm_fwd(qx, qw, exact)
        ctx.layer, ctx.qx, ctx.qw, ctx.exact = layer, qx, qw, exact
        ctx.step = state.step
        ctx.x_shape, ctx.w_shape = tuple(x.shape), tuple(w.shape)
        return y

    @staticmethod
    def backward(ctx, gy):
        layer = ctx.layer
        r = layer.lbsim_state.recipe
        gy = gy.contiguous()
        dx = dw = None
        for s in range(r.smp):
            key = rng_key(r.seed, ctx.step, layer.lbsim_index, s)
            qe = _Operand(gy, layer.lbsim_formats["error"], "error", key, 2, -1, ctx.exact)
            sx, sw = layer._gemm_bwd(ctx.qx, ctx.qw, qe, ctx.x_shape, ctx.w_shape, ctx.exact,
                                     ctx.needs_input_grad[0])
            dx = sx if dx is None or sx is None else dx + sx
            dw = sw if dw is None else dw + sw
        if r.smp > 1:
            dx, dw = None if dx is None else dx / r.smp, dw / r.smp
        return dx, dw, None


class _QuantMixin:
    lbsim_kind = None

    def _lbsim_init(self, name, index, formats, state):
        self.lbsim_name = name
        self.lbsim_index = index
        self.lbsim_formats = formats
        self.lbsim_state = state

    @property
    def lbsim_quantized(self):
        return any(v is not None for v in self.lbsim_formats.values())

    def quantize_input(self, x):
        """The activation operand this layer's forward uses for input x at the current step
        (dequantized values, no gradient): what constrained QAT (lbsim.qat) feeds the
        full-precision layer."""
        state = self.lbsim_state
        key = rng_key(state.recipe.seed, state.step, self.lbsim_index)
        return _Operand(x, self.lbsim_formats["activation"], "activation", key, 0, -1,
                        False).values

    def _exact_args(self):
        r = self.lbsim_state.recipe
        return {"acc": r.exact_acc(), "threads": r.threads}


class QuantConv2d(_QuantMixin, nn.Conv2d):
    """nn.Conv2d whose three GEMMs run on quantized operands (module docstring)."""

    lbsim_kind = "conv2d"

    def forward(self, x):
        if not self.lbsim_quantized:
            return super().forward(x)
        y = _QuantFn.apply(x, self.weight, self)
        if self.bias is not None:
            y = y + self.bias.view(1, -1, 1, 1)
        return y

    def _geometry(self):
        return int(self.stride[0]), int(self.padding[0])

    def _gemm_fwd(self, qx, qw, exact):
        stride, pad = self._geometry()
        if exact:
            y = _conv("fwd", x=qx.qtensor, w=qw.qtensor, stride=stride, pad=pad,
                      **self._exact_args())
            return torch.from_numpy(y)
        return F.conv2d(qx.values, qw.values, None, stride, pad)

    def _gemm_bwd(self, qx, qw, qe, x_shape, w_shape, exact, need_dx):
        """(dx or None when the input needs no gradient, dw)."""
        stride, pad = self._geometry()
        if exact:
            dx = None
            if need_dx:
                dx = torch.from_numpy(_conv("dgrad", e=qe.qtensor, w=qw.qtensor,
                                            input_hw=x_shape[2:], stride=stride, pad=pad,
                                            **self._exact_args()))
            dw = _conv("wgrad", x=qx.qtensor, e=qe.qtensor, kernel=w_shape[2:], stride=stride,
                       pad=pad, **self._exact_args())
            return dx, torch.from_numpy(dw)
        # One aten backward call computes both GEMMs from the one quantized error (torch.nn.grad's
        # conv2d_weight is far slower on CPU).
        dx, dw, _ = torch.ops.aten.convolution_backward(
            qe.values, qx.values, qw.values, None, [stride, stride], [pad, pad], [1, 1], False,
            [0, 0], 1, [need_dx, True, False])
        return dx, dw


class QuantLinear(_QuantMixin, nn.Linear):
    """nn.Linear whose three GEMMs run on quantized operands (module docstring)."""

    lbsim_kind = "linear"

    def forward(self, x):
        if not self.lbsim_quantized:
            return super().forward(x)
        lead = x.shape[:-1]
        y = _QuantFn.apply(x.reshape(-1, self.in_features), self.weight, self)
        if self.bias is not None:
            y = y + self.bias
        return y.reshape(*lead, self.out_features)

    def _gemm_fwd(self, qx, qw, exact):
        if exact:
            return torch.from_numpy(_gemm(qx.qtensor, qw.qtensor.transpose(),
                                          **self._exact_args()))
        return qx.values @ qw.values.t()

    def _gemm_bwd(self, qx, qw, qe, x_shape, w_shape, exact, need_dx):
        """(dx or None when the input needs no gradient, dw)."""
        if exact:
            dx = None
            if need_dx:
                dx = torch.from_numpy(_gemm(qe.qtensor, qw.qtensor, **self._exact_args()))
            dw = _gemm(qe.qtensor.transpose(), qx.qtensor, **self._exact_args())
            return dx, torch.from_numpy(dw)
        e = qe.values.reshape(-1, w_shape[0])
        return (e @ qw.values if need_dx else None), e.t() @ qx.values


def _swap(module):
    if type(module) is nn.Conv2d:
        if module.groups != 1 or tuple(module.dilation) != (1, 1):
            raise ValueError("lbsim.torch: only groups=1, dilation=1 convolutions are supported")
        if module.stride[0] != module.stride[1] or module.padding[0] != module.padding[1] or \
                isinstance(module.padding, str) or module.padding_mode != "zeros":
            raise ValueError("lbsim.torch: convolutions need equal h/w stride and zero padding")
        new = QuantConv2d(module.in_channels, module.out_channels, module.kernel_size,
                          module.stride, module.padding, bias=module.bias is not None)
    elif type(module) is nn.Linear:
        new = QuantLinear(module.in_features, module.out_features, bias=module.bias is not None)
    else:
        return None
    new.load_state_dict(module.state_dict())
    new.train(module.training)
    return new


def convert(model, recipe):
    """Replaces every nn.Conv2d and nn.Linear of `model` (in place; returned) by QuantConv2d /
    QuantLinear with the recipe's formats for that layer. Layers are numbered in named_modules()
    order (the layer index of the rounding key)."""
    names = [n for n, m in model.named_modules() if type(m) in (nn.Conv2d, nn.Linear)
             or isinstance(m, _QuantMixin)]
    state = _State(recipe)
    for index, name in enumerate(names):
        parent, _, leaf = name.rpartition(".")
        owner = model.get_submodule(parent) if parent else model
        old = getattr(owner, leaf)
        new = old if isinstance(old, _QuantMixin) else _swap(old)
        new._lbsim_init(name, index, recipe.layer_formats(name, index, len(names)), state)
        setattr(owner, leaf, new)
    model.lbsim_state = state
    return model


def set_step(model, step):
    """Sets the iteration number that keys the stochastic rounding of every converted layer."""
    model.lbsim_state.step = int(step)


def quant_layers(model):
    """(name, layer) of every converted conv/linear layer, in layer-index order."""
    return [(m.lbsim_name, m) for _, m in model.named_modules() if isinstance(m, _QuantMixin)]
