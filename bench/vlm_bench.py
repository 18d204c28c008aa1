"""Phase 2 tuning modes side by side: training samples/s and generation tokens/s of `VisionLanguageModel` in full,
LoRA and QLoRA mode, on the same decoder, data and batch, in one run.

Each mode builds the same Qwen2 decoder from a config (nothing downloads; `--decoder` takes a Hub id or folder instead),
trains `--steps` AdamW steps on ShapesQA batches (timed from step `--warm` on) and then answers `--gen_batch` questions
with `--new_tokens` greedy tokens each (forced to full length, so every mode generates the same number of tokens). Modes
are alternated, best of `--repeats`. The table reports each mode's rate and its ratio to full fine-tuning; on a GPU it
also reports peak memory. An absolute time means something only on the GPU machine; on a CPU read the ratios (4-bit
layers are dequantized on every call there, so QLoRA is slower, not faster, on a CPU: it exists to save GPU memory).

    python bench/vlm_bench.py                         # CPU: a small Qwen2
    python bench/vlm_bench.py --size base --batch 16  # GPU: a Qwen2.5-0.5B-shaped decoder (random weights)
"""
import os, sys, time, argparse, warnings
os.environ.setdefault('HF_HUB_OFFLINE', '1')
import torch
from bitmar_kit.data import ShapesQA, train_tokenizer, image_transforms
from bitmar_kit.vlm import VisionLanguageModel, VLMConfig

SIZES = {   # decoder configs (Qwen2 layout); 'base' has Qwen2.5-0.5B's shapes
    'small': dict(model_type='qwen2', hidden_size=256, intermediate_size=768, num_hidden_layers=4, num_attention_heads=4,
                  num_key_value_heads=2, max_position_embeddings=512, tie_word_embeddings=True),
    'base': dict(model_type='qwen2', hidden_size=896, intermediate_size=4864, num_hidden_layers=24, num_attention_heads=14,
                 num_key_value_heads=2, max_position_embeddings=2048, tie_word_embeddings=True),
}

def build(mode, args, tok):
    torch.manual_seed(0)
    c = dict(VLMConfig.presets['demo'], mode=mode, lora_r=16, lora_alpha=32, lora_dropout=0.0, image_size=args.image_size,
             decoder=args.decoder, decoder_config={} if args.decoder else SIZES[args.size])
    return VisionLanguageModel(c, None if args.decoder else tok)

def train_rate(model, batches, steps, warm, device, bf16):
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    model.train()
    t0, rows = None, 0
    for step in range(steps):
        b = {k: (v.to(device) if torch.is_tensor(v) else v) for k, v in batches[step % len(batches)].items()}
        if step == warm:
            if device.type == 'cuda': torch.cuda.synchronize()
            t0, rows = time.perf_counter(), 0
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            loss = model(b).loss
        loss.backward(); opt.step(); opt.zero_grad(set_to_none=True)
        rows += b['input_ids'].shape[0]
    if device.type == 'cuda': torch.cuda.synchronize()
    return rows / (time.perf_counter() - t0)

