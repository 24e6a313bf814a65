package io.reg4rec.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.reg4rec.engine.Device;
import io.reg4rec.model.tokenizer.DistinctTokens;
import io.reg4rec.model.tokenizer.MpqTokenizer;
import io.reg4rec.model.tokenizer.ProgressListener;
import io.reg4rec.model.tokenizer.RqVaeTokenizer;
import io.reg4rec.model.tokenizer.TokenFiles;
import io.reg4rec.model.tokenizer.TokenStats;
import io.reg4rec.model.tokenizer.Tokenizer;
import io.reg4rec.model.tokenizer.TokenizerConfig;
import io.reg4rec.model.tokenizer.TokenizerReport;
import io.reg4rec.train.data.Dataset;
import io.reg4rec.train.data.Datasets;
import io.reg4rec.train.data.LeaveOneOut;
import io.reg4rec.train.features.FeatureConfig;
import io.reg4rec.train.features.ItemFeatures;
import io.reg4rec.train.rec.RecPipeline;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * Trains an item tokenizer (MPQ or RQ-VAE) from a dataset and writes the item -> token-set file,
 * the tokenizer checkpoint and a report. Features are built by {@link ItemFeatures} (text,
 * attributes, and co-occurrence from the leave-one-out training parts only).
 *
 * <p>stdout carries JSON lines only (one per epoch, then one with the final figures), so it can
 * be piped into a log; stderr carries what a person watches: the progress bar with its ETA (when
 * stderr is a terminal; else one plain line per epoch with the ETA, which suits a log file) and the
 * final table.
 * Outputs in --out: {@code tokens.txt} ({@code item_id t1 .. tM}), {@code tokenizer.safetensors},
 * {@code report.json}; each is written to a temporary file in the same folder and renamed into
 * place, so a crash never leaves a half-written output behind.
 * Exit status 0 on success, 1 on a failure while running, 2 on bad usage.
 */
@Command(name = "train-tokenizer", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Trains an MPQ or RQ-VAE item tokenizer and writes tokens.txt, tokenizer.safetensors and report.json.",
                "stdout: JSON lines (per epoch, then final); stderr: progress with ETA and the final table."})
