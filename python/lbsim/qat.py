"""lbsim.qat: constrained (primal-dual) quantization-aware training, the layer sensitivities it
yields (one dual variable per layer) and the mixed-precision selections made from them, written as
precision maps that `lbsim run --precision-map` costs.

The method is Hounie, Elenter and Ribeiro, "Neural networks with quantization constraints"
(ICASSP 2023). Two copies of one network: the full-precision model f_w (plain torch, its
weights are the ones trained) and a low-precision copy f_q whose conv/linear layers quantize
their weights and input activations (their own BatchNorm layers: switchable BN per precision).

    minimise_w  E[CE(f_w(x), y)]
    subject to  E[CE_soft(f_q(x), softmax(f_w(x)))] <= eps_out                (output)
                E[mean((z_l(w; z~_{l-1}) - z~_l)^2)] <= eps_l, l = 1..L       (per layer)

z~_l is layer l's output in the low-precision copy and z_l(w; z~_{l-1}) the full-precision layer l
applied to the same quantized input. Per mini-batch (primal step) the Lagrangian
CE + lambda_out * slack_out + sum_l lambda_l * slack_l takes one Adam step; the weights receive
gradients only through the full-precision path (no straight-through estimator for the layer
terms); the low-precision copy's BatchNorm parameters train through the output term. The copy's
weights are the full-precision weights, copied in before every step. Dual ascent
lambda <- max(0, lambda + lr_dual * slack) runs once per epoch on the slacks averaged over the
training set without gradients (dual_update="epoch", the paper's code) or after every step on the
mini-batch's slacks ("step"). lambda_out starts at 1, the layer duals at 0.

A large final lambda_l means tightening layer l's constraint would cost the most loss: the layer
is sensitive to quantization. select_layers() turns the duals into a set of layers kept in high
precision (largest dual first, the paper's rule; smallest dual, random and L2-error rankings for
comparison; an energy-aware rule that promotes layers by dual per unit of the extra energy lbsim
reports for them, within an energy budget), and precision_map() writes the selection for lbsim.

Quantizers (Quantizer): "lbsim" uses any lbsim number format per role through lbsim.torch (fast
GEMMs: quantize, dequantize, fp32 torch; gradients straight through); "dorefa" is the paper's
DoReFa quantizer (weights tanh-normalised to k-bit uniform levels in [-1, 1] times mean|w|;
activations clipped to [0, 1] and rounded to k bits; straight-through rounding).
"""

import copy
import math
import random

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import torch as lt

__all__ = ["Quantizer", "low_precision_copy", "quantized_layers", "sync_weights", "PrimalDual",
           "train_qat", "evaluate", "layer_errors", "select_layers", "SELECTION_RULES",
           "precision_map", "DoReFaConv2d", "DoReFaLinear"]

SELECTION_RULES = ("largest_dual", "smallest_dual", "random", "l2", "energy")


# ---------------------------------------------------------------------------------------------
# Quantizers.

class _RoundSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return torch.round(x)

    @staticmethod
    def backward(ctx, g):
        return g


def dorefa_weight(w, bits):
    """DoReFa k-bit weights: tanh(w) normalised to [0, 1], rounded to 2^k - 1 steps, mapped back
    to [-1, 1] and scaled by E = mean|w| (detached)."""
    n = 2 ** bits - 1
    t = torch.tanh(w)
    t = t / (2 * t.abs().max().clamp_min(1e-12)) + 0.5
    q = _RoundSTE.apply(t * n) / n
    return (2 * q - 1) * w.abs().mean().detach()


def dorefa_activation(x, bits):
    """DoReFa k-bit activations: clip to [0, 1], round to 2^k - 1 steps."""
    n = 2 ** bits - 1
    return _RoundSTE.apply(torch.clamp(x, 0.0, 1.0) * n) / n


class _DoReFaMixin:
    def quantize_input(self, x):
        with torch.no_grad():
            return dorefa_activation(x, self.dorefa_bits)


