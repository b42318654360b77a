#!/usr/bin/python3
"""Small PyTorch models in the shapes real exporters produce, exported with
torch.onnx.export (torch 1.13, opsets <= 17), for the end-to-end tests, the
benchmarks and the demo; and Llama-style graphs built with onnx.helper at
opset 23 (RMSNormalization nodes, which torch 1.13 cannot export).

Every norm gets non-trivial parameters (gamma != 1, beta != 0, BatchNorm
running statistics != 0/1), set explicitly, so that a rewrite that drops or
misplaces a weight changes the outputs.

  models.py --list
  models.py MODEL -o model.onnx          (e.g. gpt2_preln_opset13)
"""
import argparse
import math
import sys
import warnings

import numpy as np
from onnx import TensorProto, helper, numpy_helper
import torch
from torch import nn
import torch.nn.functional as F

# --- norms ---------------------------------------------------------------------


class RMSNorm(nn.Module):
    """RMSNorm in the spellings found in the wild:
    plain: x * rsqrt(mean(x^2) + eps) * w        (Llama reference code)
    hf:    fp32 cast, x * rsqrt(var + eps), cast back, w * x   (Hugging Face)
    div:   x / sqrt(mean(x * x) + eps) * w
    pow:   x * (mean(x^2) + eps) ** -0.5 * w    (hand-written, Pow(v, -0.5))
    With unit_offset the gain is (1 + w), Gemma's convention (w starts at 0).
    """

    def __init__(self, dim, spelling, eps=1e-6, unit_offset=False):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(dim) if unit_offset else torch.ones(dim))
        self.spelling = spelling
        self.eps = eps
        self.unit_offset = unit_offset

    def forward(self, x):
        gain = 1 + self.weight if self.unit_offset else self.weight
        if self.spelling == "plain":
            return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * gain
        if self.spelling == "hf":
            input_dtype = x.dtype
            hidden = x.to(torch.float32)
            variance = hidden.pow(2).mean(-1, keepdim=True)
            hidden = hidden * torch.rsqrt(variance + self.eps)
            return gain * hidden.to(input_dtype)
        if self.spelling == "div":
            return x / torch.sqrt((x * x).mean(-1, keepdim=True) + self.eps) * gain
        if self.spelling == "pow":
            return x * (x.pow(2).mean(-1, keepdim=True) + self.eps).pow(-0.5) * gain
        raise ValueError(self.spelling)


class PowLayerNorm(nn.LayerNorm):
    """nn.LayerNorm written out with the inverse root as a power,
    (x - mean) * (var + eps) ** -0.5 * w + b: Pow(v, -0.5) in ONNX."""

    def forward(self, x):
        centered = x - x.mean(-1, keepdim=True)
        variance = centered.pow(2).mean(-1, keepdim=True)
        return centered * (variance + self.eps).pow(-0.5) * self.weight + self.bias


class LNFreeLayerNorm(nn.LayerNorm):
    """A norm site of an LN-free checkpoint (Heimersheim 2024): fine-tuned to
    one fixed std sigma per site, shipped as an ordinary LayerNorm with
    eps = 1e12 and gamma * 1e6 / sigma, so that sqrt(var + eps) ~ 1e6 and
    the output ~ (x - mean(x)) / sigma * gamma + beta. make_ln_free() sets
    the weights."""

    def __init__(self, d):
        super().__init__(d, eps=1e12)


def make_ln_free(model, seed):
    """Scales every LNFreeLayerNorm's gamma (already non-trivial) by
    1e6 / sigma, sigma in [0.5, 3] per site; returns {site: sigma}."""
    g = torch.Generator().manual_seed(seed)
    sigmas = {}
    with torch.no_grad():
        for name, module in model.named_modules():
            if isinstance(module, LNFreeLayerNorm):
                sigma = float(0.5 + 2.5 * torch.rand(1, generator=g))
                module.weight.mul_(1e6 / sigma)
                sigmas[name] = sigma
    return sigmas


NORM_TYPES = (nn.LayerNorm, RMSNorm, nn.BatchNorm1d, nn.BatchNorm2d)