public final class TrainTokenizer implements Callable<Integer> {
    static final String TOKENS_FILE = "tokens.txt";
    static final String CHECKPOINT_FILE = "tokenizer.safetensors";
    static final String REPORT_FILE = "report.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    @Option(names = "--data", paramLabel = "DIR",
            description = "dataset folder in the S3Rec layout (sequences.txt, item_attributes.json, items.tsv); absent: the embedded synthetic dataset")
    Path data;

    @Option(names = "--method", paramLabel = "mpq|rqvae", defaultValue = "mpq", description = "tokenizer (default: ${DEFAULT-VALUE})")
    String method;

    @Option(names = {"-M", "--codebooks"}, paramLabel = "M", defaultValue = "8", description = "codebooks, i.e. tokens per item (default: ${DEFAULT-VALUE})")
    int codebooks;

    @Option(names = {"-D", "--codebook-size"}, paramLabel = "D", defaultValue = "300", description = "codewords per codebook (default: ${DEFAULT-VALUE})")
    int codebookSize;

    @Option(names = "--epochs", paramLabel = "N", description = "passes over the items (default: the tokenizer default, "
            + "TokenizerConfig.defaults())")
    Integer epochs;

    @Option(names = "--batch-size", paramLabel = "B", description = "items per optimizer step (default: the tokenizer default)")
    Integer batchSize;

    @Option(names = "--lr", paramLabel = "LR", description = "peak learning rate (default: the tokenizer default)")
    Double learningRate;

    @Option(names = "--diversity", paramLabel = "GAMMA",
            description = "MPQ: weight of the expert-redundancy term (mean RV coefficient between experts' codes; not in the paper, 0 = "
                    + "the paper's loss) (default: TokenizerConfig.DEFAULT_DIVERSITY)")
    Double diversity;

    @Option(names = "--resolve-collisions", paramLabel = "K", arity = "0..1", fallbackValue = "8",
            description = "after training, move all but one item of each shared token set to a free runner-up codeword "
                    + "(among the K next-nearest per codebook, K = 8 when not given; RQ-VAE: last level only); reported with its counts")
    Integer resolveCollisions;

    @Option(names = "--device", paramLabel = "DEVICE",
            description = "auto, cpu, cuda or cuda:N (default: -Dreg4rec.device, else REG4REC_DEVICE, else auto: cuda:0 when usable, else cpu)")
    String device;

    @Option(names = "--seed", defaultValue = "42", description = "seed of the tokenizer's weights, shuffling and k-means (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--embedding-file", paramLabel = "FILE",
            description = "item embeddings (CSV item_id,v1,... or .safetensors [numItems + 1, E]) appended to the built features")
    Path embeddingFile;

    @Option(names = "--embedding-only", description = "use the --embedding-file vectors alone as features")
    boolean embeddingOnly;

    @Option(names = "--transition-features", paramLabel = "N", defaultValue = "0",
            description = "append an N-column block (even) of training transitions: what follows and what precedes each item (PMI, randomized SVD); "
                    + "0 = off (default: ${DEFAULT-VALUE})")
    int transitionFeatures;

    @Option(names = "--out", paramLabel = "DIR", defaultValue = "tokenizer-out", description = "output folder (default: ${DEFAULT-VALUE})")
    Path out;

    @Option(names = "--no-progress", description = "no progress display on stderr (JSON lines on stdout still come)")
    boolean noProgress;

    private final PrintStream stdout;
    private final PrintStream stderr;

    public TrainTokenizer() {
        this(System.out, System.err);
    }

    TrainTokenizer(PrintStream stdout, PrintStream stderr) {
        this.stdout = stdout;
        this.stderr = stderr;
    }

    public static void main(String[] args) {
        System.exit(new CommandLine(new TrainTokenizer()).execute(args));
    }

    @Override
    public Integer call() throws IOException {
        String kind = method.toLowerCase(Locale.ROOT);
        if (!kind.equals(MpqTokenizer.KIND) && !kind.equals(RqVaeTokenizer.KIND)) return usage("--method must be mpq or rqvae, got " + method);
        if (embeddingOnly && embeddingFile == null) return usage("--embedding-only needs --embedding-file");
        TokenizerConfig config;
        FeatureConfig featureConfig;
        Device chosen;
        try {
            chosen = LauncherSupport.chooseDevice(device);
            TokenizerConfig d = TokenizerConfig.defaults();
            config = d.withCodebooks(codebooks, codebookSize).withSeed(seed).withDevice(chosen)
                    .withTraining(learningRate != null ? learningRate : d.learningRate(), epochs != null ? epochs : d.epochs(),
                            batchSize != null ? batchSize : d.batchSize())
                    .withDiversity(diversity != null ? diversity : d.diversity());
            if (resolveCollisions != null && resolveCollisions < 1) return usage("--resolve-collisions needs K >= 1, got " + resolveCollisions);
            featureConfig = FeatureConfig.defaults().withTransitions(transitionFeatures, 1f);
            if (embeddingFile != null) {
                featureConfig = featureConfig.withEmbeddingFile(embeddingFile,
                        embeddingOnly ? FeatureConfig.EmbeddingMode.REPLACE : FeatureConfig.EmbeddingMode.APPEND, 1f);
            }
        } catch (IllegalArgumentException | IllegalStateException | LauncherSupport.UsageException e) {
            return usage(e.getMessage());
        }

        long started = System.nanoTime();
        Dataset dataset = Datasets.loadOrSynthetic(data);
        LeaveOneOut split = LeaveOneOut.split(dataset);
        float[][] features = ItemFeatures.build(dataset, split, featureConfig);
        double featureSeconds = seconds(started);
        int numItems = dataset.numItems(), width = features[0].length;
        if (numItems < config.codebookSize()) {
            stderr.printf(Locale.ROOT, "train-tokenizer: note: %d items for %d codewords per codebook; utilisation cannot reach 100%%%n",
                    numItems, config.codebookSize());
        }
        stderr.printf(Locale.ROOT, "train-tokenizer: %s, %d items x %d features (%.1f s), %s M=%d D=%d d_c=%d, %d epochs of %d, on %s%n",
                dataset.name(), numItems, width, featureSeconds, kind, config.numCodebooks(), config.codebookSize(), config.codeDim(),
                config.epochs(), config.batchSize(), chosen);

        try (Tokenizer tokenizer = kind.equals(MpqTokenizer.KIND) ? new MpqTokenizer(config, width) : new RqVaeTokenizer(config, width);
             EpochProgress progress = new EpochProgress(kind, config.epochs())) {
            TokenizerReport report = tokenizer.train(features, progress);
            progress.close();
            DistinctTokens resolution = resolveCollisions == null ? null : tokenizer.tokenizeDistinct(features, resolveCollisions);
            int[][] tokens = resolution == null ? tokenizer.tokenize(features) : resolution.tokens();
            TokenStats written = TokenStats.of(tokens, config.codebookSize());
            double redundancy = tokenizer instanceof MpqTokenizer mpq ? mpq.expertRedundancy(features) : Double.NaN;

            Files.createDirectories(out);
            RecPipeline.writeAtomically(out.resolve(TOKENS_FILE), tmp -> TokenFiles.write(tmp, tokens));
            RecPipeline.writeAtomically(out.resolve(CHECKPOINT_FILE), tokenizer::save);
            ObjectNode json = reportJson(dataset, width, featureSeconds, chosen, config, report, redundancy, resolution, written, seconds(started));
            RecPipeline.writeAtomically(out.resolve(REPORT_FILE), tmp -> Files.writeString(tmp, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(json)
                    + "\n", StandardCharsets.UTF_8));
            ObjectNode finalLine = json.deepCopy();
            finalLine.remove("epochLosses");
            stdout.println(JSON.createObjectNode().put("event", "final").setAll(finalLine));
            stdout.flush();
            stderr.print(table(report, redundancy, resolution, written, featureSeconds, seconds(started)));
            stderr.println("train-tokenizer: wrote " + out.resolve(TOKENS_FILE) + ", " + out.resolve(CHECKPOINT_FILE) + ", " + out.resolve(REPORT_FILE));
            return 0;
        }
    }

    private int usage(String message) {
        stderr.println("train-tokenizer: " + message);
        return 2;
    }

    // ---------------------------------------------------------------- progress

    /**
     * One JSON line per epoch on stdout; on stderr a progress bar with ETA when stderr is a terminal,
     * else one plain line per epoch with the ETA (a bar redrawn with
     * carriage returns would only clutter a log file).
     */
    private final class EpochProgress implements ProgressListener, AutoCloseable {
        private final String kind;
        private final int epochs;
        private ProgressBar bar;

        EpochProgress(String kind, int epochs) {
            this.kind = kind;
            this.epochs = epochs;
            boolean terminal = stderr == System.err && stderrIsTerminal();
            this.bar = noProgress || !terminal || epochs == 0 ? null : new ProgressBarBuilder().setTaskName(kind).setInitialMax(epochs)
                    .setUnit(" epochs", 1).setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(250).setMaxRenderedLength(120)
                    .build();
        }

        @Override
        public void onEpoch(ProgressListener.EpochProgress p) {
            ObjectNode line = JSON.createObjectNode().put("event", "epoch").put("method", kind).put("epoch", p.epoch()).put("epochs", p.epochs())
                    .put("steps", p.steps());
            putNumber(line, "loss", p.loss());
            putNumber(line, "recon", p.reconLoss());
            putNumber(line, "orth", p.orthLoss());
            putNumber(line, "vq", p.vqLoss());
            line.put("reseeded", p.reseeded());
            putNumber(line, "elapsedSeconds", p.elapsedSeconds());
            stdout.println(line);
            stdout.flush();
            if (bar != null) {
                bar.setExtraMessage(String.format(Locale.ROOT, "recon %.4f", p.reconLoss()));
                bar.stepTo(p.epoch());
            } else if (!noProgress) {
                double eta = p.elapsedSeconds() / p.epoch() * (epochs - p.epoch());
                stderr.printf(Locale.ROOT, "%s epoch %d/%d  loss %.4f  recon %.4f  reseeded %d  elapsed %s  ETA %s%n", kind, p.epoch(), epochs,
                        p.loss(), p.reconLoss(), p.reseeded(), clock(p.elapsedSeconds()), clock(eta));
            }
        }

        @Override
        public void close() {
            if (bar != null) bar.close();
            bar = null;
        }
    }

    /**
     * Whether stderr is a terminal. Java 17 can only say whether stdin and stdout both are
     * ({@link System#console()}), which is false as soon as the JSON lines on stdout go to a file;
     * on Linux the link behind file descriptor 2 says it directly.
     */
    static boolean stderrIsTerminal() {
        try {
            String target = Files.readSymbolicLink(Path.of("/proc/self/fd/2")).toString();
            return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty");
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            return System.console() != null;
        }
    }

    private static String clock(double seconds) {
        long s = Math.round(seconds);
        return String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60);
    }

    // ---------------------------------------------------------------- report

    private static ObjectNode reportJson(Dataset dataset, int width, double featureSeconds, Device chosen, TokenizerConfig config,
                                         TokenizerReport r, double redundancy, DistinctTokens resolution, TokenStats written,
                                         double totalSeconds) throws IOException {
        ObjectNode n = JSON.createObjectNode();
        n.put("method", r.kind()).put("dataset", dataset.name()).put("items", r.numItems()).put("features", width).put("device", chosen.toString());
        n.set("config", JSON.readTree(config.toJson()));
        putNumber(n, "reconLoss", r.reconLoss());
        putNumber(n, "baselineReconLoss", r.baselineReconLoss());
        putNumber(n, "relativeReconLoss", r.relativeReconLoss());
        putNumber(n, "orthLoss", r.orthLoss());
        putNumber(n, "expertRedundancy", redundancy);
        TokenStats t = r.tokens();
        ArrayNode util = n.putArray("utilisation");
        for (double u : t.utilisation()) util.add(u);
        ArrayNode perp = n.putArray("perplexity");
        for (double p : t.perplexity()) perp.add(p);
        n.put("minUtilisation", t.minUtilisation());
        n.put("collisionRate", t.collisionRate()).put("distinctTokenSets", t.distinctTokenSets()).put("largestGroup", t.largestGroup());
        if (resolution != null) {
            ObjectNode c = n.putObject("collisionResolution");
            c.put("note", "post-processing, not MPQ/RQ-VAE output: tokens.txt holds the resolved tokens; the figures above are the tokenizer's own");
            c.put("collidingBefore", resolution.collidingBefore()).put("movedItems", resolution.movedItems()).put("unresolved", resolution.unresolved());
            ArrayNode per = c.putArray("movedPerCodebook");
            for (int x : resolution.movedPerCodebook()) per.add(x);
            putNumber(c, "meanExtraDistance", resolution.meanExtraDistance());
            putNumber(c, "meanQuantisationDistance", resolution.meanQuantisationDistance());
            c.put("collisionRateAfter", written.collisionRate()).put("minUtilisationAfter", written.minUtilisation());
        }
        ArrayNode reseeded = n.putArray("reseeded");
        for (int x : r.reseeded()) reseeded.add(x);
        n.put("steps", r.steps());
        putNumber(n, "featureSeconds", featureSeconds);
        putNumber(n, "trainSeconds", r.trainSeconds());
        putNumber(n, "totalSeconds", totalSeconds);
        ArrayNode losses = n.putArray("epochLosses");
        for (double l : r.epochLosses()) losses.add(l);
        return n;
    }

    /** JSON has no NaN: a missing figure (RQ-VAE's orthogonality loss) is written as null. */
    private static void putNumber(ObjectNode n, String key, double value) {
        if (Double.isFinite(value)) n.put(key, value);
        else n.putNull(key);
    }

    static String table(TokenizerReport r, double redundancy, DistinctTokens resolution, TokenStats written, double featureSeconds,
                        double totalSeconds) {
        StringBuilder b = new StringBuilder();
        TokenStats t = r.tokens();
        b.append(String.format(Locale.ROOT, "%n%s tokenizer, %d items%n", r.kind(), r.numItems()));
        b.append(String.format(Locale.ROOT, "  reconstruction loss   %.5f  (mean-vector baseline %.5f, ratio %.3f)%n",
                r.reconLoss(), r.baselineReconLoss(), r.relativeReconLoss()));
        b.append(Double.isNaN(r.orthLoss()) ? "  orthogonality loss    n/a (RQ-VAE has none)\n"
                : String.format(Locale.ROOT, "  orthogonality loss    %.4f%n", r.orthLoss()));
        if (!Double.isNaN(redundancy)) b.append(String.format(Locale.ROOT, "  expert redundancy     %.4f  (mean RV coefficient between experts' codes)%n", redundancy));
        b.append(String.format(Locale.ROOT, "  collision rate        %.4f  (%d distinct token sets, largest group %d)%n",
                t.collisionRate(), t.distinctTokenSets(), t.largestGroup()));
        if (resolution != null) {
            b.append(String.format(Locale.ROOT, "  collision resolution  (post-processing) %d colliding items, %d moved to a runner-up codeword %s, %d unresolved;%n"
                            + "                        mean extra squared distance %.4f (mean quantisation distance %.4f); written tokens: collision rate %.4f%n",
                    resolution.collidingBefore(), resolution.movedItems(), Arrays.toString(resolution.movedPerCodebook()),
                    resolution.unresolved(), resolution.meanExtraDistance(), resolution.meanQuantisationDistance(), written.collisionRate()));
        }
        b.append(String.format(Locale.ROOT, "  time                  features %.1f s, training %.1f s (%d steps), total %.1f s%n",
                featureSeconds, r.trainSeconds(), r.steps(), totalSeconds));
        b.append("  codebook  utilisation  perplexity  reseeded\n");
        for (int k = 0; k < t.utilisation().length; k++) {
            b.append(String.format(Locale.ROOT, "  %8d  %10.1f%%  %10.1f  %8d%n", k + 1, 100 * t.utilisation()[k], t.perplexity()[k], r.reseeded()[k]));
        }
        return b.toString();
    }

    private static double seconds(long startNanos) {
        return (System.nanoTime() - startNanos) / 1e9;
    }
}
