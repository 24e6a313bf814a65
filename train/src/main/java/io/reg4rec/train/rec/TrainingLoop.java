package io.reg4rec.train.rec;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;
import io.reg4rec.model.nn.Dropout;
import io.reg4rec.model.nn.Module;
import io.reg4rec.train.Checkpoint;
import io.reg4rec.train.data.LeaveOneOut;
import io.reg4rec.train.optim.AdamW;
import io.reg4rec.train.optim.LrSchedule;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The one training loop every recommender here shares ({@link RecTask} supplies the model-specific
 * loss and ranking): per epoch, the training units in a seeded shuffled order, mini-batches, the
 * task's loss, backward, global-norm clipping, AdamW under linear warm-up + cosine decay; then
 * validation R@5/N@5/R@10/N@10 with the task's ranker, a JSON line in {@code metrics.jsonl}, the
 * checkpoint {@code last.safetensors} (model + optimizer + loop state, written atomically) and,
 * when validation NDCG@10 improved, {@code best.safetensors}. Training stops after
 * {@code patience} epochs without improvement; the best weights are loaded back at the end.
 *
 * <p>Resuming from a {@code last.safetensors} restores weights, AdamW moments and step count,
 * the epoch, the early-stopping state and the dropout call counters; data order and decoding
 * orders derive from (seed, epoch, batch), so a resumed run continues as the original would have.
 *
 * <p>Host synchronisation inside the batch loop: none per step. Loss parts and the global
 * gradient norm (clipping and the AdamW update read it on the device) are summed on the device;
 * the sums are read every {@link #READ_INTERVAL_NANOS} for the progress line and at the end of
 * the epoch, which is also when a non-finite loss is caught (the error names the batch range).
 * Batches are built on the host and uploaded once.
 */
public final class TrainingLoop {
    public static final String LAST = "last.safetensors", BEST = "best.safetensors", METRICS = "metrics.jsonl";
    static final String META_TASK = "train.task", META_EPOCH = "train.epochs_done", META_BEST = "train.best_ndcg10",
            META_BEST_EPOCH = "train.best_epoch", META_BAD = "train.bad_epochs", META_SEED = "train.seed", META_DROPOUT = "dropout.";
    private static final ObjectMapper JSON = new ObjectMapper();
    /** How often the device-side sums of the loss parts are read during an epoch (2 s). */
    static final long READ_INTERVAL_NANOS = 2_000_000_000L;

    /** How a run ended. bestEpoch is 1-based (0 when no epoch was validated, e.g. zero epochs). */
    public record Result(int epochsDone, int bestEpoch, double bestValidationNdcg10, boolean stoppedEarly, long steps, double seconds,
                         RankingEvaluation.Result lastValidation) {}

    private final RecTask task;
    private final LeaveOneOut split;
    private final TrainConfig config;
    private final Path outDir;
    private final PrintStream log;
    private final boolean showProgress;

    /**
     * @param outDir       receives metrics.jsonl, last.safetensors and best.safetensors (created when missing)
     * @param log          one human-readable line per epoch (null: none)
     * @param showProgress progress with ETA on stderr over each epoch's batches and the validation
     */
    public TrainingLoop(RecTask task, LeaveOneOut split, TrainConfig config, Path outDir, PrintStream log, boolean showProgress) {
        this.task = task;
        this.split = split;
        this.config = config;
        this.outDir = outDir;
        this.log = log;
        this.showProgress = showProgress;
    }

    /** Trains from scratch, or from {@code resumeFrom} (a last.safetensors of the same task and sizes) when given. */
    public Result run(Path resumeFrom) throws IOException {
        Files.createDirectories(outDir);
        Module model = task.model();
        int units = task.trainingUnits();
        if (units == 0) throw new IllegalStateException(task.name() + ": no training examples (every user's training part has a single item)");
        int batchesPerEpoch = (units + config.batchSize() - 1) / config.batchSize();
        long totalSteps = (long) batchesPerEpoch * config.epochs();
        LrSchedule schedule = LrSchedule.warmupCosine(config.learningRate(), Math.round(config.warmupFraction() * totalSteps), totalSteps,
                config.learningRate() * config.finalLrFraction());
        LeaveOneOut.Examples validation = split.validationInputs(task.maxHistory());
        long started = System.nanoTime();
        try (AdamW optimizer = new AdamW(model.namedParameters(), AdamW.Options.defaults().withWeightDecay(config.weightDecay()))) {
            int firstEpoch = 0, bestEpoch = 0, badEpochs = 0;
            double best = Double.NEGATIVE_INFINITY;
            if (resumeFrom != null) {
                Map<String, String> meta = Checkpoint.load(resumeFrom, model, optimizer);
                if (!task.name().equals(meta.get(META_TASK))) {
                    throw new IllegalArgumentException(resumeFrom + " is a checkpoint of '" + meta.get(META_TASK) + "', not of " + task.name());
                }
                firstEpoch = Integer.parseInt(meta.get(META_EPOCH));
                bestEpoch = Integer.parseInt(meta.get(META_BEST_EPOCH));
                badEpochs = Integer.parseInt(meta.get(META_BAD));
                best = Double.parseDouble(meta.get(META_BEST));
                restoreDropout(model, meta);
                if (log != null) log.printf(Locale.ROOT, "%s: resumed from %s after epoch %d (step %d, best validation N@10 %.4f at epoch %d)%n",
                        task.name(), resumeFrom, firstEpoch, optimizer.steps(), best, bestEpoch);
                Path bestSoFar = resumeFrom.toAbsolutePath().resolveSibling(BEST), bestHere = outDir.resolve(BEST);
                if (bestEpoch > 0 && !Files.exists(bestHere)) {
                    if (!Files.exists(bestSoFar)) throw new IllegalStateException("resuming needs " + bestSoFar + " (the best weights so far) next to " + resumeFrom);
                    Files.copy(bestSoFar, bestHere);
                }
            }
            boolean stoppedEarly = false;
            RankingEvaluation.Result lastValidation = null;
            int epoch = firstEpoch;
            if (config.patience() > 0 && badEpochs >= config.patience()) stoppedEarly = true;
            for (; epoch < config.epochs() && !stoppedEarly; epoch++) {
                model.train();
                long epochStart = System.nanoTime();
                int[][] batches = batches(units, new SplittableRandom(mix(config.seed(), epoch)));
                Map<String, Double> sums = Map.of();
                double lastLr = 0;
                try (StepSums deviceSums = new StepSums();
                     Progress progress = showProgress ? Progress.start(task.name() + " epoch " + (epoch + 1), batchesPerEpoch, true) : Progress.silent()) {
                    long lastRead = System.nanoTime();
                    int checkedUpTo = 0;
                    for (int b = 0; b < batchesPerEpoch; b++) {
                        int[] batch = batches[b];
                        lastLr = schedule.lr(optimizer.steps());
                        try (Scope step = Scope.open()) {
                            RecTask.StepLoss loss = task.loss(batch, epoch, new SplittableRandom(mix(mix(config.seed(), epoch), b + 1)));
                            loss.total().backward();
                            if (config.gradClip() > 0) {
                                try (Tensor norm = optimizer.step(lastLr, config.gradClip())) {
                                    deviceSums.add("grad_norm", norm);
                                }
                            } else {
                                optimizer.step(lastLr);
                            }
                            model.zeroGrad();
                            deviceSums.add(loss.parts());
                        }
                        boolean last = b + 1 == batchesPerEpoch;
                        if (last || System.nanoTime() - lastRead > READ_INTERVAL_NANOS) {
                            sums = deviceSums.read();   // the one synchronisation of these batches
                            lastRead = System.nanoTime();
                            Double total = sums.get("loss");
                            if (total != null && !Double.isFinite(total)) {
                                throw new IllegalStateException(task.name() + ": loss became " + total + " at epoch " + (epoch + 1) + ", in batches "
                                        + (checkedUpTo + 1) + ".." + (b + 1) + " (lr " + lastLr + ")");
                            }
                            checkedUpTo = b + 1;
                            progress.message(String.format(Locale.ROOT, "loss %.4f", sums.getOrDefault("loss", Double.NaN) / (b + 1)));
                        }
                        progress.stepTo(b + 1);
                    }
                }
                double trainSeconds = (System.nanoTime() - epochStart) / 1e9;
                RankingEvaluation.Result val;
                int valUsers = config.validationUsers() > 0 ? Math.min(config.validationUsers(), validation.size()) : validation.size();
                try (Progress progress = showProgress ? Progress.start(task.name() + " validation", valUsers, true) : Progress.silent()) {
                    val = RankingEvaluation.evaluate("validation", task.ranker(), model, validation, config.evalBatch(), config.validationUsers(), progress::stepTo);
                }
                lastValidation = val;
                double ndcg10 = val.metrics().ndcg(10);
                boolean improved = ndcg10 > best;
                if (improved) {
                    best = ndcg10;
                    bestEpoch = epoch + 1;
                    badEpochs = 0;
                } else {
                    badEpochs++;
                }
                Map<String, String> meta = loopState(epoch + 1, best, bestEpoch, badEpochs, model);
                Checkpoint.save(outDir.resolve(LAST), model, optimizer, meta);
                if (improved) Checkpoint.save(outDir.resolve(BEST), model, optimizer, meta);
                ObjectNode line = JSON.createObjectNode().put("event", "epoch").put("model", task.name()).put("epoch", epoch + 1)
                        .put("steps", optimizer.steps()).put("lr", lastLr);
                sums.forEach((k, v) -> line.put(k, v / batchesPerEpoch));
                ObjectNode v = line.putObject("validation");
                val.metrics().summary().forEach(v::put);
                line.put("validation_users", val.metrics().users()).put("validation_users_per_s", val.usersPerSecond())
                        .put("validation_mean_list_length", val.meanListLength())
                        .put("train_seconds", trainSeconds).put("validation_seconds", val.seconds()).put("best", improved);
                appendLine(outDir.resolve(METRICS), line.toString());
                if (log != null) {
                    log.printf(Locale.ROOT, "%s epoch %d/%d: loss %.4f  val R@5 %.4f N@5 %.4f R@10 %.4f N@10 %.4f%s  (train %.1f s, val %.1f s, %.0f users/s)%n",
                            task.name(), epoch + 1, config.epochs(), sums.getOrDefault("loss", Double.NaN) / batchesPerEpoch,
                            val.metrics().recall(5), val.metrics().ndcg(5), val.metrics().recall(10), ndcg10, improved ? " *" : "",
                            trainSeconds, val.seconds(), val.usersPerSecond());
                }
                if (config.patience() > 0 && badEpochs >= config.patience()) stoppedEarly = true;
            }
            if (bestEpoch > 0) Checkpoint.load(outDir.resolve(BEST), model, optimizer);   // training is over: the moments may be overwritten too
            if (log != null && stoppedEarly) log.printf(Locale.ROOT, "%s: stopped early after epoch %d (%d epochs without a better validation N@10)%n", task.name(), epoch, config.patience());
            return new Result(epoch, bestEpoch, best, stoppedEarly, optimizer.steps(), (System.nanoTime() - started) / 1e9, lastValidation);
        }
    }

    /**
     * Loads only the model weights of a checkpoint written by this loop (for evaluation and
     * recommendation): a throw-away optimizer with the file's hyper-parameters takes the moments.
     */
    public static Map<String, String> loadModel(Path file, Module model) throws IOException {
        try (AdamW scratch = new AdamW(model.namedParameters(), AdamW.readOptions(file))) {
            Map<String, String> meta = Checkpoint.load(file, model, scratch);
            restoreDropout(model, meta);
            return meta;
        }
    }

    private Map<String, String> loopState(int epochsDone, double best, int bestEpoch, int badEpochs, Module model) {
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put(META_TASK, task.name());
        meta.put(META_EPOCH, Integer.toString(epochsDone));
        meta.put(META_BEST, Double.toString(best));
        meta.put(META_BEST_EPOCH, Integer.toString(bestEpoch));
        meta.put(META_BAD, Integer.toString(badEpochs));
        meta.put(META_SEED, Long.toString(config.seed()));
        dropouts("", model, (path, d) -> meta.put(META_DROPOUT + path, Long.toString(d.calls())));
        return meta;
    }

    private static void restoreDropout(Module model, Map<String, String> meta) {
        dropouts("", model, (path, d) -> {
            String calls = meta.get(META_DROPOUT + path);
            if (calls != null) d.setCalls(Long.parseLong(calls));
        });
    }

    /** Visits every Dropout in the module tree with its dotted path. */
    private static void dropouts(String prefix, Module module, java.util.function.BiConsumer<String, Dropout> visit) {
        for (Map.Entry<String, Module> child : module.children().entrySet()) {
            String path = prefix.isEmpty() ? child.getKey() : prefix + "." + child.getKey();
            if (child.getValue() instanceof Dropout d) visit.accept(path, d);
            dropouts(path, child.getValue(), visit);
        }
    }

    /** Units per length-sorted pool: batches are cut from sorted pools of this many batches. */
    static final int POOL_BATCHES = 32;

    /**
     * The batches of one epoch: units shuffled; then, when the task knows unit lengths, each pool
     * of {@link #POOL_BATCHES} batches is sorted by length before it is cut into batches, and the
     * batches are shuffled again. Batches hold units of similar length (little padding) while
     * their composition and order stay random from epoch to epoch.
     */
    int[][] batches(int units, SplittableRandom rng) {
        int[] order = shuffled(units, rng);
        int size = config.batchSize();
        boolean bucketed = task.unitLength(order[0]) > 0;
        if (bucketed) {
            int pool = size * POOL_BATCHES;
            for (int from = 0; from < units; from += pool) {
                int to = Math.min(units, from + pool);
                Integer[] chunk = new Integer[to - from];
                for (int i = from; i < to; i++) chunk[i - from] = order[i];
                java.util.Arrays.sort(chunk, java.util.Comparator.comparingInt(task::unitLength));
                for (int i = from; i < to; i++) order[i] = chunk[i - from];
            }
        }
        int count = (units + size - 1) / size;
        int[][] out = new int[count][];
        int[] which = shuffled(count, rng);
        for (int b = 0; b < count; b++) {
            int from = which[b] * size;
            out[b] = java.util.Arrays.copyOfRange(order, from, Math.min(units, from + size));
        }
        return out;
    }

    static int[] shuffled(int n, SplittableRandom rng) {
        int[] order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        for (int i = n - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        return order;
    }

    /** A well-mixed 64-bit combination (SplitMix64 finaliser) of a seed and a counter. */
    static long mix(long seed, long counter) {
        long z = seed + 0x9E3779B97F4A7C15L * (counter + 1);
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    private static void appendLine(Path file, String line) throws IOException {
        Files.writeString(file, line + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }
}
