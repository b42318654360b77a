#!/usr/bin/python3
"""Small PyTorch models in the shapes real exporters produce, exported with
torch.onnx.export (torch 1.13, opsets <= 17), for the end-to-end tests and
the demo.

Every norm gets non-trivial parameters (gamma != 1, beta != 0, BatchNorm
running statistics != 0/1), set explicitly, so that a rewrite that drops or
misplaces a weight changes the outputs.

  models.py --list
  models.py MODEL -o model.onnx          (e.g. gpt2_preln_opset13)
"""
import argparse
import io
import math
import sys
import warnings

import torch
from torch import nn
import torch.nn.functional as F

# --- norms ---------------------------------------------------------------------


class RMSNorm(nn.Module):
    """RMSNorm in the spellings found in the wild:
    plain: x * rsqrt(mean(x^2) + eps) * w        (Llama reference code)
    hf:    fp32 cast, x * rsqrt(var + eps), cast back, w * x   (Hugging Face)
    div:   x / sqrt(mean(x * x) + eps) * w
    """

    def __init__(self, dim, spelling, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.spelling = spelling
        self.eps = eps

    def forward(self, x):
        if self.spelling == "plain":
            return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight
        if self.spelling == "hf":
            input_dtype = x.dtype
            hidden = x.to(torch.float32)
            variance = hidden.pow(2).mean(-1, keepdim=True)
            hidden = hidden * torch.rsqrt(variance + self.eps)
            return self.weight * hidden.to(input_dtype)
        if self.spelling == "div":
            return x / torch.sqrt((x * x).mean(-1, keepdim=True) + self.eps) * self.weight
        raise ValueError(self.spelling)


NORM_TYPES = (nn.LayerNorm, RMSNorm, nn.BatchNorm1d, nn.BatchNorm2d)


def set_nontrivial_norm_params(model, seed):
    """gamma = 1 + 0.5 N(0,1), beta = 0.2 N(0,1), running mean 0.3 N(0,1),
    running var in [0.5, 2]; checked afterwards."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if not isinstance(module, NORM_TYPES):
                continue
            module.weight.copy_(1 + 0.5 * torch.randn(module.weight.shape, generator=g))
            assert (module.weight - 1).abs().max() > 0.1
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


class GPT2Block(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.ln_1 = nn.LayerNorm(d)
        self.c_attn = nn.Linear(d, 3 * d)
        self.attn_proj = nn.Linear(d, d)
        self.ln_2 = nn.LayerNorm(d)
        self.c_fc = nn.Linear(d, 4 * d)
        self.mlp_proj = nn.Linear(4 * d, d)

    def forward(self, x):
        q, k, v = self.c_attn(self.ln_1(x)).split(x.shape[-1], dim=-1)
        x = x + self.attn_proj(causal_self_attention(q, k, v, self.heads, causal=True))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class GPT2(nn.Module):
    def __init__(self, vocab=96, positions=16, d=32, heads=4, layers=2):
        super().__init__()
        self.wte = nn.Embedding(vocab, d)
        self.wpe = nn.Embedding(positions, d)
        self.h = nn.ModuleList(GPT2Block(d, heads) for _ in range(layers))
        self.ln_f = nn.LayerNorm(d)

    def forward(self, input_ids):
        positions = torch.arange(input_ids.shape[1]).unsqueeze(0)
        x = self.wte(input_ids) + self.wpe(positions)
        for block in self.h:
            x = block(x)
        return self.ln_f(x) @ self.wte.weight.t()  # tied LM head


# --- Llama: Pre-RMSNorm, SwiGLU ---------------------------------------------------


class LlamaBlock(nn.Module):
    def __init__(self, d, heads, ffn, spelling):
        super().__init__()
        self.heads = heads
        self.input_layernorm = RMSNorm(d, spelling)
        self.q_proj = nn.Linear(d, d, bias=False)
        self.k_proj = nn.Linear(d, d, bias=False)
        self.v_proj = nn.Linear(d, d, bias=False)
        self.o_proj = nn.Linear(d, d, bias=False)
        self.post_attention_layernorm = RMSNorm(d, spelling)
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
    def __init__(self, spelling, vocab=96, d=32, heads=4, ffn=64, layers=2):
        super().__init__()
        self.embed_tokens = nn.Embedding(vocab, d)
        self.layers = nn.ModuleList(LlamaBlock(d, heads, ffn, spelling) for _ in range(layers))
        self.norm = RMSNorm(d, spelling)
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


# --- ViT with BatchNorm (a conv stem and PRepBN-style token norms) -------------------


class TokenBatchNorm(nn.Module):
    """BatchNorm1d over the channels of [batch, tokens, channels]: exports as
    Transpose -> BatchNormalization -> Transpose."""

    def __init__(self, d):
        super().__init__()
        self.bn = nn.BatchNorm1d(d)

    def forward(self, x):
        return self.bn(x.transpose(1, 2)).transpose(1, 2)


class ViTBlock(nn.Module):
    def __init__(self, d, heads, norm=TokenBatchNorm):
        super().__init__()
        self.heads = heads
        self.norm1 = norm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.norm2 = norm(d)
        self.fc1 = nn.Linear(d, 2 * d)
        self.fc2 = nn.Linear(2 * d, d)

    def forward(self, x):
        q, k, v = self.qkv(self.norm1(x)).split(x.shape[-1], dim=-1)
        x = x + self.proj(causal_self_attention(q, k, v, self.heads, causal=False))
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x))))


class ViTBN(nn.Module):
    def __init__(self, image=16, patch=4, d=32, heads=4, layers=2, classes=10):
        super().__init__()
        self.stem_conv = nn.Conv2d(3, 8, 3, padding=1)
        # After the ReLU, so that the exporter cannot fold it into the conv.
        self.stem_bn = nn.BatchNorm2d(8)
        self.patch_embed = nn.Conv2d(8, d, patch, stride=patch)
        self.pos_embed = nn.Parameter(0.02 * torch.randn(1, (image // patch) ** 2, d))
        self.blocks = nn.ModuleList(ViTBlock(d, heads) for _ in range(layers))
        self.norm = TokenBatchNorm(d)
        self.head = nn.Linear(d, classes)

    def forward(self, pixel_values):
        x = self.stem_bn(F.relu(self.stem_conv(pixel_values)))
        x = self.patch_embed(x).flatten(2).transpose(1, 2) + self.pos_embed
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x).mean(1))


# --- the catalogue ------------------------------------------------------------------

def _token_inputs(batch=2, seq=8, vocab=96, types=False):
    def make(g):
        ids = torch.randint(0, vocab, (batch, seq), generator=g)
        if not types:
            return {"input_ids": ids}
        return {"input_ids": ids,
                "token_type_ids": torch.randint(0, 2, (batch, seq), generator=g)}
    return make


def _image_inputs(g):
    return {"pixel_values": torch.randn(2, 3, 16, 16, generator=g)}


# name: (constructor, opset, input maker, output names, expected norm counts)
MODELS = {
    "gpt2_preln_opset13": (GPT2, 13, _token_inputs(), ["logits"], {"layer_norm": 5}),
    "gpt2_preln_opset17": (GPT2, 17, _token_inputs(), ["logits"], {"layer_norm": 5}),
    "llama_rmsnorm_plain_opset13": (lambda: Llama("plain"), 13, _token_inputs(), ["logits"],
                                    {"rms_norm": 5}),
    "llama_rmsnorm_hf_opset14": (lambda: Llama("hf"), 14, _token_inputs(), ["logits"],
                                 {"rms_norm": 5}),
    "llama_rmsnorm_div_opset17": (lambda: Llama("div"), 17, _token_inputs(), ["logits"],
                                  {"rms_norm": 5}),
    "bert_postln_opset14": (Bert, 14, _token_inputs(types=True),
                            ["last_hidden_state", "pooler_output"], {"layer_norm": 5}),
    "bert_postln_opset17": (Bert, 17, _token_inputs(types=True),
                            ["last_hidden_state", "pooler_output"], {"layer_norm": 5}),
    "vit_batchnorm_opset17": (ViTBN, 17, _image_inputs, ["logits"], {"batch_norm": 6}),
}


def build(name, seed=0):
    """(model in eval mode with non-trivial norm parameters, opset, example
    inputs {name: tensor}, output names, expected counts)."""
    ctor, opset, make_inputs, outputs, expected = MODELS[name]
    torch.manual_seed(seed)
    model = ctor().eval()
    set_nontrivial_norm_params(model, seed + 1)
    inputs = make_inputs(torch.Generator().manual_seed(seed + 2))
    return model, opset, inputs, outputs, expected


def export_module(model, inputs, path, opset, outputs, **options):
    """torch.onnx.export of `model` called on `inputs` ({name: tensor}), with
    the exporter's warnings silenced; `options` go to torch.onnx.export."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, tuple(inputs.values()), path, opset_version=opset,
                          input_names=list(inputs), output_names=outputs, **options)


