"""Layers the zoo cross-check of tests/cli/test_tracer.sh does not reach, in one small module.

MixedLayers() takes input [batch, 1, SIDE, SIDE] (random normal, as the tracer draws it) and
returns logits [batch, CLASSES]. Per sample:
  * token path: integer ids from the input (no gradient), SIDE*SIDE tokens -> embed (Embedding
    VOCAB x DIM: gather, scatter into the weight gradient, no dgrad) -> norm (LayerNorm DIM) ->
    mean, a scalar added to the logits (a broadcast add: not an `add` layer);
  * image path: conv (Conv2d 1 -> CH, 3x3, padding 1, on the network input: no dgrad) -> bn
    (BatchNorm2d CH, affine=False: no parameters, no parameter gradient) -> F.gelu ->
    F.max_pool2d 3x3 stride 1 padding 1 -> pool (AvgPool2d 2) -> adapt (AdaptiveAvgPool2d
    SIDE/2 -> ADAPT, not a divisor) -> flatten -> drop0 (Dropout p=0: returns its input, not
    traced) -> drop (Dropout 0.25) -> F.dropout(p=0.5, training=False: not traced) -> head
    (Linear CH*ADAPT*ADAPT -> CLASSES).
The layer shapes chain (workloads/README.md, "Chaining").
"""
import torch
import torch.nn.functional as F
from torch import nn

SIDE = 10
DIM = 8
VOCAB = 50
CH = 4
ADAPT = 3
CLASSES = 7


class MixedLayers(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, DIM)
        self.norm = nn.LayerNorm(DIM)
        self.conv = nn.Conv2d(1, CH, 3, padding=1)
        self.bn = nn.BatchNorm2d(CH, affine=False)
        self.pool = nn.AvgPool2d(2)
        self.adapt = nn.AdaptiveAvgPool2d(ADAPT)
        self.drop0 = nn.Dropout(p=0.0)
        self.drop = nn.Dropout(p=0.25)
        self.head = nn.Linear(CH * ADAPT * ADAPT, CLASSES)

    def forward(self, x):
        ids = (x.abs() * 1000).long() % VOCAB  # [b, 1, SIDE, SIDE]
        e = self.norm(self.embed(ids.flatten(1)))  # [b, SIDE*SIDE, DIM]
        y = F.gelu(self.bn(self.conv(x)))  # [b, CH, SIDE, SIDE]
        y = F.max_pool2d(y, 3, stride=1, padding=1)
        y = self.adapt(self.pool(y))  # [b, CH, ADAPT, ADAPT]
        y = self.drop(self.drop0(torch.flatten(y, 1)))
        y = F.dropout(y, p=0.5, training=False)
        return self.head(y) + e.mean()
