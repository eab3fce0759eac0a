"""Tests of lbsim.qat (constrained QAT, layer selection, precision maps) on synthetic data: DoReFa
levels and straight-through gradients derived by hand, the low-precision copy's layers, the
layer constraints' gradients reaching only the full-precision layer they measure (no STE), the
dual step as the formula gives it, running statistics untouched by the slack pass, determinism,
the selection rules on hand-made duals, and a selection's precision map costed by `lbsim run`.

Usage: PYTHONPATH=<build>/python /usr/bin/python3 test_qat.py path/to/lbsim
"""

import os
import sys
import tempfile

import torch
import torch.nn as nn
import yaml

import lbsim
import lbsim.qat as q
import lbsim.torch as lt

os.environ["LBSIM_EXE"] = os.path.abspath(sys.argv[1])
torch.set_num_threads(1)


class Net(nn.Module):
    """conv(1->4) - bn - relu - conv(4->4) - bn - relu - conv(4->4) - relu - pool - fc(4->3)."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 4, 3, padding=1, bias=False)
        self.b1 = nn.BatchNorm2d(4)
        self.c2 = nn.Conv2d(4, 4, 3, padding=1, bias=False)
        self.b2 = nn.BatchNorm2d(4)
        self.c3 = nn.Conv2d(4, 4, 3, padding=1, bias=True)
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        x = torch.relu(self.b1(self.c1(x)))
        x = torch.relu(self.b2(self.c2(x)))
        x = torch.relu(self.c3(x))
        return self.fc(x.mean((2, 3)))


def data(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 1, 6, 6, generator=g)
    y = (x.mean((1, 2, 3)) > 0).long() + (x[:, 0, 0, 0] > 1).long()
    return x, y


def close(a, b, tol=1e-6):
    return abs(a - b) <= tol * max(1.0, abs(a), abs(b))


# --- DoReFa, by hand. Activations at 2 bits: clip to [0, 1], round(3 x) / 3 (half to even).
x = torch.tensor([-0.5, 0.2, 0.5, 0.9, 3.0], requires_grad=True)
a = q.dorefa_activation(x, 2)
assert torch.equal(a, torch.tensor([0.0, 1 / 3, 2 / 3, 1.0, 1.0])), a.tolist()
a.sum().backward()
assert x.grad.tolist() == [0.0, 1.0, 1.0, 1.0, 0.0], x.grad.tolist()  # STE inside the clip
# Weights at 2 bits: levels (2 i / 3 - 1) * mean|w|, i = 0..3; the largest |w| maps to +-E.
w = torch.tensor([-2.0, -0.1, 0.1, 2.0, 0.5])
wq = q.dorefa_weight(w, 2)
E = float(w.abs().mean())
levels = [(2 * i / 3 - 1) * E for i in range(4)]
for v in wq.tolist():
    assert any(close(v, lv) for lv in levels), (v, levels)
assert close(wq[0].item(), -E) and close(wq[3].item(), E)
# tanh(0.1)/(2 tanh 2) + 0.5 = 0.5519 -> round(1.656) = 2 -> (4/3 - 1) E.
assert close(wq[2].item(), E / 3)
# More bits never increase the error of the weights' shape (levels nest at 2^k - 1 = 1, 3, 15).
assert len(set(q.dorefa_weight(torch.randn(1000), 4).tolist())) <= 16

# --- The low-precision copy: first and last layers and `keep` in full precision.
torch.manual_seed(0)
net = Net()
for kind, quant in (("dorefa", q.Quantizer("dorefa", bits=2)),
                    ("lbsim", q.Quantizer("lbsim", weight="int4_sawb", activation="int4_sawb"))):
    lp = q.low_precision_copy(net, quant)
    assert [n for n, _ in q.quantized_layers(lp)] == ["c2", "c3"], kind
    lp = q.low_precision_copy(net, quant, keep=["c3"])
    assert [n for n, _ in q.quantized_layers(lp)] == ["c2"], kind
    assert lp.b1 is not net.b1  # its own BatchNorm layers
    try:
        q.low_precision_copy(net, quant, keep=["c9"])
        raise AssertionError("unknown layer accepted")
    except ValueError as e:
        assert "c9" in str(e) and "c1, c2, c3, fc" in str(e), e
assert q.Quantizer("lbsim", weight="int4_sawb", activation="int4_sawb").bits == 4
for bad in (lambda: q.Quantizer("dorefa"), lambda: q.Quantizer("apot", bits=2),
            lambda: q.Quantizer("lbsim", weight="int99")):
    try:
        bad()
        raise AssertionError("bad quantizer accepted")
    except ValueError:
        pass

# --- Layer constraints: the gradient of slack_l reaches only the FP layer l (no STE).
x, y = data()
pd = q.PrimalDual(Net(), q.Quantizer("dorefa", bits=2), eps_out=0.7)
loss, s_out, s_l = pd._slacks(x[:16], y[:16])
assert set(s_l) == {"c2", "c3"}
pd.opt.zero_grad(set_to_none=True)
s_l["c2"].backward()
with_grad = {n for n, p in pd.fp.named_parameters() if p.grad is not None and p.grad.abs().sum() > 0}
assert with_grad == {"c2.weight"}, with_grad
assert all(p.grad is None for p in pd.lp.parameters())

# --- The dual step: after one epoch with eps_layer = 0, lambda_l = lr_dual * mean slack_l (the
# slack pass's own value, recomputed here), lambda_out = max(0, 1 + lr_dual * slack_out).
torch.manual_seed(1)
pd = q.PrimalDual(Net(), q.Quantizer("dorefa", bits=2), eps_out=0.7, eps_layer=0.0, lr_dual=0.5)
bn_before = {k: v.clone() for k, v in pd.lp.state_dict().items() if "running" in k}
g = torch.Generator().manual_seed(0)
row = pd.train_epoch(x, y, 16, g)
for n in ("c2", "c3"):
    assert row["slack_layers"][n] > 0
    assert close(pd.lambdas[n], 0.5 * row["slack_layers"][n]), (n, pd.lambdas, row)
assert close(pd.lambda_out, max(0.0, 1 + 0.5 * row["slack_out"]))
running = lambda m: {k: v.clone() for k, v in m.state_dict().items() if "running" in k}  # noqa
bn_mid, fp_mid = running(pd.lp), running(pd.fp)
s_out, s_l = pd.mean_slacks(x, y, 16)  # the slack pass leaves running statistics as they were
bn_after = running(pd.lp)
assert all(torch.equal(bn_mid[k], bn_after[k]) for k in bn_mid)
assert all(torch.equal(fp_mid[k], v) for k, v in running(pd.fp).items())
assert (s_out, s_l) == pd.mean_slacks(x, y, 16)
assert any(not torch.equal(bn_before[k], bn_after[k]) for k in bn_before)  # primal steps do move
# Loose constraints: every slack negative, duals stay at 0 and lambda_out falls.
pd = q.PrimalDual(Net(), q.Quantizer("dorefa", bits=2), eps_out=1e3, eps_layer=1e3)
pd.train_epoch(x, y, 16, torch.Generator().manual_seed(0))
assert all(v == 0.0 for v in pd.lambdas.values()) and pd.lambda_out == 0.0
# Per-step dual updates (the option) also keep the duals non-negative.
pd = q.PrimalDual(Net(), q.Quantizer("dorefa", bits=2), eps_out=0.7, dual_update="step")
pd.train_epoch(x, y, 16, torch.Generator().manual_seed(0))
assert all(v >= 0 for v in pd.lambdas.values())

# --- Deterministic: the same seeds give the same duals and weights.
def one_run():
    torch.manual_seed(3)
    p = q.PrimalDual(Net(), q.Quantizer("lbsim", weight="int4_sawb", activation="int4_sawb"),
                     eps_out=0.1, eps_layer=0.0)
    p.train_epoch(x, y, 16, torch.Generator().manual_seed(5))
    return p.lambdas, [v.clone() for v in p.fp.state_dict().values()]


d1, w1 = one_run()
d2, w2 = one_run()
assert d1 == d2 and all(torch.equal(a, b) for a, b in zip(w1, w2))

# --- The L2 score falls with more weight bits (lbsim int2 -> int8 weights, int8 activations),
# per layer. (Not a property of DoReFa: its tanh reparametrisation does not approach w.)
torch.manual_seed(0)
net = Net()
e2 = q.layer_errors(net, q.Quantizer("lbsim", weight="int2", activation="int8"), x)
e8 = q.layer_errors(net, q.Quantizer("lbsim", weight="int8", activation="int8"), x)
assert set(e2) == {"c2", "c3"} and all(e8[n] < e2[n] for n in e2), (e2, e8)

# --- QAT retraining runs and lowers the loss of an easy problem.
torch.manual_seed(0)
lp = q.low_precision_copy(Net(), q.Quantizer("dorefa", bits=4))
losses = q.train_qat(lp, x, y, 6, 16, 0.05, torch.Generator().manual_seed(0))
assert losses[-1] < losses[0], losses

# --- Selection rules on hand-made duals.
duals = {"a": 3.0, "b": 1.0, "c": 2.0, "d": 0.0}
assert q.select_layers("largest_dual", 2, duals=duals) == ["a", "c"]
assert q.select_layers("smallest_dual", 2, duals=duals) == ["b", "d"]
assert q.select_layers("l2", 1, errors={"a": 0.1, "b": 0.5, "c": 0.2, "d": 0.0}) == ["b"]
r1 = q.select_layers("random", 2, duals=duals, seed=7)
assert r1 == q.select_layers("random", 2, duals=duals, seed=7) and len(r1) == 2
assert r1 == sorted(r1) and set(r1) <= set(duals)
draws = {tuple(q.select_layers("random", 2, duals=duals, seed=s)) for s in range(40)}
assert len(draws) == 6  # every 2-subset of 4 layers appears
# Energy-aware: dual per extra energy c (2/1), b (1/1), a (3/10); d has dual 0: never promoted.
extra = {"a": 10.0, "b": 1.0, "c": 1.0, "d": 1.0}
assert q.select_layers("energy", duals=duals, extra_energy=extra, budget=2) == ["b", "c"]
assert q.select_layers("energy", duals=duals, extra_energy=extra, budget=11) == ["b", "c"]
assert q.select_layers("energy", duals=duals, extra_energy=extra, budget=12) == ["a", "b", "c"]
assert q.select_layers("energy", duals=duals, extra_energy=extra, budget=0.5) == []
for bad in (lambda: q.select_layers("biggest", 1, duals=duals),
            lambda: q.select_layers("largest_dual", 5, duals=duals),
            lambda: q.select_layers("l2", 1, duals=duals),
            lambda: q.select_layers("energy", duals=duals)):
    try:
        bad()
        raise AssertionError("bad selection accepted")
    except ValueError:
        pass

# --- A selection's precision map, costed by lbsim run: keeping layers in fp32 costs energy, and
# a map with nothing kept equals the default precision for every quantized layer.
# (A training workload: a layer kept in fp32 needs its error in fp32 too.)
low = {"weight": "int4_sawb", "activation": "int4_sawb"}
high = {"weight": "fp32", "activation": "fp32", "error": "fp32"}
ends = {"conv1": dict(high), "linear": dict(high)}
doc = q.precision_map(low, high, ["layer2.0.conv1"], layers=ends)
assert doc == {"default": low, "layers": {"conv1": high, "linear": high, "layer2.0.conv1": high}}
assert q.precision_map(low, high, []) == {"default": low}
arch = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "arch_configs",
                    "int8_32x32.yaml")
energy = {}
with tempfile.TemporaryDirectory() as tmp:
    for name, keep in (("none", []), ("one", ["layer2.0.conv1"])):
        path = os.path.join(tmp, name + ".yaml")
        with open(path, "w") as f:
            yaml.safe_dump(q.precision_map(low, high, keep, layers=ends), f)
        r = lbsim.run(arch, "resnet20", batch=1, precision_map=path, args=["-q"])
        assert r["stats"]["run"]["precision_map"] == path
        energy[name] = sum(float(e["energy_pj"]) for e in r["energy"])
        fp_layers = {e["layer"] for e in r["energy"]}
        assert "layer2.0.conv1" in fp_layers
assert energy["one"] > energy["none"], energy
print("lbsim.qat tests passed")
