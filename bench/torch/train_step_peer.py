#!/usr/bin/env python3
"""PyTorch eager peer of io.reg4rec.bench.model.TrainStepBench: one training step (forward,
backward, AdamW) of the same encoder-decoder, timed the same way.

Model (identical shapes and parameter count to ours): width 128, FFN 640, 4 heads, 1 encoder and
2 decoder layers, pre-norm (norm_first) with a final LayerNorm on each stack, GELU (tanh
approximation), dropout 0.1, learned token and position embeddings for source (50 positions,
each item = sum of its 8 codebook token embeddings) and target (9 positions: BOS + 8 tokens), a
linear head over the 8 * 300 + 3 vocabulary, mean cross-entropy at every decoder position,
AdamW(lr 1e-4, betas (0.9, 0.999), eps 1e-8, weight decay 0.01 on matrices only). A fixed random
batch lives on the device; each timed step ends with a synchronisation.

Usage: python3 train_step_peer.py [--device cuda|cpu] [--warmup 5] [--steps 20] [--batch 256]
(on cpu, torch.set_num_threads(--threads, default 2)). Prints one JSON line:
{"bench":"train_step","impl":"torch","device":..,"median_ms":..,...}
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

WIDTH, FFN, HEADS, ENCODER_LAYERS, DECODER_LAYERS = 128, 640, 4, 1, 2
HISTORY, CODEBOOKS, CODEWORDS, SPECIALS = 50, 8, 300, 3
VOCABULARY = CODEBOOKS * CODEWORDS + SPECIALS
DECODER_LENGTH = CODEBOOKS + 1
BOS, EOS = 1, 2


def gelu_tanh(x):
    return F.gelu(x, approximate="tanh")


class EncoderDecoder(nn.Module):
    def __init__(self, dropout=0.1):
        super().__init__()
        self.source_tokens = nn.Embedding(VOCABULARY, WIDTH)
        self.source_positions = nn.Embedding(HISTORY, WIDTH)
        self.target_tokens = nn.Embedding(VOCABULARY, WIDTH)
        self.target_positions = nn.Embedding(DECODER_LENGTH, WIDTH)
        for e in (self.source_tokens, self.source_positions, self.target_tokens, self.target_positions):
            nn.init.normal_(e.weight, std=WIDTH ** -0.5)
        self.dropout = nn.Dropout(dropout)
        enc_layer = nn.TransformerEncoderLayer(WIDTH, HEADS, FFN, dropout, activation=gelu_tanh, batch_first=True, norm_first=True)
        dec_layer = nn.TransformerDecoderLayer(WIDTH, HEADS, FFN, dropout, activation=gelu_tanh, batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(enc_layer, ENCODER_LAYERS, norm=nn.LayerNorm(WIDTH), enable_nested_tensor=False)
        self.decoder = nn.TransformerDecoder(dec_layer, DECODER_LAYERS, norm=nn.LayerNorm(WIDTH))
        self.head = nn.Linear(WIDTH, VOCABULARY)
        self.register_buffer("causal", torch.triu(torch.ones(DECODER_LENGTH, DECODER_LENGTH, dtype=torch.bool), diagonal=1), persistent=False)

    def forward(self, source, target_input):
        s = self.source_tokens(source).sum(2) + self.source_positions.weight[: source.shape[1]]
        memory = self.encoder(self.dropout(s))
        t = self.target_tokens(target_input) + self.target_positions.weight[: target_input.shape[1]]
        h = self.decoder(self.dropout(t), memory, tgt_mask=self.causal[: t.shape[1], : t.shape[1]])
        return self.head(h)


def random_batch(device, batch, seed):
    g = torch.Generator().manual_seed(seed)
    offsets = SPECIALS + torch.arange(CODEBOOKS) * CODEWORDS
    source = offsets + torch.randint(0, CODEWORDS, (batch, HISTORY, CODEBOOKS), generator=g)
    tokens = offsets + torch.randint(0, CODEWORDS, (batch, CODEBOOKS), generator=g)
    decoder_input = torch.cat([torch.full((batch, 1), BOS), tokens], dim=1)
    labels = torch.cat([tokens, torch.full((batch, 1), EOS)], dim=1)
    return source.to(device), decoder_input.to(device), labels.to(device)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    device = torch.device(args.device)
    if device.type == "cpu":
        torch.set_num_threads(args.threads)
    torch.manual_seed(2024)
    model = EncoderDecoder().to(device).train()
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
                                  lr=1e-4, betas=(0.9, 0.999), eps=1e-8)
    source, decoder_input, labels = random_batch(device, args.batch, 7)

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    times = []
    for step in range(args.warmup + args.steps):
        start = time.perf_counter()
        logits = model(source, decoder_input)
        loss = F.cross_entropy(logits.reshape(-1, VOCABULARY), labels.reshape(-1))
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        sync()
        if step >= args.warmup:
            times.append((time.perf_counter() - start) * 1e3)
    print(json.dumps({
        "bench": "train_step", "impl": "torch", "device": str(device),
        "median_ms": round(statistics.median(times), 3), "min_ms": round(min(times), 3),
        "steps": args.steps, "warmup": args.warmup, "batch": args.batch, "history": HISTORY,
        "decoder_length": DECODER_LENGTH, "vocabulary": VOCABULARY,
        "params": sum(p.numel() for p in model.parameters()),
        "threads": torch.get_num_threads(), "torch": torch.__version__,
    }))


if __name__ == "__main__":
    main()
