"""The decoder the harness times: a model's exact shapes with random weights, in plain PyTorch.

Per layer, in order (the recipe of the shared H200 measurements, ``data/measurements/README.md``):
fp32 RMSNorm, one fused QKV projection, RoPE on q and k (chunk/cat), the new k and v written
into a preallocated KV cache, ``scaled_dot_product_attention`` with a tree mask when
``n > 1``, O projection and residual add, RMSNorm, fused gate+up, SiLU * up, down projection
(or a router and the touched experts for MoE), residual add; then a final RMSNorm and the LM
head over every token. :meth:`Point.op_functions` times the operations of
:data:`TIMED_OPERATIONS` alone over all layers' weights: these are operation names of the cost
model's list (:mod:`specroof.cost.operation`), so ``validate`` compares them one to one.

torch arrives as an argument: importing this module does not import it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from specroof.cost.operation import REGISTRY
from specroof.models.architecture import ModelConfig

RMS_EPS = 1e-6
TIMED_OPERATIONS: tuple[str, ...] = ("qkv_proj", "o_proj", "gate_up_proj", "down_proj", "attention", "lm_head")
"""The operations the harness times alone (``ops_ms`` keys of its rows), in its order."""
assert all(name in REGISTRY for name in TIMED_OPERATIONS)


class Decoder:
    """Random weights with a model's exact shapes, allocated once, stacked over layers."""

    def __init__(self, torch: Any, model: ModelConfig, dev: Any, dtype: Any, seed: int) -> None:
        self.torch = torch
        self.m = model
        self.dev = dev
        self.dtype = dtype
        self.gen = torch.Generator(device=dev)
        self.gen.manual_seed(seed)
        L, h = model.num_layers, model.hidden_size
        q, kv = model.q_dim, model.kv_dim
        self.norm1 = torch.ones(L, h, device=dev, dtype=dtype)
        self.norm2 = torch.ones(L, h, device=dev, dtype=dtype)
        self.final_norm = torch.ones(h, device=dev, dtype=dtype)
        self.wqkv = self._rand(L, q + 2 * kv, h)
        self.wo = self._rand(L, h, q)
        if model.is_moe:
            E, w = model.num_experts, model.mlp_width
            self.router = self._rand(L, E, h)
            self.wgu = self._rand(L, E, 2 * w, h)
            self.wd = self._rand(L, E, h, w)
        else:
            i = model.intermediate_size
            self.router = None
            self.wgu = self._rand(L, 2 * i, h)
            self.wd = self._rand(L, h, i)
        self.lm = self._rand(model.vocab_size, h)

    def _rand(self, *shape: int) -> Any:
        t = self.torch.empty(shape, device=self.dev, dtype=self.dtype)
        t.normal_(0.0, shape[-1] ** -0.5, generator=self.gen)
        return t

    def randn(self, *shape: int) -> Any:
        t = self.torch.empty(shape, device=self.dev, dtype=self.dtype)
        t.normal_(0.0, 1.0, generator=self.gen)
        return t