def set_nontrivial_norm_params(model, seed):
    """gamma = 1 + 0.5 N(0,1) (w = 0.5 N(0,1) for a (1 + w) gain), beta =
    0.2 N(0,1), running mean 0.3 N(0,1), running var in [0.5, 2], RepBN's
    eta in [0.2, 1.5]; checked afterwards."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, RepBN):
                module.eta.copy_(0.2 + 1.3 * torch.rand(1, generator=g))
            if not isinstance(module, NORM_TYPES):
                continue
            offset = 0 if getattr(module, "unit_offset", False) else 1
            module.weight.copy_(offset + 0.5 * torch.randn(module.weight.shape, generator=g))
            assert (module.weight - offset).abs().max() > 0.1
            if getattr(module, "bias", None) is not None:
                module.bias.copy_(0.2 * torch.randn(module.bias.shape, generator=g))
                assert module.bias.abs().max() > 0.05
            if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
                module.running_mean.copy_(0.3 * torch.randn(module.running_mean.shape, generator=g))
                module.running_var.copy_(0.5 + 1.5 * torch.rand(module.running_var.shape, generator=g))
                assert module.running_mean.abs().max() > 0.05
                assert (module.running_var - 1).abs().max() > 0.1


def norm_module_names(model):
    """Names of the norm modules, e.g. ['h.0.ln_1', ...]."""
    return [name for name, m in model.named_modules() if isinstance(m, NORM_TYPES)]


def causal_self_attention(q, k, v, heads, causal):
    b, t, d = q.shape
    q, k, v = (z.reshape(b, t, heads, d // heads).transpose(1, 2) for z in (q, k, v))
    att = q @ k.transpose(-2, -1) / math.sqrt(d // heads)
    if causal:
        i = torch.arange(t)
        mask = i.unsqueeze(0) <= i.unsqueeze(1)  # torch.tril needs opset 14
        att = att.masked_fill(~mask, -1e4)
    att = att.softmax(-1)
    return (att @ v).transpose(1, 2).reshape(b, t, d)


# --- GPT-2: Pre-LN, tied embeddings ---------------------------------------------


class PreNormBlock(nn.Module):
    """x + attn(norm_1(x)), then x + mlp(norm_2(x)): GPT-2's block (causal,
    MLP 4d wide, tanh GELU) by default; ViTs use it bidirectional."""

    def __init__(self, d, heads, causal=True, ffn=None, gelu="tanh", norm=nn.LayerNorm,
                 bias=True):
        super().__init__()
        self.heads = heads
        self.causal = causal
        self.gelu = gelu
        self.ln_1 = norm(d)
        self.c_attn = nn.Linear(d, 3 * d, bias=bias)
        self.attn_proj = nn.Linear(d, d, bias=bias)
        self.ln_2 = norm(d)
        self.c_fc = nn.Linear(d, ffn or 4 * d, bias=bias)
        self.mlp_proj = nn.Linear(ffn or 4 * d, d, bias=bias)

    def forward(self, x):
        q, k, v = self.c_attn(self.ln_1(x)).split(x.shape[-1], dim=-1)
        x = x + self.attn_proj(causal_self_attention(q, k, v, self.heads, self.causal))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate=self.gelu))


class GPT2(nn.Module):
    def __init__(self, vocab=96, positions=16, d=32, heads=4, layers=2, bias=True,
                 norm=nn.LayerNorm):
        super().__init__()
        self.wte = nn.Embedding(vocab, d)
        self.wpe = nn.Embedding(positions, d)
        self.h = nn.ModuleList(PreNormBlock(d, heads, norm=norm, bias=bias)
                               for _ in range(layers))
        self.ln_f = norm(d)

    def forward(self, input_ids):
        positions = torch.arange(input_ids.shape[1]).unsqueeze(0)
        x = self.wte(input_ids) + self.wpe(positions)
        for block in self.h:
            x = block(x)
        return self.ln_f(x) @ self.wte.weight.t()  # tied LM head


class GPTJBlock(nn.Module):
    """GPT-J / Phi: attention and MLP read the same LayerNorm output and both
    write into the stream in one sum."""

    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.ln = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.fc = nn.Linear(d, 4 * d)
        self.fc2 = nn.Linear(4 * d, d)

    def forward(self, x):
        h = self.ln(x)
        q, k, v = self.qkv(h).split(x.shape[-1], dim=-1)
        att = causal_self_attention(q, k, v, self.heads, causal=True)
        return x + self.proj(att) + self.fc2(F.gelu(self.fc(h)))


class GPTJ(GPT2):
    def __init__(self, d=32, heads=4, layers=2, **kw):
        super().__init__(d=d, heads=heads, layers=layers, **kw)
        self.h = nn.ModuleList(GPTJBlock(d, heads) for _ in range(layers))


# --- Llama: Pre-RMSNorm, SwiGLU ---------------------------------------------------


class LlamaBlock(nn.Module):
    def __init__(self, d, heads, ffn, spelling, unit_offset=False):
        super().__init__()
        self.heads = heads
        self.input_layernorm = RMSNorm(d, spelling, unit_offset=unit_offset)
        self.q_proj = nn.Linear(d, d, bias=False)
        self.k_proj = nn.Linear(d, d, bias=False)
        self.v_proj = nn.Linear(d, d, bias=False)
        self.o_proj = nn.Linear(d, d, bias=False)
        self.post_attention_layernorm = RMSNorm(d, spelling, unit_offset=unit_offset)
        self.gate_proj = nn.Linear(d, ffn, bias=False)
        self.up_proj = nn.Linear(d, ffn, bias=False)
        self.down_proj = nn.Linear(ffn, d, bias=False)

    def forward(self, x):
        h = self.input_layernorm(x)
        x = x + self.o_proj(causal_self_attention(self.q_proj(h), self.k_proj(h),
                                                  self.v_proj(h), self.heads, causal=True))
        h = self.post_attention_layernorm(x)
        return x + self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h))


class Llama(nn.Module):
    """unit_offset: Gemma's (1 + w) norm gain."""

    def __init__(self, spelling, vocab=96, d=32, heads=4, ffn=64, layers=2, unit_offset=False):
        super().__init__()
        self.embed_tokens = nn.Embedding(vocab, d)
        self.layers = nn.ModuleList(LlamaBlock(d, heads, ffn, spelling, unit_offset)
                                    for _ in range(layers))
        self.norm = RMSNorm(d, spelling, unit_offset=unit_offset)
        self.lm_head = nn.Linear(d, vocab, bias=False)

    def forward(self, input_ids):
        x = self.embed_tokens(input_ids)
        for layer in self.layers:
            x = layer(x)
        return self.lm_head(self.norm(x))


