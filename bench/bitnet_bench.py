"""BitLinear benchmarks, side by side in one run: packed inference against torch's int8 / int4 layers, greedy
generation of a packed decoder against its fp32 and int8 twins, the training step, storage.

Usage: python bench/bitnet_bench.py [--device cpu|cuda] [--threads N] [--repeats N] [--only PART ...] [--no-peer]
                                    [--csv out.csv]
PART: layers, generation, training, storage (default: all). The CSVs next to this script come from
`--threads 1 --csv bench/bitnet_bench_cpu_1thread.csv` and `--threads 2 --csv bench/bitnet_bench_cpu_2threads.csv`.

Every figure is a ratio measured in the same run: candidates are interleaved round by round and each ratio is the
median over rounds of the per-round ratio, so a load change on a shared machine hits all candidates alike. Absolute
times are printed for reference. Peers: torch's dynamic int8 Linear (`quantize_dynamic`, fbgemm), torch's int4
weight-only CPU matmul (`_weight_int4pack_mm_for_cpu`, group 128), fp32 `nn.Linear`; for training,
`transformers.integrations.bitnet` (AutoBitLinear with online quantisation, its quantisers `torch.compile`d as shipped).
Resident bits per weight are measured from the tensors each layer holds (the int8 and int4 peers: their packed weight
tensors, scales excluded).
"""
import argparse, copy, csv, os, statistics, sys, tempfile, time, warnings
os.environ.setdefault('HF_HUB_OFFLINE', '1')
import torch, torch.nn as nn, torch.nn.functional as F
from safetensors.torch import save_file, save_model
from bitmar_kit.bitnet import (BitLinear, BitTransformer, BitTransformerConfig, PackedBitLinear, to_inference,
                               int8_head, ternary_kernel, _KERNEL)

def sync(dev):
    if dev.type == 'cuda': torch.cuda.synchronize()

def bench_rounds(fns:dict, dev, repeats=10, inner=1):
    "Seconds per call of each fn, per round; calls interleaved round by round so load changes hit all alike."
    for f in fns.values(): f(); f()  # warm up (and compile)
    times = {k: [] for k in fns}
    for _ in range(repeats):
        for k, f in fns.items():
            sync(dev); t = time.perf_counter()
            for _ in range(inner): f()
            sync(dev); times[k].append((time.perf_counter() - t) / inner)
    return times

def bench(fns:dict, dev, repeats=10, inner=1):
    "Median seconds per call of each fn (interleaved rounds)."
    return {k: statistics.median(v) for k, v in bench_rounds(fns, dev, repeats, inner).items()}

def ratio(times, a, b):
    "Median over rounds of time[a] / time[b]: how many times faster b is than a."
    return statistics.median(x / y for x, y in zip(times[a], times[b]))

def int8_dynamic(lin):
    from torch.ao.quantization import quantize_dynamic
    q = quantize_dynamic(nn.Sequential(lin), {nn.Linear}, dtype=torch.qint8)
    w = torch.ops.quantized.linear_unpack(q[0]._packed_params._packed_params)[0]
    return q, w.int_repr().numel() * 8 / lin.weight.numel()

