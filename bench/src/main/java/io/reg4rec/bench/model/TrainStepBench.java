package io.reg4rec.bench.model;

import io.reg4rec.autograd.Variable;
import io.reg4rec.engine.CallCountingBackend;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Engine;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;
import io.reg4rec.engine.cpu.CpuBackend;
import io.reg4rec.engine.cuda.LaunchStats;
import io.reg4rec.model.nn.CrossEntropy;
import io.reg4rec.model.nn.EncoderDecoderTransformer;
import io.reg4rec.model.nn.TransformerConfig;
import io.reg4rec.train.optim.AdamW;

import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Times one training step (forward, backward, AdamW update) of the paper-sized encoder-decoder:
 * width 128, FFN 640, 4 heads, 1 encoder and 2 decoder layers (pre-norm, GELU-tanh, dropout
 * 0.1), batch 256, a history of 50 items on the encoder (each item the sum of its 8 codebook
 * token embeddings), a decoder of 9 positions (BOS + 8 tokens) and cross-entropy over the
 * 8 * 300 + 3 token vocabulary at every decoder position. The batch is fixed and lives on the
 * device; each timed step ends with a device synchronisation. bench/torch/train_step_peer.py
 * builds the same model in PyTorch.
 *
 * <p>Usage: {@code TrainStepBench [--device cpu|cuda] [--warmup 5] [--steps 20] [--batch 256]}.
 * Prints one JSON line: {@code {"bench":"train_step","impl":"ours","device":..,"median_ms":..,...}};
 * on CUDA a second one, {@code {"bench":"train_step_launches",...}}: kernel launches, GEMM calls,
 * copies and allocations of one more step, with the most frequent kernels. {@code --ops BATCH}
 * instead prints the backend-call histogram of one step on the CPU
 * ({@code {"bench":"train_step_ops",...}}; each call is one or a few launches on CUDA).
 */
public final class TrainStepBench {
    static final int WIDTH = 128, FFN = 640, HEADS = 4, ENCODER_LAYERS = 1, DECODER_LAYERS = 2;
    static final int HISTORY = 50, CODEBOOKS = 8, CODEWORDS = 300, SPECIALS = 3;
    static final int VOCABULARY = CODEBOOKS * CODEWORDS + SPECIALS;
    static final int DECODER_LENGTH = CODEBOOKS + 1;
    static final int BOS = 1, EOS = 2;

    private TrainStepBench() {}

    public static void main(String[] args) {
        Device device = Device.CPU;
        int warmup = 5, steps = 20, batch = 256;
        for (int i = 0; i < args.length; i++) {
            String value = i + 1 < args.length ? args[i + 1] : null;
            switch (args[i]) {
                case "--device" -> device = Device.parse(require(args[i], value));
                case "--warmup" -> warmup = Integer.parseInt(require(args[i], value));
                case "--steps" -> steps = Integer.parseInt(require(args[i], value));
                case "--batch" -> batch = Integer.parseInt(require(args[i], value));
                case "--ops" -> {
                    // the backend-call histogram of one step on the CPU (no timing)
                    CallCountingBackend.Counts counts = countOps(Integer.parseInt(require(args[i], value)));
                    StringBuilder calls = new StringBuilder();
                    counts.snapshot().forEach((k, v) -> calls.append(calls.length() == 0 ? "" : ",").append('"').append(k).append("\":").append(v));
                    System.out.println("{\"bench\":\"train_step_ops\",\"impl\":\"ours\",\"device\":\"cpu\",\"work\":" + counts.work()
                            + ",\"allocations\":" + counts.get("allocate") + ",\"calls\":{" + calls + "}}");
                    return;
                }
                default -> throw new IllegalArgumentException("unknown option " + args[i] + " (use --device, --warmup, --steps, --batch)");
            }
            i++;
        }
        TransformerConfig config = new TransformerConfig(WIDTH, HEADS, FFN, 0.1);
        try (Scope data = Scope.open();
             EncoderDecoderTransformer model = new EncoderDecoderTransformer(device, config, VOCABULARY, VOCABULARY,
                     HISTORY, DECODER_LENGTH, ENCODER_LAYERS, DECODER_LAYERS, 2024);
             AdamW optimizer = new AdamW(model.namedParameters(), AdamW.Options.defaults())) {
            Batch b = Batch.random(device, batch, 7);
            double[] ms = new double[steps];
            for (int step = 0; step < warmup + steps; step++) {
                long start = System.nanoTime();
                step(model, optimizer, b);
                Engine.backend(device).synchronize();
                if (step >= warmup) ms[step - warmup] = (System.nanoTime() - start) / 1e6;
            }
            double[] sorted = ms.clone();
            Arrays.sort(sorted);
            double median = steps % 2 == 1 ? sorted[steps / 2] : (sorted[steps / 2 - 1] + sorted[steps / 2]) / 2;
            System.out.println(String.format(Locale.ROOT,
                    "{\"bench\":\"train_step\",\"impl\":\"ours\",\"device\":\"%s\",\"median_ms\":%.3f,\"min_ms\":%.3f,\"steps\":%d,\"warmup\":%d,"
                            + "\"batch\":%d,\"history\":%d,\"decoder_length\":%d,\"vocabulary\":%d,\"params\":%d,\"threads\":%d}",
                    device, median, sorted[0], steps, warmup, batch, HISTORY, DECODER_LENGTH, VOCABULARY, model.parameterCount(),
                    Runtime.getRuntime().availableProcessors()));
            if (device.isCuda()) printLaunches(device, model, optimizer, b);
        }
    }