def export(name, path, seed=0):
    """Exports MODELS[name] to `path`; returns (model, inputs, expected counts)."""
    model, opset, inputs, outputs, expected = build(name, seed)
    export_module(model, inputs, path, opset, outputs, do_constant_folding=True)
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


# --- BatchNorm folding: a CNN and a RepBN ViT (run_fold_batchnorm.py) ----------------
# Exported with torch.onnx.TrainingMode.PRESERVE, so that the BatchNorms stay
# BatchNormalization nodes instead of being folded by the exporter.


class BatchNormCNN(nn.Module):
    """Every producer a BatchNorm can fold into: Conv (plain, grouped,
    depthwise, bias-free), ConvTranspose (grouped, bias-free), Conv ->
    Reshape -> BatchNorm1d, Flatten -> Linear (Gemm) -> BatchNorm1d and a
    token Linear (MatMul) -> Transpose -> BatchNorm1d; and one BatchNorm after
    a residual Add, which has no producer to fold into."""

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

    def forward(self, x):  # x: [B, 3, 8, 8]
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.bn2(self.grouped(x))
        x = F.relu(self.bn3(self.depthwise(x)))
        x = self.bn_residual(x + self.bn4(self.pointwise(x)))
        x = F.relu(self.bn5(self.up(x)))
        x = self.bn6(self.up_plain(x))                           # [B, 6, 16, 16]
        s = self.squeeze(x)
        s = self.bn_seq(s.reshape(s.shape[0], 4, 256))
        f = self.bn_fc(self.fc(s.flatten(1)))
        t = self.token(x.flatten(2).transpose(1, 2)).transpose(1, 2)  # [B, 12, 256]
        return torch.tanh(f), self.bn_token(t)


