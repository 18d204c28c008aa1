"""Retrieval metrics at scale: `retrieval_metrics` (blocked, one pass) against the naive full similarity matrix.

The naive path is what CLIP_benchmark and the BitMar reference trainer do: build the whole (texts x images) score matrix, a positive
mask and `topk` for each k; its ranks count, on the full matrix, the non-matches above the best match (a full
argsort would be far slower and larger still). Each measurement runs in a fresh process so its peak memory is
its own (CPU: peak RSS above the RSS before the call; CUDA: torch.cuda.max_memory_allocated). Where the naive path
cannot fit (`--naive-max-gb`), its memory is estimated from the bytes it allocates per matrix entry, measured at the
largest size that ran.

    python bench/retrieval_bench.py --sizes 5000 10000 20000 100000 --dim 512
"""
import argparse, csv, math, os, resource, sys, threading, time
import multiprocessing as mp


def _inputs(n, dim, captions, device, seed=0):
    import torch
    g = torch.Generator().manual_seed(seed)
    img = torch.randn(n, dim, generator=g)
    t2i = torch.arange(n).repeat_interleave(captions)
    txt = img[t2i] + 1.5 * torch.randn(n * captions, dim, generator=g)
    return img.to(device), txt.to(device), t2i.to(device)


def naive(img, txt, t2i, ks=(1, 5, 10)):
    "Full score matrix, positive mask, topk per k (CLIP_benchmark's recall_at_k); ranks by counting on the full matrix"
    import torch, torch.nn.functional as F
    img, txt = F.normalize(img, dim=-1), F.normalize(txt, dim=-1)
    scores = txt @ img.T
    pos = torch.zeros_like(scores, dtype=torch.bool); pos[torch.arange(len(t2i), device=img.device), t2i] = True
    out = {}
    for name, s, p in (('t2i', scores, pos), ('i2t', scores.T, pos.T)):
        for k in ks:
            out[f'{name}_R@{k}'] = p.gather(1, s.topk(k, dim=1).indices).any(1).double().mean().item()
        best = s.masked_fill(~p, -math.inf).amax(1, keepdim=True)   # best matching score per query
        first = (s.masked_fill(p, -math.inf) > best).sum(1) + 1     # 1 + non-matches scoring above it
        out[f'{name}_mean_rank'] = first.double().mean().item()
    return out


def _rss_mb():
    with open('/proc/self/statm') as f: return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE') / 2**20


def _worker(q, path, n, dim, captions, device, threads, block_mb):
    import torch
    torch.set_num_threads(threads)
    from bitmar_kit.evaluation import retrieval_metrics
    img, txt, t2i = _inputs(n, dim, captions, device)
    peak = [_rss_mb()]; base = peak[0]; stop = threading.Event()
    def sample():
        while not stop.is_set(): peak[0] = max(peak[0], _rss_mb()); time.sleep(0.005)
    th = threading.Thread(target=sample, daemon=True); th.start()
    if device == 'cuda': torch.cuda.synchronize(); torch.cuda.reset_peak_memory_stats(); cbase = torch.cuda.memory_allocated()
    t0 = time.perf_counter()
    m = retrieval_metrics(img, txt, t2i, block_mb=block_mb) if path == 'blocked' else naive(img, txt, t2i)
    if device == 'cuda': torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    stop.set(); th.join()
    mem = (torch.cuda.max_memory_allocated() - cbase) / 2**20 if device == 'cuda' else peak[0] - base
    q.put(dict(seconds=dt, extra_mb=mem, inputs_mb=(img.numel() + txt.numel()) * 4 / 2**20,
               i2t_R1=m['i2t_R@1'], t2i_R1=m['t2i_R@1'], t2i_R10=m['t2i_R@10']))


def measure(path, n, args):
    q = mp.get_context('spawn').Queue()
    p = mp.get_context('spawn').Process(target=_worker, args=(q, path, n, args.dim, args.captions, args.device,
                                                             args.threads, args.block_mb))
    p.start(); r = q.get(); p.join()
    return r


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--sizes', type=int, nargs='+', default=[5000, 10000, 20000, 100000], help='images (texts = images x captions)')
    ap.add_argument('--dim', type=int, default=512)
    ap.add_argument('--captions', type=int, default=1, help='captions per image')
    ap.add_argument('--device', default='cuda' if 'cuda' in sys.argv else 'cpu')
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--block-mb', type=float, default=256)
    ap.add_argument('--naive-max-gb', type=float, default=6, help='run the naive path only below this estimate')
    ap.add_argument('--csv', default=None)
    args = ap.parse_args()
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
    rows, per_entry = [], 13.0   # initial guess of naive bytes per score entry: float scores + bool mask + int64 sort
    print(f"device={args.device} threads={args.threads} dim={args.dim} captions/image={args.captions} block_mb={args.block_mb}")
    print(f"{'images':>8} {'texts':>8} {'blocked s':>10} {'blocked MB':>11} {'naive s':>9} {'naive MB':>10} {'time x':>7} {'memory x':>9}  R@1 equal")
    for n in args.sizes:
        entries = n * n * args.captions
        b = measure('blocked', n, args)
        est = per_entry * entries / 2**20
        if est / 1024 <= args.naive_max_gb:
            a = measure('naive', n, args); per_entry = a['extra_mb'] * 2**20 / entries; note = 'measured'
            same = abs(a['i2t_R1'] - b['i2t_R1']) < 1e-9 and abs(a['t2i_R1'] - b['t2i_R1']) < 1e-9
        else:
            a = dict(seconds=float('nan'), extra_mb=est); note = f'naive memory estimated ({per_entry:.1f} B/entry), not run'; same = None
        row = dict(images=n, texts=n * args.captions, dim=args.dim, blocked_s=round(b['seconds'], 2),
                   blocked_extra_mb=round(b['extra_mb']), inputs_mb=round(b['inputs_mb']), naive_s=round(a['seconds'], 2),
                   naive_extra_mb=round(a['extra_mb']), time_ratio=round(a['seconds'] / b['seconds'], 2),
                   memory_ratio=round(a['extra_mb'] / max(b['extra_mb'], 1), 1), naive=note, same_recall=same)
        rows.append(row)
        print(f"{n:>8} {n * args.captions:>8} {b['seconds']:>10.2f} {b['extra_mb']:>11.0f} {a['seconds']:>9.2f} {a['extra_mb']:>10.0f} "
              f"{row['time_ratio']:>7} {row['memory_ratio']:>9}  {same} ({note})", flush=True)
    if args.csv:
        with open(args.csv, 'w', newline='') as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0])); w.writeheader(); w.writerows(rows)
        print('wrote', args.csv)