# --- BERT: Post-LN ----------------------------------------------------------------


class BertLayer(nn.Module):
    def __init__(self, d, heads, ffn):
        super().__init__()
        self.heads = heads
        self.query = nn.Linear(d, d)
        self.key = nn.Linear(d, d)
        self.value = nn.Linear(d, d)
        self.attention_output = nn.Linear(d, d)
        self.attention_layernorm = nn.LayerNorm(d, eps=1e-12)
        self.intermediate = nn.Linear(d, ffn)
        self.output = nn.Linear(ffn, d)
        self.output_layernorm = nn.LayerNorm(d, eps=1e-12)

    def forward(self, x):
        a = causal_self_attention(self.query(x), self.key(x), self.value(x), self.heads,
                                  causal=False)
        x = self.attention_layernorm(x + self.attention_output(a))
        return self.output_layernorm(x + self.output(F.gelu(self.intermediate(x))))


class Bert(nn.Module):
    def __init__(self, vocab=96, positions=16, d=32, heads=4, ffn=64, layers=2):
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab, d)
        self.position_embeddings = nn.Embedding(positions, d)
        self.token_type_embeddings = nn.Embedding(2, d)
        self.embeddings_layernorm = nn.LayerNorm(d, eps=1e-12)
        self.layers = nn.ModuleList(BertLayer(d, heads, ffn) for _ in range(layers))
        self.pooler = nn.Linear(d, d)

    def forward(self, input_ids, token_type_ids):
        positions = torch.arange(input_ids.shape[1]).unsqueeze(0)
        x = (self.word_embeddings(input_ids) + self.position_embeddings(positions)
             + self.token_type_embeddings(token_type_ids))
        x = self.embeddings_layernorm(x)
        for layer in self.layers:
            x = layer(x)
        return x, torch.tanh(self.pooler(x[:, 0]))


# --- ViTs: a conv patch embedding, LayerNorm or BatchNorm ----------------------------