class RepBN(nn.Module):
    """SLAB's RepBN (the norm of PRepBN): BatchNorm over the channels of
    [batch, tokens, channels] plus eta x; exports as Transpose ->
    BatchNormalization -> Add(Mul(eta, x)) -> Transpose."""

    def __init__(self, d):
        super().__init__()
        self.eta = nn.Parameter(torch.ones(1))
        self.bn = nn.BatchNorm1d(d)

    def forward(self, x):
        x = x.transpose(1, 2)
        return (self.bn(x) + self.eta * x).transpose(1, 2)


class RepBNViT(nn.Module):
    """A ViT whose norms are all RepBN; the last one feeds a mean pool."""

    def __init__(self, image=16, patch=4, d=48, heads=4, layers=2, classes=10):
        super().__init__()
        self.patch = nn.Conv2d(3, d, patch, stride=patch)
        self.pos = nn.Parameter(0.1 * torch.randn(1, (image // patch) ** 2, d))
        self.blocks = nn.ModuleList(ViTBlock(d, heads, RepBN) for _ in range(layers))
        self.norm = RepBN(d)
        self.head = nn.Linear(d, classes)

    def forward(self, pixel_values):
        x = self.patch(pixel_values).flatten(2).transpose(1, 2) + self.pos
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x).mean(1))


def set_nontrivial_repbn_params(model, seed):
    """set_nontrivial_norm_params, and every RepBN's eta in [0.2, 1.5]."""
    set_nontrivial_norm_params(model, seed)
    g = torch.Generator().manual_seed(seed + 1000)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, RepBN):
                module.eta.copy_(0.2 + 1.3 * torch.rand(1, generator=g))
                assert abs(module.eta.item() - 1) > 1e-3
