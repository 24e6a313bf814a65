"""Device time of a piece of GPU work for the PyTorch peers, measured the way the engine's
DeviceTimer does: warm-up calls, then a pair of CUDA events around each repetition, median."""
import statistics

import torch


def median_ms(fn, warmup=3, reps=20):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)