class ViT(nn.Module):
    """Pre-LN ViT: conv patch embedding, class token, learned positions."""

    def __init__(self, d=32, heads=4, layers=2, image=16, patch=4, classes=10):
        super().__init__()
        tokens = (image // patch) ** 2 + 1
        self.patch = nn.Conv2d(3, d, patch, patch)
        self.cls = nn.Parameter(torch.randn(1, 1, d))
        self.pos = nn.Parameter(torch.randn(1, tokens, d))
        self.blocks = nn.ModuleList(PreNormBlock(d, heads, causal=False, ffn=2 * d, gelu="none")
                                    for _ in range(layers))
        self.ln = nn.LayerNorm(d)
        self.head = nn.Linear(d, classes)

    def forward(self, pixel_values):
        x = self.patch(pixel_values).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], 1) + self.pos
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln(x)[:, 0])


class TokenBatchNorm(nn.Module):
    """BatchNorm1d over the channels of [batch, tokens, channels]: exports as
    Transpose -> BatchNormalization -> Transpose."""

    def __init__(self, d):
        super().__init__()
        self.bn = nn.BatchNorm1d(d)

    def forward(self, x):
        return self.bn(x.transpose(1, 2)).transpose(1, 2)


class RepBN(TokenBatchNorm):
    """SLAB's RepBN (the norm of PRepBN): BatchNorm over the channels of
    [batch, tokens, channels] plus eta x; exports as Transpose ->
    BatchNormalization -> Add(Mul(eta, x)) -> Transpose."""

    def __init__(self, d):
        super().__init__(d)
        self.eta = nn.Parameter(torch.ones(1))

    def forward(self, x):
        x = x.transpose(1, 2)
        return (self.bn(x) + self.eta * x).transpose(1, 2)


class ViTBN(nn.Module):
    """Token norms that are BatchNorms (PRepBN-style TokenBatchNorm, or
    RepBN), with a conv stem with BatchNorm unless stem=False."""

    def __init__(self, image=16, patch=4, d=32, heads=4, layers=2, classes=10,
                 norm=TokenBatchNorm, stem=True):
        super().__init__()
        self.stem = stem
        if stem:
            self.stem_conv = nn.Conv2d(3, 8, 3, padding=1)
            # After the ReLU, so that the exporter cannot fold it into the conv.
            self.stem_bn = nn.BatchNorm2d(8)
        self.patch_embed = nn.Conv2d(8 if stem else 3, d, patch, stride=patch)
        self.pos_embed = nn.Parameter(0.02 * torch.randn(1, (image // patch) ** 2, d))
        self.blocks = nn.ModuleList(PreNormBlock(d, heads, causal=False, ffn=2 * d, gelu="none",
                                                 norm=norm) for _ in range(layers))
        self.norm = norm(d)
        self.head = nn.Linear(d, classes)

    def forward(self, pixel_values):
        x = pixel_values
        if self.stem:
            x = self.stem_bn(F.relu(self.stem_conv(x)))
        x = self.patch_embed(x).flatten(2).transpose(1, 2) + self.pos_embed
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x).mean(1))


class RepBNViT(ViTBN):
    """A ViT whose norms are all RepBN; the last one feeds a mean pool."""

    def __init__(self, d=48, **kw):
        super().__init__(d=d, norm=RepBN, stem=False, **kw)


class BatchNormCNN(nn.Module):
    """BatchNorm after every kind of producer norm-fold-batchnorm handles:
    Conv (+ReLU), grouped, depthwise and bias-free Conv, grouped and bias-free
    ConvTranspose, Conv -> Reshape -> BatchNorm1d, Flatten -> Linear (Gemm)
    -> BatchNorm1d, token Linear (MatMul) -> Transpose -> BatchNorm1d; and one
    after a residual Add, with no producer to fold into. Input [2, 3, 8, 8]."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(16)
        self.grouped = nn.Conv2d(16, 16, 3, padding=1, groups=4)
        self.bn2 = nn.BatchNorm2d(16)
        self.depthwise = nn.Conv2d(16, 16, 3, padding=1, groups=16)
        self.bn3 = nn.BatchNorm2d(16)
        self.pointwise = nn.Conv2d(16, 16, 1, bias=False)
        self.bn4 = nn.BatchNorm2d(16)
        self.bn_residual = nn.BatchNorm2d(16)
        self.up = nn.ConvTranspose2d(16, 8, 2, stride=2, groups=2)
        self.bn5 = nn.BatchNorm2d(8)
        self.up_plain = nn.ConvTranspose2d(8, 6, 3, padding=1, bias=False)
        self.bn6 = nn.BatchNorm2d(6)
        self.squeeze = nn.Conv2d(6, 4, 1)
        self.bn_seq = nn.BatchNorm1d(4)
        self.fc = nn.Linear(4 * 256, 32)
        self.bn_fc = nn.BatchNorm1d(32)
        self.token = nn.Linear(6, 12)
        self.bn_token = nn.BatchNorm1d(12)

    def forward(self, x):
        x = torch.relu(self.bn1(self.conv1(x)))
        x = self.bn2(self.grouped(x))
        x = torch.relu(self.bn3(self.depthwise(x)))
        y = self.bn4(self.pointwise(x))
        x = self.bn_residual(x + y)
        x = torch.relu(self.bn5(self.up(x)))
        x = self.bn6(self.up_plain(x))
        s = self.squeeze(x)                                  # [B, 4, 16, 16]
        s = self.bn_seq(s.reshape(s.shape[0], 4, 256))
        f = self.bn_fc(self.fc(s.flatten(1)))
        t = self.token(x.flatten(2).transpose(1, 2)).transpose(1, 2)  # [B, 12, 256]
        return torch.tanh(f), self.bn_token(t)


# --- Llama-style graphs with opset-23 RMSNormalization nodes (onnx.helper) -----------


class GraphBuilder:
    """Builds an opset-23 graph node by node; weights come from a seeded
    NumPy generator, norm gains are 1 + 0.5 N(0,1)."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.nodes = []
        self.initializers = []

    def constant(self, name, array):
        self.initializers.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def random(self, name, shape, scale, offset=0.0):
        return self.constant(name, (offset + scale * self.rng.standard_normal(shape))
                             .astype(np.float32))

    def node(self, op, inputs, name, **attrs):
        self.nodes.append(helper.make_node(op, inputs, [name], name=name, **attrs))
        return name

    def rms_norm(self, x, name, d, eps=1e-6):
        gain = self.random(name + ".weight", [d], 0.5, offset=1.0)
        return self.node("RMSNormalization", [x, gain], name, axis=-1, epsilon=eps)

    def linear(self, x, name, k, n):
        """A bias-free linear layer: MatMul by a [k, n] initializer."""
        return self.node("MatMul", [x, self.random(name + ".weight", [k, n], k ** -0.5)], name)

    def model(self, name, inputs, outputs, value_info=()):
        graph = helper.make_graph(self.nodes, name, inputs, outputs, self.initializers,
                                  value_info=list(value_info))
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 23)])
        model.ir_version = 10
        return model