class Point:
    """The per-point state of one step: KV cache, inputs, RoPE tables, mask, MoE routing."""

    def __init__(self, dec: Decoder, batch: int, candidates: int, seq_len: int, gqa_mode: str) -> None:
        torch = dec.torch
        m = dec.m
        self.dec = dec
        self.b, self.n, self.s = batch, candidates, seq_len
        self.t = batch * candidates
        self.gqa_mode = gqa_mode
        total = seq_len + candidates
        self.kv = torch.zeros(
            m.num_layers, 2, batch, m.num_kv_heads, total, m.head_dim, device=dec.dev, dtype=dec.dtype
        )
        self.x = dec.randn(self.t, m.hidden_size)
        d = m.head_dim
        inv = 1.0 / (10000.0 ** (torch.arange(0, d, 2, device=dec.dev, dtype=torch.float32) / d))
        pos = torch.arange(seq_len, total, device=dec.dev, dtype=torch.float32)
        ang = torch.outer(pos, inv)
        ang = torch.cat((ang, ang), dim=-1)
        self.cos = ang.cos().to(dec.dtype)
        self.sin = ang.sin().to(dec.dtype)
        if candidates > 1:
            mask = torch.ones(candidates, total, device=dec.dev, dtype=torch.bool)
            mask[:, seq_len:] = torch.tril(
                torch.ones(candidates, candidates, device=dec.dev, dtype=torch.bool)
            )
            self.mask = mask.view(1, 1, candidates, total)
        else:
            self.mask = None
        self.routes: list[list[tuple[int, Any, Any]]] = []
        if m.is_moe:
            self._route()

    def _route(self) -> None:
        """Draw once which tokens go to which expert, from the random router (static shapes)."""
        torch = self.dec.torch
        m = self.dec.m
        for layer in range(m.num_layers):
            probe = self.dec.randn(self.t, m.hidden_size)
            logits = torch.nn.functional.linear(probe, self.dec.router[layer]).float()
            idx = torch.topk(logits, m.experts_per_token, dim=-1).indices
            experts = []
            for e in torch.unique(idx).tolist():
                tok, slot = torch.nonzero(idx == e, as_tuple=True)
                experts.append((int(e), tok, slot))
            self.routes.append(experts)

    @property
    def active_experts(self) -> float:
        return sum(len(r) for r in self.routes) / max(len(self.routes), 1)

    # ---- pieces of a layer

    def rms(self, x: Any, weight: Any) -> Any:
        xf = x.float()
        xf = xf * self.dec.torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + RMS_EPS)
        return xf.to(self.dec.dtype) * weight

    def rope(self, x: Any) -> Any:
        x1, x2 = x.chunk(2, dim=-1)
        return x * self.cos + self.dec.torch.cat((-x2, x1), dim=-1) * self.sin

    def attend(self, q: Any, k: Any, v: Any) -> Any:
        f = self.dec.torch.nn.functional
        mode = self.gqa_mode
        if mode == "mask_aware":
            mode = "enable_gqa" if self.mask is None else "repeat_interleave"
        if mode == "enable_gqa":
            return f.scaled_dot_product_attention(q, k, v, attn_mask=self.mask, enable_gqa=True)
        if mode == "repeat_interleave":
            rep = self.dec.m.num_heads // self.dec.m.num_kv_heads
            k = k.repeat_interleave(rep, dim=1)
            v = v.repeat_interleave(rep, dim=1)
        return f.scaled_dot_product_attention(q, k, v, attn_mask=self.mask)

    def mlp(self, layer: int, x: Any) -> Any:
        torch = self.dec.torch
        f = torch.nn.functional
        dec = self.dec
        if not dec.m.is_moe:
            gate, up = f.linear(x, dec.wgu[layer]).chunk(2, dim=-1)
            return f.linear(f.silu(gate) * up, dec.wd[layer])
        probs = f.linear(x, dec.router[layer]).float().softmax(dim=-1)
        weights = torch.topk(probs, dec.m.experts_per_token, dim=-1).values
        out = torch.zeros_like(x)
        for e, tok, slot in self.routes[layer]:
            gate, up = f.linear(x.index_select(0, tok), dec.wgu[layer, e]).chunk(2, dim=-1)
            y = f.linear(f.silu(gate) * up, dec.wd[layer, e])
            out.index_add_(0, tok, y * weights[tok, slot].unsqueeze(-1).to(dec.dtype))
        return out

    def step(self) -> Any:
        """One verification step: all layers, final norm and LM head; returns the logits."""
        f = self.dec.torch.nn.functional
        dec, m = self.dec, self.dec.m
        b, n, s, t = self.b, self.n, self.s, self.t
        q_dim, kv_dim, d = m.q_dim, m.kv_dim, m.head_dim
        hidden = self.x
        for layer in range(m.num_layers):
            qkv = f.linear(self.rms(hidden, dec.norm1[layer]), dec.wqkv[layer]).view(b, n, -1)
            q, k, v = qkv.split([q_dim, kv_dim, kv_dim], dim=-1)
            q = self.rope(q.view(b, n, m.num_heads, d).transpose(1, 2))
            k = self.rope(k.view(b, n, m.num_kv_heads, d).transpose(1, 2))
            v = v.view(b, n, m.num_kv_heads, d).transpose(1, 2)
            k_cache, v_cache = self.kv[layer, 0], self.kv[layer, 1]
            k_cache[:, :, s:s + n].copy_(k)
            v_cache[:, :, s:s + n].copy_(v)
            att = self.attend(q, k_cache, v_cache).transpose(1, 2).reshape(t, q_dim)
            hidden = hidden + f.linear(att, dec.wo[layer])
            hidden = hidden + self.mlp(layer, self.rms(hidden, dec.norm2[layer]))
        return f.linear(self.rms(hidden, dec.final_norm), dec.lm)

    # ---- operator classes alone, over all layers' weights

    def op_functions(self) -> dict[str, Callable[[], Any]]:
        torch = self.dec.torch
        f = torch.nn.functional
        dec, m = self.dec, self.dec.m
        L, t = m.num_layers, self.t
        x = self.x
        att_in = dec.randn(t, m.q_dim)
        q = dec.randn(self.b, m.num_heads, self.n, m.head_dim)
        if m.is_moe:
            routed = max((len(tok) for r in self.routes for _, tok, _ in r), default=1)
            act = dec.randn(routed, m.mlp_width)

            def gate_up() -> None:
                for layer in range(L):
                    for e, tok, _ in self.routes[layer]:
                        f.linear(x[: len(tok)], dec.wgu[layer, e])

            def down() -> None:
                for layer in range(L):
                    for e, tok, _ in self.routes[layer]:
                        f.linear(act[: len(tok)], dec.wd[layer, e])
        else:
            act = dec.randn(t, m.intermediate_size)

            def gate_up() -> None:
                for layer in range(L):
                    f.linear(x, dec.wgu[layer])

            def down() -> None:
                for layer in range(L):
                    f.linear(act, dec.wd[layer])

        def qkv_proj() -> None:
            for layer in range(L):
                f.linear(x, dec.wqkv[layer])

        def o_proj() -> None:
            for layer in range(L):
                f.linear(att_in, dec.wo[layer])

        def attention() -> None:
            for layer in range(L):
                self.attend(q, self.kv[layer, 0], self.kv[layer, 1])

        def lm_head() -> None:
            f.linear(x, dec.lm)

        fns = {
            "qkv_proj": qkv_proj, "o_proj": o_proj, "gate_up_proj": gate_up,
            "down_proj": down, "attention": attention, "lm_head": lm_head,
        }
        assert tuple(fns) == TIMED_OPERATIONS
        return fns