class DoReFaConv2d(_DoReFaMixin, nn.Conv2d):
    """nn.Conv2d with DoReFa-quantized weights and input activations (dorefa_bits)."""

    def forward(self, x):
        return self._conv_forward(dorefa_activation(x, self.dorefa_bits),
                                  dorefa_weight(self.weight, self.dorefa_bits), self.bias)


class DoReFaLinear(_DoReFaMixin, nn.Linear):
    """nn.Linear with DoReFa-quantized weights and input activations (dorefa_bits)."""

    def forward(self, x):
        return F.linear(dorefa_activation(x, self.dorefa_bits),
                        dorefa_weight(self.weight, self.dorefa_bits), self.bias)


class Quantizer:
    """What the low-precision copy quantizes: kind "lbsim" with a format spec per role (weight,
    activation; errors stay fp32: QAT trains in fp32) or kind "dorefa" with `bits`. `bits` names
    the precision in reports and precision maps; for lbsim formats it defaults to the weight
    format's code bits."""

    def __init__(self, kind="lbsim", bits=None, weight=None, activation=None):
        if kind not in ("lbsim", "dorefa"):
            raise ValueError(f"quantizer kind '{kind}'; allowed: lbsim, dorefa")
        if kind == "dorefa":
            if bits is None or not 1 <= int(bits) <= 16:
                raise ValueError(f"dorefa quantizer: bits {bits!r} must be in [1, 16]")
            if weight is not None or activation is not None:
                raise ValueError("dorefa quantizer: weight/activation formats are lbsim's; "
                                 "give bits only")
        else:
            if weight is None and activation is None:
                raise ValueError("lbsim quantizer: give a weight and/or activation format spec")
            from . import format_info
            for spec in (weight, activation):
                if spec is not None:
                    format_info(spec)  # ValueError with lbsim's message for a bad spec
            if bits is None:
                bits = format_info(weight or activation)["code_bits"]
        self.kind, self.bits = kind, int(bits)
        self.weight, self.activation = weight, activation

    def describe(self):
        if self.kind == "dorefa":
            return f"DoReFa {self.bits}-bit"
        return f"lbsim weight {self.weight}, activation {self.activation}"


def _gemm_layers(model):
    return [(n, m) for n, m in model.named_modules() if type(m) in (nn.Conv2d, nn.Linear)]


def low_precision_copy(model, quantizer, keep=(), first_last_fp32=True):
    """A deep copy of `model` whose conv/linear layers quantize weights and input activations,
    except the first and last (first_last_fp32, as the paper) and the layers named in `keep`
    (kept in full precision: a selection). The copy has its own BatchNorm layers."""
    lp = copy.deepcopy(model)
    names = [n for n, _ in _gemm_layers(lp)]
    keep = set(keep)
    unknown = keep - set(names)
    if unknown:
        raise ValueError(f"keep: no conv/linear layer(s) {sorted(unknown)}; layers: "
                         + ", ".join(names))
    if quantizer.kind == "lbsim":
        fp = {r: "fp32" for r in lt.ROLES}
        recipe = lt.Recipe(weight=quantizer.weight, activation=quantizer.activation, error=None,
                           first_last_fp32=first_last_fp32,
                           precision={n: fp for n in sorted(keep)}, gemm="fast")
        return lt.convert(lp, recipe)
    for index, name in enumerate(names):
        if name in keep or (first_last_fp32 and index in (0, len(names) - 1)):
            continue
        parent, _, leaf = name.rpartition(".")
        owner = lp.get_submodule(parent) if parent else lp
        old = getattr(owner, leaf)
        if isinstance(old, nn.Conv2d):
            new = DoReFaConv2d(old.in_channels, old.out_channels, old.kernel_size, old.stride,
                               old.padding, old.dilation, old.groups, old.bias is not None)
        else:
            new = DoReFaLinear(old.in_features, old.out_features, old.bias is not None)
        new.load_state_dict(old.state_dict())
        new.dorefa_bits = quantizer.bits
        new.train(old.training)
        setattr(owner, leaf, new)
    return lp


def quantized_layers(lp_model):
    """(name, layer) of the copy's quantized conv/linear layers, in network order."""
    out = []
    for name, m in lp_model.named_modules():
        if isinstance(m, _DoReFaMixin) or (isinstance(m, lt._QuantMixin) and m.lbsim_quantized):
            out.append((name, m))
    return out