def llama_rmsnorm23(vocab=96, d=32, ffn=64, layers=2, seed=0):
    """Llama-style: RMSNormalization (opset 23) before single-head causal
    attention (separate Q/K/V) and a SwiGLU MLP, no biases, untied LM head.
    Input input_ids [batch, seq]; output logits."""
    g = GraphBuilder(seed)
    x = g.node("Gather", [g.random("embed_tokens", [vocab, d], 1.0), "input_ids"], "embed")
    g.constant("attention_scale", np.array(d ** -0.5, np.float32))
    # The causal mask, -1e9 above the diagonal, from the input's shape (the
    # Shape of a value onnx 1.12 cannot type, e.g. an RMSNormalization
    # output, crashes its data propagation inside norm-opt's importer).
    seq = g.node("Shape", ["input_ids"], "seq_len", start=1)
    full = g.node("ConstantOfShape", [g.node("Concat", [seq, seq], "mask_shape", axis=0)],
                  "mask_full", value=numpy_helper.from_array(np.array([-1e9], np.float32)))
    mask = g.node("Trilu", [full, g.constant("one", np.array(1, np.int64))], "causal_mask",
                  upper=1)
    for i in range(layers):
        p = f"layers.{i}."
        h = g.rms_norm(x, p + "input_layernorm", d)
        q, k, v = (g.linear(h, p + proj, d, d) for proj in ("q_proj", "k_proj", "v_proj"))
        scores = g.node("MatMul", [q, g.node("Transpose", [k], p + "k_t", perm=[0, 2, 1])],
                        p + "scores")
        scores = g.node("Add", [g.node("Mul", [scores, "attention_scale"], p + "scaled"),
                                mask], p + "masked")
        probs = g.node("Softmax", [scores], p + "probs", axis=-1)
        attention = g.node("MatMul", [probs, v], p + "attention")
        x = g.node("Add", [x, g.linear(attention, p + "o_proj", d, d)], p + "residual_1")
        h = g.rms_norm(x, p + "post_attention_layernorm", d)
        gate, up = g.linear(h, p + "gate_proj", d, ffn), g.linear(h, p + "up_proj", d, ffn)
        silu = g.node("Mul", [gate, g.node("Sigmoid", [gate], p + "sigmoid")], p + "silu")
        glu = g.node("Mul", [silu, up], p + "glu")
        x = g.node("Add", [x, g.linear(glu, p + "down_proj", ffn, d)], p + "residual_2")
    g.linear(g.rms_norm(x, "norm", d), "logits", d, vocab)
    return g.model("llama_rmsnorm23",
                   [helper.make_tensor_value_info("input_ids", TensorProto.INT64,
                                                  ["batch", "seq"])],
                   [helper.make_tensor_value_info("logits", TensorProto.FLOAT,
                                                  ["batch", "seq", vocab])])