def gen_rate(model, images, prompts, new_tokens, device, bf16):
    eos = model.tokenizer.eos_token_id
    model.tokenizer.eos_token_id = None           # never stop early: every mode generates the same token count
    try:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            model.generate(images[:2], prompts[:2], max_new_tokens=4)            # warm-up
            if device.type == 'cuda': torch.cuda.synchronize()
            t0 = time.perf_counter()
            out = model.generate(images, prompts, max_new_tokens=new_tokens, return_ids=True)
            if device.type == 'cuda': torch.cuda.synchronize()
    finally: model.tokenizer.eos_token_id = eos
    return sum(len(s) for s in out) / (time.perf_counter() - t0)

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--modes', default='full,lora,qlora')
    p.add_argument('--size', default='small', choices=list(SIZES))
    p.add_argument('--decoder', default=None, help='a Hub id or local folder instead of a decoder built from --size')
    p.add_argument('--batch', type=int, default=8); p.add_argument('--steps', type=int, default=12); p.add_argument('--warm', type=int, default=3)
    p.add_argument('--gen_batch', type=int, default=8); p.add_argument('--new_tokens', type=int, default=24)
    p.add_argument('--image_size', type=int, default=84); p.add_argument('--repeats', type=int, default=2)
    p.add_argument('--threads', type=int, default=None); p.add_argument('--csv', default=None)
    a = p.parse_args(argv)
    if a.threads: torch.set_num_threads(a.threads)
    warnings.filterwarnings('ignore')
    device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    bf16 = device.type == 'cuda'
    qa = ShapesQA(max(a.batch * 4, a.gen_batch), size=112, seed=0, transform=image_transforms(a.image_size))
    qt = ShapesQA(2000, seed=0, load_images=False)
    tok = train_tokenizer([f"Question: {s['question']}\nAnswer: {s['answer']}" for s in (qt[i] for i in range(2000))], vocab_size=400)
    modes = a.modes.split(',')
    best = {m: {'train_samples_per_s': 0.0, 'gen_tokens_per_s': 0.0, 'peak_mem_gb': float('nan')} for m in modes}
    for r in range(a.repeats):
        for m in modes:
            model = build(m, a, tok)
            if m != 'qlora': model.to(device)
            else: model.vision.to(device); model.projector.to(device)          # the 4-bit decoder was placed when loaded
            if device.type == 'cuda': torch.cuda.reset_peak_memory_stats()
            batches = [model.collator([qa[(a.batch * k + i) % len(qa)] for i in range(a.batch)]) for k in range(4)]
            tr = train_rate(model, batches, a.steps, a.warm, device, bf16)
            imgs = torch.stack([qa[i]['image'] for i in range(a.gen_batch)]).to(device)
            gr = gen_rate(model, imgs, [qa[i]['question'] for i in range(a.gen_batch)], a.new_tokens, device, bf16)
            b = best[m]
            b['train_samples_per_s'], b['gen_tokens_per_s'] = max(b['train_samples_per_s'], tr), max(b['gen_tokens_per_s'], gr)
            if device.type == 'cuda': b['peak_mem_gb'] = torch.cuda.max_memory_allocated() / 2**30
            b['trainable_M'] = sum(v['trainable'] for v in model.trainable_summary().values()) / 1e6
            del model
            if device.type == 'cuda': torch.cuda.empty_cache()
            print(f'repeat {r} {m}: {tr:.1f} samples/s, {gr:.1f} tokens/s', file=sys.stderr, flush=True)
    ref = best.get('full') or best[modes[0]]
    where = torch.cuda.get_device_name() if device.type == 'cuda' else f'CPU, {torch.get_num_threads()} threads'
    print(f"\nVisionLanguageModel tuning modes: decoder {a.decoder or a.size}, batch {a.batch}, image {a.image_size}, {where}")
    print(f"{'mode':6} {'trainable M':>11} {'train samples/s':>16} {'x full':>7} {'gen tokens/s':>13} {'x full':>7} {'peak GiB':>9}")
    rows = []
    for m in modes:
        b = best[m]
        rt, rg = b['train_samples_per_s'] / ref['train_samples_per_s'], b['gen_tokens_per_s'] / ref['gen_tokens_per_s']
        print(f"{m:6} {b['trainable_M']:11.2f} {b['train_samples_per_s']:16.1f} {rt:7.2f} {b['gen_tokens_per_s']:13.1f} {rg:7.2f} {b['peak_mem_gb']:9.2f}")
        rows.append({'mode': m, **b, 'train_ratio': rt, 'gen_ratio': rg, 'device': where})
    if a.csv:
        import csv
        with open(a.csv, 'w', newline='') as f:
            w = csv.DictWriter(f, list(rows[0])); w.writeheader(); w.writerows(rows)
    return rows

if __name__ == '__main__': main()