def sync_weights(fp_model, lp_model):
    """Copies every conv/linear weight and bias of the full-precision model into the copy."""
    lp_modules = dict(lp_model.named_modules())
    with torch.no_grad():
        for name, m in _gemm_layers(fp_model):
            dst = lp_modules[name]
            dst.weight.copy_(m.weight)
            if m.bias is not None:
                dst.bias.copy_(m.bias)


def _set_step(lp_model, step):
    if hasattr(lp_model, "lbsim_state"):
        lt.set_step(lp_model, step)


def evaluate(model, x, y, batch=1000):
    """(mean cross-entropy, accuracy) of `model` in eval mode on (x, y)."""
    was = model.training
    model.eval()
    loss, correct = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            out = model(x[i:i + batch])
            loss += float(F.cross_entropy(out, y[i:i + batch], reduction="sum"))
            correct += int((out.argmax(1) == y[i:i + batch]).sum())
    model.train(was)
    return loss / len(x), correct / len(x)


def _bn_buffers(model):
    return {k: v.clone() for k, v in model.state_dict().items()
            if k.endswith(("running_mean", "running_var", "num_batches_tracked"))}


def _soft_ce(logits_q, logits_full):
    return -(F.softmax(logits_full, 1) * F.log_softmax(logits_q, 1)).sum(1).mean()


class _Recorder:
    """Forward hooks on the copy's quantized layers: each layer's input and output (detached)."""

    def __init__(self, layers):
        self.data = {}
        self.handles = [m.register_forward_hook(self._hook(name)) for name, m in layers]

    def _hook(self, name):
        def hook(module, inputs, output):
            self.data[name] = (inputs[0].detach(), output.detach())
        return hook

    def remove(self):
        for h in self.handles:
            h.remove()


