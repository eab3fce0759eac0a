"""A tiny pre-norm transformer block with a classifier head, for tests/cli/test_tracer.sh.

TinyTransformer() takes input [batch, TOKENS, DIM] and returns logits [batch, CLASSES]. Per
sample it runs: norm (LayerNorm) -> attn.qkv (Linear DIM -> 3 DIM) -> q @ k^T (batch*HEADS
matrices of TOKENS x HEAD_DIM times HEAD_DIM x TOKENS) -> softmax -> @ v (TOKENS x TOKENS times
TOKENS x HEAD_DIM) -> attn.proj (Linear DIM -> DIM) -> residual add -> mean over tokens -> head
(Linear DIM -> CLASSES). SharedAttention() applies one SelfAttention module twice (weight
sharing: every layer of it runs twice). The test derives its expected shapes from these
constants.
"""
import torch
from torch import nn

TOKENS = 8
DIM = 32
HEADS = 2
HEAD_DIM = DIM // HEADS
CLASSES = 10


class SelfAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.qkv = nn.Linear(DIM, 3 * DIM)
        self.proj = nn.Linear(DIM, DIM)

    def forward(self, x):
        b, t, _ = x.shape
        qkv = self.qkv(x).reshape(b, t, 3, HEADS, HEAD_DIM).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]  # each [b, HEADS, t, HEAD_DIM]
        scores = (q @ k.transpose(-2, -1)) * HEAD_DIM**-0.5
        probs = torch.softmax(scores, dim=-1)
        out = torch.matmul(probs, v)  # [b, HEADS, t, HEAD_DIM]
        return self.proj(out.transpose(1, 2).reshape(b, t, DIM))


class TinyTransformer(nn.Module):
    def __init__(self):
        super().__init__()
        self.norm = nn.LayerNorm(DIM)
        self.attn = SelfAttention()
        self.head = nn.Linear(DIM, CLASSES)

    def forward(self, x):
        x = x + self.attn(self.norm(x))
        return self.head(x.mean(dim=1))


class SharedAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.attn = SelfAttention()
        self.head = nn.Linear(DIM, CLASSES)

    def forward(self, x):
        x = x + self.attn(x)
        x = x + self.attn(x)
        return self.head(x.mean(dim=1))