def int4_weight_only(lin, group=128):
    "torch's int4 weight-only CPU matmul, bf16 activations (its fast dtype; fp32 ran 100x slower); random codes: speed only."
    n, k = lin.weight.shape
    if k % group or n % 16 or not hasattr(torch, '_weight_int4pack_mm_for_cpu'): return None, None
    w = torch._convert_weight_to_int4pack_for_cpu(torch.randint(0, 16, (n, k), dtype=torch.int32), 2)
    sz = torch.zeros(k // group, n, 2, dtype=torch.bfloat16); sz[..., 0] = 0.01
    fwd = lambda x: torch._weight_int4pack_mm_for_cpu(x.bfloat16(), w, group, sz).float()
    return fwd, w.numel() * w.element_size() * 8 / (n * k)

def layers(dev, repeats, tokens, d_in, d_out):
    "One linear layer, every candidate, same input."
    x = torch.randn(tokens, d_in, device=dev)
    lin = nn.Linear(d_in, d_out, bias=False, device=dev)
    bit = BitLinear(d_in, d_out, device=dev)
    cands, bits = {'fp32 nn.Linear': lin}, {'fp32 nn.Linear': 32.0}
    if dev.type == 'cpu':
        cands['torch dynamic int8'], bits['torch dynamic int8'] = int8_dynamic(lin)
        f, b = int4_weight_only(lin)
        if f is not None: cands['torch int4 weight-only'], bits['torch int4 weight-only'] = f, b
    old = PackedBitLinear.from_bitlinear(bit, kernel=False)
    cands['PackedBitLinear, torch path'], bits['PackedBitLinear, torch path'] = old, old.resident_bits()
    if dev.type == 'cpu' and ternary_kernel() is not None:
        new = PackedBitLinear.from_bitlinear(bit, kernel=True)
        yn, yo = new(x), old(x)
        assert (yn - yo).abs().max() <= 1e-5 * yo.abs().max()   # the kernel's own norm: equal within float rounding
        cands['PackedBitLinear, kernel'], bits['PackedBitLinear, kernel'] = new, new.resident_bits()
    inner = max(1, min(50, int(2e8 // (tokens * d_in * d_out))))
    with torch.inference_mode():
        times = bench_rounds({k: (lambda f=f: f(x)) for k, f in cands.items()}, dev, repeats, inner)
    base = 'torch dynamic int8' if 'torch dynamic int8' in times else 'fp32 nn.Linear'
    return [dict(candidate=k, ms=statistics.median(v) * 1e3, speed_vs_int8=ratio(times, base, k),
                 speed_vs_fp32=ratio(times, 'fp32 nn.Linear', k), resident_bits=bits[k]) for k, v in times.items()]

LAYER_SHAPES = [(1, 4096, 4096), (8, 4096, 4096), (32, 4096, 4096), (256, 4096, 4096),
                (1, 512, 1368), (32, 512, 1368), (1, 128, 128)]

@torch.inference_mode()
def greedy(m, ids, new_tokens):
    "Greedy decoding with the KV cache: the prompt in one call, then one token per call."
    out = m(ids, use_cache=True)
    for _ in range(new_tokens):
        nxt = out.logits[:, -1:].argmax(-1)
        out = m(nxt, past_key_values=out.past_key_values, use_cache=True)
    return nxt

def generation(repeats, name, d_model, n_heads, batch, prompt=16, new_tokens=48, vocab=50304, n_layers=4):
    """Tokens/s of greedy decoding: packed decoder (kernel and torch path) against its fp32 and dynamic-int8 twins.
    The twins quantize the same layers (the blocks' projections); the tied LM head stays fp32 in all of them, as BitNet
    keeps it. A second pair has an int8 LM head on both sides (`int8_head`: torch's dynamic int8 Linear, per output
    row): the int8 twin with it (what `quantize_dynamic` on the whole model gives) and the packed kernel decoder with it
    (`to_inference(..., head='int8')`). Each candidate's `speed_vs_int8` is against the int8 twin with the same head.
    The packed kernel decoder also runs with `share=False` (one norm and quantization per projection)."""
    from torch.ao.quantization import quantize_dynamic
    mk = lambda q: BitTransformer(BitTransformerConfig(vocab_size=vocab, d_model=d_model, n_heads=n_heads, n_layers=n_layers,
                                                        quantized=q)).eval()
    torch.manual_seed(0)
    int8 = mk(False)
    int8.blocks = quantize_dynamic(int8.blocks, {nn.Linear}, dtype=torch.qint8)   # the layers BitNet makes ternary
    int8_both = copy.deepcopy(int8); int8_head(int8_both)
    cands = {'fp32 twin': mk(False), 'dynamic-int8 twin': int8, 'dynamic-int8 twin, int8 LM head too': int8_both}
    bit = mk(True)
    cands['packed, torch path'] = to_inference(copy.deepcopy(bit), kernel=False)
    if ternary_kernel() is not None:
        cands['packed, kernel, unshared'] = to_inference(copy.deepcopy(bit), kernel=True, share=False)  # one call per layer
        cands['packed, kernel'] = to_inference(copy.deepcopy(bit), kernel=True)  # q/k/v and gate/up share one quantization
        cands['packed, kernel, int8 LM head'] = to_inference(copy.deepcopy(bit), kernel=True, head='int8')
    ids = torch.randint(0, vocab, (batch, prompt))
    times = bench_rounds({k: (lambda m=m: greedy(m, ids, new_tokens)) for k, m in cands.items()}, torch.device('cpu'), repeats)
    peer = lambda k: 'dynamic-int8 twin, int8 LM head too' if 'int8 LM head' in k else 'dynamic-int8 twin'
    return [dict(candidate=k, ms=statistics.median(v) * 1e3, tokens_per_s=batch * new_tokens / statistics.median(v),
                 speed_vs_int8=ratio(times, peer(k), k), speed_vs_fp32=ratio(times, 'fp32 twin', k))
            for k, v in times.items()]

def naive_bitlinear(layer):
    "The recipe written literally (x + (q(x) - x).detach() on both operands): the 'naive ternary training' baseline."
    def aq(x):
        s = 127.0 / x.abs().max(dim=-1, keepdim=True).values.clamp(min=1e-5)
        return (x * s).round().clamp(-128, 127) / s
    def wq(w):
        s = 1.0 / w.abs().mean().clamp(min=1e-5)
        return (w * s).round().clamp(-1, 1) / s
    def fwd(x):
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6)
        w = layer.weight
        return F.linear(x + (aq(x) - x).detach(), w + (wq(w) - w).detach())
    return fwd

def peer():
    try:
        from transformers.integrations import bitnet as tb
        return tb
    except Exception as e:
        print(f'# peer unavailable: {e}'); return None

def training(dev, repeats, peer_mod, tokens=4096, d_in=1024, d_out=4096):
    x = torch.randn(tokens, d_in, device=dev, requires_grad=True)
    g = torch.randn(tokens, d_out, device=dev)
    lin = nn.Linear(d_in, d_out, bias=False, device=dev)
    bit = BitLinear(d_in, d_out, device=dev)
    naive = naive_bitlinear(bit)
    cands = {'nn.Linear': lin, 'BitLinear (kit)': bit, 'naive recipe': naive}
    if peer_mod is not None:
        pl = peer_mod.AutoBitLinear(d_in, d_out, bias=False, online_quant=True, use_rms_norm=True, device=dev)
        cands['transformers AutoBitLinear'] = pl
    def step(f):
        def run():
            x.grad = None
            f(x).backward(g)
        return run
    return bench({k: step(f) for k, f in cands.items()}, dev, repeats)

def model_step(dev, repeats, batch=8, seq=256):
    "Training step of a whole 4-layer BitTransformer (d_model 512) against its nn.Linear twin."
    ids = torch.randint(0, 8192, (batch, seq), device=dev)
    cands = {}
    for q in (False, True):
        torch.manual_seed(0)
        m = BitTransformer(BitTransformerConfig(vocab_size=8192, d_model=512, n_layers=4, n_heads=8, quantized=q)).to(dev)
        def run(m=m):
            m.zero_grad(set_to_none=True)
            F.cross_entropy(m(ids[:, :-1]).logits.flatten(0, 1), ids[:, 1:].flatten()).backward()
        cands['BitTransformer (BitLinear)' if q else 'twin (nn.Linear)'] = run
    return bench(cands, dev, max(3, repeats // 2))

def storage(tmp, d_model=512, n_layers=4, vocab=8192):
    cfg = BitTransformerConfig(vocab_size=vocab, d_model=d_model, n_layers=n_layers, n_heads=8)
    m = BitTransformer(cfg)
    n_bit = sum(mod.weight.numel() for mod in m.modules() if isinstance(mod, BitLinear))
    fp16 = os.path.join(tmp, 'fp16.safetensors'); save_model(m.half(), fp16)
    lin16 = os.path.join(tmp, 'bitlinear_fp16.safetensors')
    save_file({f'{n}.weight': mod.weight.detach().contiguous() for n, mod in m.named_modules() if isinstance(mod, BitLinear)}, lin16)
    m = to_inference(m.float())
    m.embed.half(); m.norm.half()
    for blk in m.blocks: blk.norm1.half(); blk.norm2.half()
    packed = os.path.join(tmp, 'packed.safetensors'); save_model(m, packed)
    sd = {k: v for k, v in m.state_dict().items() if k.endswith(('.packed', '.weight_scale'))}
    lin2 = os.path.join(tmp, 'bitlinear_packed.safetensors'); save_file(sd, lin2)
    sz = {k: os.path.getsize(p) for k, p in [('model fp16', fp16), ('model packed', packed), ('BitLinear fp16', lin16), ('BitLinear packed', lin2)]}
    return n_bit, sz

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    ap.add_argument('--repeats', type=int, default=15)
    ap.add_argument('--threads', type=int, default=None, help="CPU threads (default: torch's)")
    ap.add_argument('--only', nargs='+', default=['layers', 'generation', 'training', 'storage'],
                    choices=['layers', 'generation', 'training', 'storage'])
    ap.add_argument('--no-peer', action='store_true', help="skip transformers' BitLinear (training)")
    ap.add_argument('--new-tokens', type=int, default=48, help='tokens generated per greedy run')
    ap.add_argument('--csv', default=None, help='also write the rows here')
    a = ap.parse_args()
    dev = torch.device(a.device)
    if a.threads: torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    t0 = time.perf_counter()
    kernel = ternary_kernel() if dev.type == 'cpu' else None
    build = f", compiled in {_KERNEL['build_s']:.1f} s" if 'build_s' in _KERNEL else ''
    kdesc = f"ternary kernel: {_KERNEL.get('isa')} (ready in {time.perf_counter() - t0:.1f} s{build})" if kernel else 'ternary kernel: none'
    name = torch.cuda.get_device_name(dev) if dev.type == 'cuda' else f'CPU, {torch.get_num_threads()} threads'
    print(f'# device: {name}; torch {torch.__version__}; {kdesc}; median of {a.repeats} interleaved rounds')
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        if 'layers' in a.only:
            print('\n## one layer: ms, speed vs torch dynamic int8 and vs fp32 (x faster, median of per-round ratios), resident bits/weight')
            for tokens, d_in, d_out in LAYER_SHAPES:
                print(f'\n### {tokens} tokens, {d_in} -> {d_out}')
                for r in layers(dev, a.repeats, tokens, d_in, d_out):
                    print(f"{r['candidate']:30s} {r['ms']:9.3f} ms  {r['speed_vs_int8']:5.2f}x int8  {r['speed_vs_fp32']:6.2f}x fp32  {r['resident_bits']:5.2f} bits")
                    rows.append(dict(bench='layer', shape=f'{tokens} x {d_in} -> {d_out}', tokens=tokens, threads=torch.get_num_threads(), **r))
        if 'generation' in a.only and dev.type == 'cpu':
            print(f'\n## greedy generation with the KV cache, 4-layer decoder, vocab 50304, 16-token prompt + {a.new_tokens} new tokens')
            for name_, d, h in [('paper (d_model 128)', 128, 4), ('4x wider (d_model 512)', 512, 16)]:
                for batch in (1, 8):
                    print(f'\n### {name_}, batch {batch}')
                    for r in generation(max(3, a.repeats // 3), name_, d, h, batch, new_tokens=a.new_tokens):
                        print(f"{r['candidate']:36s} {r['tokens_per_s']:9.1f} tokens/s  {r['speed_vs_int8']:5.2f}x int8 (same head)  {r['speed_vs_fp32']:5.2f}x fp32")
                        rows.append(dict(bench='generation', shape=f'{name_}, batch {batch}', tokens=batch, threads=torch.get_num_threads(), **r))
        if 'training' in a.only:
            peer_mod = None if a.no_peer else peer()
            for title, res, base in [('training step fwd+bwd, 4096 tokens, 1024->4096', training(dev, a.repeats, peer_mod), 'nn.Linear'),
                                     ('model training step, 4-layer BitTransformer d_model 512, 8 x 256 tokens', model_step(dev, a.repeats), 'twin (nn.Linear)')]:
                print(f'\n## {title}')
                for k, t in res.items():
                    print(f'{k:34s} {t * 1e3:9.3f} ms   {t / res[base]:6.2f}x {base}')
                    rows.append(dict(bench='training', shape=title, threads=torch.get_num_threads(), candidate=k, ms=t * 1e3,
                                     speed_vs_fp32=res[base] / t))
    if 'storage' in a.only:
        with tempfile.TemporaryDirectory() as tmp:
            n_bit, sz = storage(tmp)
        print('\n## storage, 4-layer BitTransformer (d_model 512, vocab 8192), safetensors files')
        for k, v in sz.items(): print(f'{k:34s} {v / 2**20:9.3f} MiB')
        bpw = sz['BitLinear packed'] * 8 / n_bit
        print(f'BitLinear weights: {bpw:.3f} bits/weight packed, {sz["BitLinear fp16"] / sz["BitLinear packed"]:.2f}x smaller than fp16; '
              f'whole model {sz["model fp16"] / sz["model packed"]:.2f}x smaller (embeddings stay fp16)')
        rows.append(dict(bench='storage', shape='4-layer BitTransformer d_model 512', candidate='BitLinear packed file',
                         resident_bits=bpw, speed_vs_fp32=''))
    if a.csv:
        fields = ['bench', 'shape', 'tokens', 'threads', 'candidate', 'ms', 'tokens_per_s', 'speed_vs_int8', 'speed_vs_fp32', 'resident_bits']
        with open(a.csv, 'w', newline='') as f:
            w = csv.DictWriter(f, fieldnames=fields, restval=''); w.writeheader()
            w.writerows({k: (f'{v:.4g}' if isinstance(v, float) else v) for k, v in r.items()} for r in rows)

if __name__ == '__main__': main()