class PrimalDual:
    """Primal-dual constrained QAT of fp_model against its low-precision copy (module docstring).

    eps_out / eps_layer: the constraint levels (the paper: eps_layer = 1/255; eps_out per bit
    width {8: 1/255, 4: 0.1, 2: 0.7, 1: 0.9}); layer_constraints=False keeps only the output
    constraint. Adam(lr) on the full-precision parameters and the copy's BatchNorm parameters;
    lr_dual the dual step."""

    def __init__(self, fp_model, quantizer, eps_out, eps_layer=1.0 / 255, layer_constraints=True,
                 lr=1e-3, lr_dual=0.01, dual_update="epoch"):
        if dual_update not in ("epoch", "step"):
            raise ValueError(f"dual_update '{dual_update}'; allowed: epoch, step")
        self.fp = fp_model
        self.lp = low_precision_copy(fp_model, quantizer)
        self.quantizer = quantizer
        self.layers = quantized_layers(self.lp)
        self.names = [n for n, _ in self.layers]
        self.fp_layers = dict(self.fp.named_modules())
        self.eps_out, self.eps_layer = float(eps_out), float(eps_layer)
        self.layer_constraints = bool(layer_constraints)
        self.lr_dual = float(lr_dual)
        self.dual_update = dual_update
        self.lambda_out = 1.0
        self.lambdas = {n: 0.0 for n in self.names}
        bn = [p for m in self.lp.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)
              for p in m.parameters()]
        self.opt = torch.optim.Adam(list(self.fp.parameters()) + bn, lr=lr, weight_decay=0.0)
        self.step_count = 0
        self.history = []  # per epoch: {"epoch", "loss", "slack_out", "lambda_out", "lambdas"}

    def _slacks(self, x, y):
        """(task loss, output slack, {layer: slack}) of one mini-batch, with the graph."""
        _set_step(self.lp, self.step_count)
        sync_weights(self.fp, self.lp)
        out_full = self.fp(x)
        loss = F.cross_entropy(out_full, y)
        rec = _Recorder(self.layers)
        try:
            out_q = self.lp(x)
        finally:
            rec.remove()
        slack_out = _soft_ce(out_q, out_full) - self.eps_out
        slack_l = {}
        if self.layer_constraints:
            for name, layer in self.layers:
                x_in, z_q = rec.data[name]
                z = self.fp_layers[name](layer.quantize_input(x_in))
                slack_l[name] = ((z - z_q) ** 2).mean() - self.eps_layer
        return loss, slack_out, slack_l

    def train_epoch(self, x, y, batch, generator, log=None):
        """One epoch of primal steps over (x, y) in a permutation drawn from `generator`, then
        (dual_update="epoch") the dual step on the epoch's averaged slacks."""
        self.fp.train()
        self.lp.train()
        perm = torch.randperm(len(x), generator=generator)
        losses = []
        for i in range(0, len(x), batch):
            idx = perm[i:i + batch]
            loss, s_out, s_l = self._slacks(x[idx], y[idx])
            lagrangian = loss + self.lambda_out * s_out
            for name, s in s_l.items():
                lagrangian = lagrangian + self.lambdas[name] * s
            self.opt.zero_grad(set_to_none=True)
            lagrangian.backward()
            self.opt.step()
            if self.dual_update == "step":
                self._dual_step(float(s_out), {n: float(s) for n, s in s_l.items()})
            losses.append(float(loss))
            self.step_count += 1
        if self.dual_update == "epoch":
            s_out, s_l = self.mean_slacks(x, y, batch)
            self._dual_step(s_out, s_l)
        else:
            s_out, s_l = self.mean_slacks(x, y, batch)
        row = {"epoch": len(self.history) + 1, "loss": sum(losses) / len(losses),
               "slack_out": s_out, "slack_layers": s_l, "lambda_out": self.lambda_out,
               "lambdas": dict(self.lambdas)}
        self.history.append(row)
        if log:
            top = sorted(self.lambdas.items(), key=lambda kv: -kv[1])[:3]
            log(f"pd epoch {row['epoch']}: loss {row['loss']:.4f}, slack_out {s_out:+.4f}, "
                f"lambda_out {self.lambda_out:.4f}, largest duals "
                + ", ".join(f"{n} {v:.4f}" for n, v in top))
        return row

    def mean_slacks(self, x, y, batch):
        """(output slack, {layer: slack}) averaged over (x, y), without gradients."""
        s_out, s_l, n = 0.0, {k: 0.0 for k in self.names}, 0
        # Batch statistics, as in the primal steps; the running statistics are left as they were.
        saved = [(m, _bn_buffers(m)) for m in (self.fp, self.lp)]
        with torch.no_grad():
            for i in range(0, len(x), batch):
                b = len(x[i:i + batch])
                _, so, sl = self._slacks(x[i:i + batch], y[i:i + batch])
                s_out += float(so) * b
                for k, v in sl.items():
                    s_l[k] += float(v) * b
                n += b
        for m, buffers in saved:
            m.load_state_dict({**m.state_dict(), **buffers})
        return s_out / n, ({k: v / n for k, v in s_l.items()} if self.layer_constraints else {})

    def _dual_step(self, s_out, s_l):
        self.lambda_out = max(0.0, self.lambda_out + self.lr_dual * s_out)
        for k, v in s_l.items():
            self.lambdas[k] = max(0.0, self.lambdas[k] + self.lr_dual * v)


