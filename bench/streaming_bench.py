"""Streaming generation: full KV cache vs attention sinks + sliding window, side by side in one run.

Usage: python bench/streaming_bench.py [--device cpu|cuda] [--lengths 1024 4096 16384] [--sinks 4] [--window 1020]
                                      [--d-model 64] [--layers 2] [--threads 1] [--csv out.csv]

One `BitTransformer` decoder (random weights: speed and memory do not depend on them) greedily generates each length
after an 8-token prompt, once with the full cache and once with S sinks + a window of W (the BitMar paper's 4 + 1020),
the two decoding in lockstep (one step each in turn, each step timed), so a change of the machine's load hits both
alike. Reported per run: tokens/s, the KV cache's size at the end (its tensors' bytes) and
its largest length over the run, and on CUDA the peak allocated memory (there the candidates run one after the other); each as a ratio against the full cache of the
same length. The sink + window cache must stay flat: at most S + W entries whatever the length.
"""
import argparse, csv, os, sys, time
import torch
from bitmar_kit.bitnet import BitTransformer, BitTransformerConfig

def kv_bytes(cache): return sum(t.numel() * t.element_size() for t in cache.keys + cache.values)

def step_fn(model, dev):
    "A generator of timed greedy steps: each `next` decodes one token and returns (seconds, cache)."
    prompt = torch.randint(0, model.config.vocab_size, (1, 8), generator=torch.Generator().manual_seed(0)).to(dev)
    out = model(prompt, use_cache=True)
    while True:
        sync(dev); t = time.perf_counter()
        out = model(out.logits[:, -1:].argmax(-1), past_key_values=out.past_key_values, use_cache=True)
        sync(dev)
        yield time.perf_counter() - t, out.past_key_values

def sync(dev):
    if dev.type == 'cuda': torch.cuda.synchronize()

@torch.inference_mode()
def run(models:dict, n, dev):
    "Generate n tokens with every model in lockstep (one step each in turn, so load changes hit all alike): name -> (tokens/s, KV bytes at the end, longest cache, peak CUDA MB or None)."
    res = {}
    if dev.type == 'cuda':   # peak memory needs one model at a time
        for name, m in models.items():
            torch.cuda.reset_peak_memory_stats(); g, total, longest = step_fn(m, dev), 0.0, 0
            for _ in range(n):
                dt, cache = next(g); total += dt; longest = max(longest, cache.length)
            res[name] = (n / total, kv_bytes(cache), longest, torch.cuda.max_memory_allocated() / 2**20)
            del g, cache
        return res
    gens = {name: step_fn(m, dev) for name, m in models.items()}
    total, longest, caches = dict.fromkeys(models, 0.0), dict.fromkeys(models, 0), {}
    for _ in range(n):
        for name, g in gens.items():
            dt, caches[name] = next(g); total[name] += dt; longest[name] = max(longest[name], caches[name].length)
    return {name: (n / total[name], kv_bytes(caches[name]), longest[name], None) for name in models}

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--device', default='cpu'); p.add_argument('--lengths', type=int, nargs='+', default=[1024, 4096, 16384])
    p.add_argument('--sinks', type=int, default=4); p.add_argument('--window', type=int, default=1020)
    p.add_argument('--d-model', type=int, default=64); p.add_argument('--layers', type=int, default=2)
    p.add_argument('--heads', type=int, default=4); p.add_argument('--vocab', type=int, default=1024)
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--csv', default=os.path.join(os.path.dirname(os.path.abspath(__file__)), 'streaming_bench_cpu.csv'))
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    dev = torch.device(a.device)
    base = dict(vocab_size=a.vocab, d_model=a.d_model, n_layers=a.layers, n_heads=a.heads)
    torch.manual_seed(0)
    models = {'full cache': BitTransformer(BitTransformerConfig(**base)).to(dev).eval()}
    models[f'{a.sinks} sinks + window {a.window}'] = w = BitTransformer(BitTransformerConfig(**base, sink_tokens=a.sinks, window=a.window))
    w.load_state_dict(models['full cache'].state_dict()); w.to(dev).eval()
    run(models, 16, dev)   # warm up
    rows = []
    for n in a.lengths:
        res = run(models, n, dev)
        f_tps, f_kv, _, f_peak = res['full cache']
        for name, (tps, kv, longest, peak) in res.items():
            rows.append(dict(device=a.device, threads=a.threads, d_model=a.d_model, layers=a.layers, tokens=n, cache=name,
                             tokens_per_s=round(tps, 1), speed_vs_full=round(tps / f_tps, 3), kv_cache_mb=round(kv / 2**20, 3),
                             kv_vs_full=round(kv / f_kv, 4), longest_cache=longest,
                             peak_cuda_mb=round(peak, 1) if peak is not None else '', peak_vs_full=round(peak / f_peak, 3) if peak else ''))
            print(f"{n:6} tokens  {name:26} {tps:8.1f} tok/s ({tps / f_tps:5.2f}x full)  KV {kv / 2**20:8.3f} MB "
                  f"({kv / f_kv:6.1%} of full)  longest cache {longest}", flush=True)
    window_rows = [r for r in rows if r['cache'] != 'full cache']
    assert all(r['longest_cache'] <= a.sinks + a.window for r in window_rows), 'the sink + window cache grew past S + W'
    with open(a.csv, 'w', newline='') as f:
        wr = csv.DictWriter(f, fieldnames=list(rows[0])); wr.writeheader(); wr.writerows(rows)
    print(f'wrote {a.csv}')

if __name__ == '__main__': main()