    /** One training step: forward, loss, backward, AdamW update, gradients released. */
    static void step(EncoderDecoderTransformer model, AdamW optimizer, Batch b) {
        try (Scope scope = Scope.open()) {
            Variable logits = model.forward(b.source, null, b.decoderInput, null);
            CrossEntropy.loss(logits, b.labels).backward();
            optimizer.step(1e-4);
            model.zeroGrad();
        }
    }

    /**
     * One more step with per-kernel launch counting on: prints
     * {@code {"bench":"train_step_launches","total":..,"allocations":..,"top":{kernel: count, ...}}}
     * (allocations: requests to the device's caching allocator during the step).
     */
    private static void printLaunches(Device device, EncoderDecoderTransformer model, AdamW optimizer, Batch b) {
        Engine.backend(device).synchronize();
        long requestsBefore = Engine.backend(device).memoryStats().requests();
        LaunchStats.reset();
        LaunchStats.enable(true);
        try {
            step(model, optimizer, b);
            Engine.backend(device).synchronize();
        } finally {
            LaunchStats.enable(false);
        }
        long allocations = Engine.backend(device).memoryStats().requests() - requestsBefore;
        StringBuilder top = new StringBuilder();
        int shown = 0;
        for (Map.Entry<String, Long> e : LaunchStats.byName().entrySet()) {
            if (shown++ == 25) break;
            if (top.length() > 0) top.append(',');
            top.append('"').append(e.getKey()).append("\":").append(e.getValue());
        }
        System.out.println(String.format(Locale.ROOT, "{\"bench\":\"train_step_launches\",\"impl\":\"ours\",\"device\":\"%s\",\"total\":%d,"
                + "\"allocations\":%d,\"kernels\":%d,\"top\":{%s}}", device, LaunchStats.total(), allocations, LaunchStats.byName().size(), top));
    }

    /**
     * The backend calls of one training step on the CPU (after one warm-up step), counted by
     * {@link CallCountingBackend}: each is one or a few kernel launches on CUDA.
     */
    public static CallCountingBackend.Counts countOps(int batch) {
        CallCountingBackend.Counts counts = new CallCountingBackend.Counts();
        Engine.overrideCpuBackend(CallCountingBackend.wrap(CpuBackend.instance(), counts));
        TransformerConfig config = new TransformerConfig(WIDTH, HEADS, FFN, 0.1);
        try (Scope data = Scope.open();
             EncoderDecoderTransformer model = new EncoderDecoderTransformer(Device.CPU, config, VOCABULARY, VOCABULARY,
                     HISTORY, DECODER_LENGTH, ENCODER_LAYERS, DECODER_LAYERS, 2024);
             AdamW optimizer = new AdamW(model.namedParameters(), AdamW.Options.defaults())) {
            Batch b = Batch.random(Device.CPU, batch, 7);
            step(model, optimizer, b);
            counts.reset();
            step(model, optimizer, b);
            return counts;
        } finally {
            Engine.overrideCpuBackend(null);
        }
    }

    private static String require(String option, String value) {
        if (value == null) throw new IllegalArgumentException(option + " needs a value");
        return value;
    }

    /** A fixed random batch: source item token sets [b, 50, 8], decoder input [b, 9] and labels [b, 9]. */
    record Batch(Tensor source, Tensor decoderInput, Tensor labels) {
        static Batch random(Device device, int batch, long seed) {
            SplittableRandom random = new SplittableRandom(seed);
            long[] source = new long[batch * HISTORY * CODEBOOKS];
            for (int i = 0; i < source.length; i++) source[i] = SPECIALS + (i % CODEBOOKS) * CODEWORDS + random.nextInt(CODEWORDS);
            long[] in = new long[batch * DECODER_LENGTH], out = new long[batch * DECODER_LENGTH];
            for (int b = 0; b < batch; b++) {
                in[b * DECODER_LENGTH] = BOS;
                for (int c = 0; c < CODEBOOKS; c++) {
                    long token = SPECIALS + c * CODEWORDS + random.nextInt(CODEWORDS);
                    out[b * DECODER_LENGTH + c] = token;
                    in[b * DECODER_LENGTH + c + 1] = token;
                }
                out[b * DECODER_LENGTH + CODEBOOKS] = EOS;
            }
            return new Batch(Tensor.of(device, source, batch, HISTORY, CODEBOOKS), Tensor.of(device, in, batch, DECODER_LENGTH),
                    Tensor.of(device, out, batch, DECODER_LENGTH));
        }
    }
}