def train_qat(lp_model, x, y, epochs, batch, lr, generator, log=None):
    """Plain quantization-aware training of a (mixed-precision) copy: SGD with momentum 0.9,
    weight decay 5e-4 on conv/linear weights, lr cosine-annealed per step to 0, straight-through
    gradients. Returns the mean loss per epoch."""
    decay = [p for p in lp_model.parameters() if p.ndim > 1]
    other = [p for p in lp_model.parameters() if p.ndim <= 1]
    opt = torch.optim.SGD([{"params": decay, "weight_decay": 5e-4},
                           {"params": other, "weight_decay": 0.0}], lr=lr, momentum=0.9)
    steps = math.ceil(len(x) / batch) * epochs
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.5 * (1.0 + math.cos(math.pi * min(s, steps) / steps)))
    lp_model.train()
    out, step = [], 0
    for epoch in range(epochs):
        perm = torch.randperm(len(x), generator=generator)
        losses = []
        for i in range(0, len(x), batch):
            idx = perm[i:i + batch]
            _set_step(lp_model, step)
            loss = F.cross_entropy(lp_model(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(float(loss))
            step += 1
        out.append(sum(losses) / len(losses))
        if log:
            log(f"qat epoch {epoch + 1}/{epochs}: loss {out[-1]:.4f}")
    return out


def layer_errors(fp_model, quantizer, x, batch=256):
    """The L2-error ranking's score per quantized layer: relative squared error
    ||z_l - z~_l||^2 / ||z_l||^2 between the full-precision layer on the quantized input and the
    quantized layer, summed over x, in the low-precision copy of fp_model (eval mode)."""
    lp = low_precision_copy(fp_model, quantizer)
    layers = quantized_layers(lp)
    fp_layers = dict(fp_model.named_modules())
    num = {n: 0.0 for n, _ in layers}
    den = {n: 0.0 for n, _ in layers}
    lp.eval()
    with torch.no_grad():
        for i in range(0, len(x), batch):
            rec = _Recorder(layers)
            try:
                lp(x[i:i + batch])
            finally:
                rec.remove()
            for name, layer in layers:
                x_in, z_q = rec.data[name]
                z = fp_layers[name](layer.quantize_input(x_in))
                num[name] += float(((z - z_q) ** 2).sum())
                den[name] += float((z ** 2).sum())
    return {n: num[n] / max(den[n], 1e-30) for n in num}


def select_layers(rule, k=None, duals=None, errors=None, seed=0, extra_energy=None,
                  budget=None):
    """Names of the layers to keep in high precision.

    largest_dual / smallest_dual: the k layers with the largest / smallest dual variable (ties by
    name); random: k layers drawn with random.Random(seed); l2: the k layers with the largest
    layer_errors() score; energy: layers in order of dual / extra energy (extra_energy: {layer:
    energy of running it in high precision minus in low precision, > 0}), each promoted when the
    running total of extra energy stays within `budget` (layers with dual 0 are not promoted).
    Result sorted by name."""
    if rule not in SELECTION_RULES:
        raise ValueError(f"selection rule '{rule}'; allowed: {', '.join(SELECTION_RULES)}")
    score = duals if rule in ("largest_dual", "smallest_dual", "energy") else errors
    if rule == "random":
        score = duals if duals is not None else errors
    if score is None:
        raise ValueError(f"selection rule '{rule}' needs "
                         + ("errors" if rule == "l2" else "duals"))
    names = sorted(score)
    if rule == "energy":
        if extra_energy is None or budget is None:
            raise ValueError("selection rule 'energy' needs extra_energy and budget")
        missing = set(names) - set(extra_energy)
        if missing:
            raise ValueError(f"extra_energy lacks layer(s) {sorted(missing)}")
        order = sorted((n for n in names if duals[n] > 0),
                       key=lambda n: (-duals[n] / max(extra_energy[n], 1e-30), n))
        chosen, spent = [], 0.0
        for n in order:
            if spent + extra_energy[n] <= budget:
                chosen.append(n)
                spent += extra_energy[n]
        return sorted(chosen)
    if k is None or not 0 <= k <= len(names):
        raise ValueError(f"k = {k!r} must be in [0, {len(names)}]")
    if rule == "random":
        return sorted(random.Random(seed).sample(names, k))
    sign = -1 if rule in ("largest_dual", "l2") else 1
    return sorted(sorted(names, key=lambda n: (sign * score[n], n))[:k])


def precision_map(low, high, keep, layers=None):
    """A precision map (dict, for yaml.safe_dump and `lbsim run --precision-map`): `default`
    the low formats ({role: spec}), and each layer of `keep` at the high formats. `layers`
    (optional) lists further layers pinned to given formats: {name: {role: spec}} (e.g. the first
    and last layer in fp32)."""
    doc = {"default": dict(low), "layers": {}}
    for name, formats in (layers or {}).items():
        doc["layers"][name] = dict(formats)
    for name in sorted(keep):
        doc["layers"][name] = dict(high)
    if not doc["layers"]:
        del doc["layers"]
    return doc