def rms_norm_linear_rms_norm23(d=64, n=48, batch=2, seq=16, seed=0):
    """x -> RMSNorm -> bias-free MatMul -> RMSNorm -> MatMul -> y: a norm
    whose reader's product is read by another norm."""
    g = GraphBuilder(seed)
    h = g.rms_norm("x", "norm_1", d)
    p = g.linear(h, "proj_1", d, n)
    g.nodes.append(helper.make_node("MatMul", [g.rms_norm(p, "norm_2", n),
                                               g.random("proj_2.weight", [n, d], n ** -0.5)],
                                    ["y"], name="proj_2"))
    return g.model("rms_norm_linear_rms_norm",
                   [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, seq, d])],
                   [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, seq, d])],
                   # onnx 1.12 cannot infer RMSNormalization (opset 23): declare
                   # the intermediate types, as exporters that write value_info do.
                   [helper.make_tensor_value_info(name, TensorProto.FLOAT, [batch, seq, k])
                    for name, k in [(h, d), (p, n), ("norm_2", n)]])


def skip_rms_norm_swiglu(d=64, ffn=96, vocab=80, batch=2, seq=16, layers=2, seed=0):
    """onnxruntime's fused residual form: com.microsoft
    SkipSimplifiedLayerNormalization (the first with a skip bias) before a
    SwiGLU MLP and, at the end, an LM head; the skip sum output carries the
    residual stream. Inputs x and r [batch, seq, d]; outputs logits and the
    last residual sum."""
    g = GraphBuilder(seed)
    x, residual = "x", "r"
    widths = {}  # onnx 1.12 infers no com.microsoft op: declare every type
    for i in range(layers):
        p = f"layers.{i}."
        inputs = [x, residual, g.random(p + "norm.weight", [d], 0.5, offset=1.0)]
        if i == 0:
            inputs.append(g.random(p + "norm.skip_bias", [d], 0.3))
        h, total = p + "norm", p + "sum"
        g.nodes.append(helper.make_node("SkipSimplifiedLayerNormalization", inputs,
                                        [h, "", "", total], name=h,
                                        domain="com.microsoft", epsilon=1e-6))
        gate, up = g.linear(h, p + "gate_proj", d, ffn), g.linear(h, p + "up_proj", d, ffn)
        sigmoid = g.node("Sigmoid", [gate], p + "sigmoid")
        silu = g.node("Mul", [gate, sigmoid], p + "silu")
        glu = g.node("Mul", [silu, up], p + "glu")
        x, residual = g.linear(glu, p + "down_proj", ffn, d), total
        widths.update({name: ffn for name in (gate, up, sigmoid, silu, glu)})
        widths.update({name: d for name in (h, total, x)})
    g.nodes.append(helper.make_node(
        "SkipSimplifiedLayerNormalization",
        [x, residual, g.random("norm.weight", [d], 0.5, offset=1.0)],
        ["final_norm", "", "", "sum"], name="final_norm", domain="com.microsoft", epsilon=1e-6))
    g.linear("final_norm", "logits", d, vocab)
    model = g.model("skip_rms_norm_swiglu",
                    [helper.make_tensor_value_info(name, TensorProto.FLOAT, [batch, seq, d])
                     for name in ("x", "r")],
                    [helper.make_tensor_value_info("logits", TensorProto.FLOAT,
                                                   [batch, seq, vocab]),
                     helper.make_tensor_value_info("sum", TensorProto.FLOAT, [batch, seq, d])],
                    [helper.make_tensor_value_info(name, TensorProto.FLOAT, [batch, seq, k])
                     for name, k in list(widths.items()) + [("final_norm", d)]])
    model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    return model


# --- the catalogue ------------------------------------------------------------------

def token_inputs(batch=2, seq=8, vocab=96, types=False):
    def make(g):
        ids = torch.randint(0, vocab, (batch, seq), generator=g)
        if not types:
            return {"input_ids": ids}
        return {"input_ids": ids,
                "token_type_ids": torch.randint(0, 2, (batch, seq), generator=g)}
    return make


def image_inputs(g):
    return {"pixel_values": torch.randn(2, 3, 16, 16, generator=g)}


# name: (constructor, opset, input maker, output names, expected norm counts)
MODELS = {
    "gpt2_preln_opset13": (GPT2, 13, token_inputs(), ["logits"], {"layer_norm": 5}),
    "gpt2_preln_opset17": (GPT2, 17, token_inputs(), ["logits"], {"layer_norm": 5}),
    "llama_rmsnorm_plain_opset13": (lambda: Llama("plain"), 13, token_inputs(), ["logits"],
                                    {"rms_norm": 5}),
    "llama_rmsnorm_hf_opset14": (lambda: Llama("hf"), 14, token_inputs(), ["logits"],
                                 {"rms_norm": 5}),
    "llama_rmsnorm_div_opset17": (lambda: Llama("div"), 17, token_inputs(), ["logits"],
                                  {"rms_norm": 5}),
    "llama_rmsnorm_pow_opset17": (lambda: Llama("pow"), 17, token_inputs(), ["logits"],
                                  {"rms_norm": 5}),
    "gpt2_layernorm_pow_opset17": (lambda: GPT2(norm=PowLayerNorm), 17, token_inputs(),
                                   ["logits"], {"layer_norm": 5}),
    "bert_postln_opset14": (Bert, 14, token_inputs(types=True),
                            ["last_hidden_state", "pooler_output"], {"layer_norm": 5}),
    "bert_postln_opset17": (Bert, 17, token_inputs(types=True),
                            ["last_hidden_state", "pooler_output"], {"layer_norm": 5}),
    "vit_batchnorm_opset17": (ViTBN, 17, image_inputs, ["logits"], {"batch_norm": 6}),
}


def instantiate(ctor, make_inputs, seed=0):
    """(ctor() in eval mode with non-trivial norm parameters, example inputs
    {name: tensor})."""
    torch.manual_seed(seed)
    model = ctor().eval()
    set_nontrivial_norm_params(model, seed + 1)
    return model, make_inputs(torch.Generator().manual_seed(seed + 2))


def export_module(model, inputs, path, opset, outputs, **options):
    """torch.onnx.export of `model` called on `inputs` ({name: tensor}), with
    the exporter's warnings silenced; `options` go to torch.onnx.export
    (do_constant_folding=False keeps weights read transposed, nn.Linear or a
    tied head, a Transpose of the parameter, as in many real exports;
    training=TrainingMode.PRESERVE keeps an eval-mode BatchNorm a node)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, tuple(inputs.values()), path, opset_version=opset,
                          input_names=list(inputs), output_names=outputs, **options)


def build(name, seed=0):
    """(model in eval mode with non-trivial norm parameters, opset, example
    inputs {name: tensor}, output names, expected counts)."""
    ctor, opset, make_inputs, outputs, expected = MODELS[name]
    model, inputs = instantiate(ctor, make_inputs, seed)
    return model, opset, inputs, outputs, expected


def export(name, path, seed=0, constant_folding=True):
    """Exports MODELS[name] to `path`; returns (model, inputs, expected counts)."""
    model, opset, inputs, outputs, expected = build(name, seed)
    export_module(model, inputs, path, opset, outputs, do_constant_folding=constant_folding)
    return model, inputs, expected


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", choices=sorted(MODELS))
    parser.add_argument("-o", "--output")
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.list or not args.model:
        for name, (_, opset, _, _, expected) in MODELS.items():
            print(f"{name}: opset {opset}, norms {expected}")
        return 0
    if not args.output:
        parser.error("-o is required")
    export(args.model, args.output, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
