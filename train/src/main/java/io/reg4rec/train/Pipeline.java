package io.reg4rec.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Tensor;
import io.reg4rec.model.rec.ItemCatalog;
import io.reg4rec.model.rec.Reg4RecModel;
import io.reg4rec.model.io.SafeTensors;
import io.reg4rec.model.rec.SasRec;
import io.reg4rec.model.tokenizer.MpqTokenizer;
import io.reg4rec.model.tokenizer.RqVaeTokenizer;
import io.reg4rec.model.tokenizer.TokenFiles;
import io.reg4rec.train.data.Dataset;
import io.reg4rec.train.data.Datasets;
import io.reg4rec.train.data.LeaveOneOut;
import io.reg4rec.train.features.FeatureConfig;
import io.reg4rec.train.features.ItemFeatures;
import io.reg4rec.train.rec.Catalogs;
import io.reg4rec.train.rec.PopularityRanker;
import io.reg4rec.train.rec.TransitionRanker;
import io.reg4rec.train.rec.RankingEvaluation;
import io.reg4rec.train.rec.RecPipeline;
import io.reg4rec.train.rec.Reg4RecTrainer;
import io.reg4rec.train.rec.RunSettings;
import io.reg4rec.train.rec.SasRecTrainer;
import io.reg4rec.train.rec.TigerTrainer;
import io.reg4rec.train.rec.TrainConfig;
import io.reg4rec.train.rec.TrainingLoop;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;

/**
 * The main job: data -> item features -> MPQ tokenizer -> REG4Rec pre-training (early stopping
 * on validation NDCG@10) -> test evaluation (CRSS beam search + relaxed retrieval, full ranking),
 * optionally the SASRec and TIGER baselines on the same split, then a table of R@5 / N@5 / R@10 /
 * N@10 per model (with two count floors: training popularity and last-item transitions) on stdout and {@code results.json}.
 * Exit status 0 on success, 1 on a failure while running, 2 on bad usage.
 */
@Command(name = "pipeline", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Features -> MPQ tokenizer -> REG4Rec pre-training -> test metrics (+ baselines); prints a table, writes OUT/results.json.",
                "",
                "Without --data: the embedded synthetic dataset (2,000 users, 1,000 items) with the small preset (M=4, D=64, width 64, FFN 256, "
                        + "5 epochs validated on 500 users, tokenizer 30 epochs): 2-3 minutes on 2 CPU cores.",
                "With --data: the paper's sizes (M=8, D=300, width 128, FFN 640, 1 encoder + 2 decoder layers), 30 epochs, patience 5.",
                "",
                "Outputs in OUT: run.json, tokens.txt, tokenizer.safetensors, reg4rec/ (metrics.jsonl, last.safetensors, best.safetensors), "
                        + "a folder per baseline, results.json. stderr: progress and per-epoch lines; stdout: the final table.",
                ""})
public final class Pipeline implements Callable<Integer> {
    static final String RESULTS = "results.json";
    /** With --sasrec-features: SASRec's trained item embeddings, the extra feature block. */
    static final String SASREC_ITEMS = "sasrec-items.safetensors";
    /** SASRec's epoch budget relative to --epochs: measured on the synthetic default, it needs about 20 epochs where REG4Rec needs 5. */
    static final int SASREC_EPOCH_FACTOR = 8;
    private static final ObjectMapper JSON = new ObjectMapper();

    @Mixin
    TrainingOptions options = new TrainingOptions();

    @Option(names = "--baselines", paramLabel = "LIST", split = ",",
            description = "also train and test these (comma-separated): sasrec (same width, 2 blocks, batches of a quarter as many sequences),"
                    + " tiger (RQ-VAE tokens with the same M and D, the same body in fixed order, trie-constrained beam search)")
    List<String> baselines = new ArrayList<>();

    @Option(names = "--tiger-epochs", paramLabel = "N", description = "most epochs of the TIGER baseline; early stopping applies (default: --epochs)")
    Integer tigerEpochs;

    @Option(names = "--skip-reg4rec", description = "train and test only the --baselines (and the two count floors), e.g. to run them apart from a long REG4Rec run")
    boolean skipReg4rec;

    @Option(names = "--out", paramLabel = "DIR", defaultValue = "runs/pipeline", description = "output folder (default: ${DEFAULT-VALUE})")
    Path out;

    @Option(names = "--resume", paramLabel = "FILE", description = "continue REG4Rec training from a last.safetensors (same data and sizes)")
    Path resume;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    static int run(String... args) {
        return new CommandLine(new Pipeline()).setExecutionExceptionHandler(Pipeline::failure).execute(args);
    }

    /** Usage problems exit with 2 and one line; anything else while running with 1 and the message. */
    static int failure(Exception e, CommandLine cmd, CommandLine.ParseResult parsed) {
        String name = cmd.getCommandName();
        if (e instanceof LauncherSupport.UsageException) {
            cmd.getErr().println(name + ": " + e.getMessage());
            cmd.getErr().println("Try '" + name + " --help' for the options.");
            return 2;
        }
        cmd.getErr().println(name + ": failed: " + e);
        if (System.getenv("REG4REC_TRACE") != null) e.printStackTrace(cmd.getErr());
        return 1;
    }

    @Override
    public Integer call() throws IOException {
        Set<String> wanted = new LinkedHashSet<>();
        for (String b : baselines) {
            String name = b.trim().toLowerCase(Locale.ROOT);
            if (name.isEmpty()) continue;
            if (!name.equals("sasrec") && !name.equals("tiger")) throw new LauncherSupport.UsageException("--baselines: unknown model '" + b + "' (known: sasrec, tiger)");
            wanted.add(name);
        }
        if (resume != null && !Files.isRegularFile(resume)) throw new LauncherSupport.UsageException("--resume " + resume + ": no such file");
        if (tigerEpochs != null && tigerEpochs < 0) throw new LauncherSupport.UsageException("--tiger-epochs must be >= 0, got " + tigerEpochs);
        if (skipReg4rec && wanted.isEmpty()) throw new LauncherSupport.UsageException("--skip-reg4rec needs --baselines (nothing would be trained)");
        if (skipReg4rec && resume != null) throw new LauncherSupport.UsageException("--resume continues REG4Rec training; it cannot go with --skip-reg4rec");
        RunSettings settings = options.settings();
        Device device = LauncherSupport.chooseDevice(options.device);
        PrintStream log = System.err;
        long start = System.nanoTime();

        Reg4RecStage stage = Reg4RecStage.prepare(options, settings, device, out, log, resume);
        List<Row> rows = new ArrayList<>();
        PopularityRanker popularity = new PopularityRanker(stage.popularity);
        rows.add(new Row("Popularity", RecPipeline.test(popularity, null, stage.split, settings.maxHistory(), settings.train().evalBatch(), false), null, 0));
        TransitionRanker transitions = new TransitionRanker(stage.split, stage.popularity);
        rows.add(new Row("Last-item transitions", RecPipeline.test(transitions, null, stage.split, settings.maxHistory(), settings.train().evalBatch(), false), null, 0));
        if (!skipReg4rec) {
            RecPipeline.ModelResult reg4rec = stage.trainAndTest(resume, !options.noProgress);
            rows.add(new Row("REG4Rec", reg4rec.test(), reg4rec.training(), reg4rec.training().seconds()));
        }
        stage.close();

        if (stage.sasrec != null) {
            rows.add(new Row("SASRec", stage.sasrec.test(), stage.sasrec.training(), stage.sasrec.training().seconds()));
        } else if (wanted.contains("sasrec")) {
            RecPipeline.ModelResult r = trainSasrec(options, settings, device, stage.dataset, stage.split, out, null, log);
            rows.add(new Row("SASRec", r.test(), r.training(), r.training().seconds()));
        }
        if (wanted.contains("tiger")) {
            log.println("pipeline: RQ-VAE tokenizer for TIGER ...");
            RecPipeline.Tokens rq = RecPipeline.tokenize(RqVaeTokenizer.KIND, stage.features, settings.tokenizerConfig(device, options.seed, stage.dataset.numItems()),
                    out.resolve("tiger-tokenizer.safetensors"), !options.noProgress);
            log.println("pipeline: " + rq.report());
            ItemCatalog catalog = Catalogs.catalog(rq.tokens(), stage.categories, settings.codewords());
            try (Reg4RecModel model = RecPipeline.tigerModel(device, settings, catalog, options.seed)) {
                TrainConfig tigerTrain = tigerEpochs != null ? settings.train().withEpochs(tigerEpochs) : settings.train();
                RecPipeline.ModelResult r = RecPipeline.trainAndTest(new TigerTrainer(model, stage.split, settings.reg4rec().beamWidth()), stage.split,
                        tigerTrain, out.resolve("tiger"), null, log, !options.noProgress);
                rows.add(new Row("TIGER", r.test(), r.training(), r.training().seconds()));
            }
        }
        double total = (System.nanoTime() - start) / 1e9;
        writeResults(stage, settings, device, rows, total);
        PrintStream stdout = System.out;
        stdout.print(table(stage.dataset.name(), rows));
        stdout.printf(Locale.ROOT, "total %.1f s on %s; results in %s%n", total, device, out.resolve(RESULTS));
        return 0;
    }

    /**
     * The SASRec baseline on the split's training parts: a SASRec unit is a whole training sequence
     * (a prediction at every position), so a quarter of the batch gives a comparable number of
     * predictions per step and four times the steps per epoch. With {@code itemTableTo} its trained
     * item embeddings [numItems + 1, width] are also written there (safetensors, atomically).
     */
    static RecPipeline.ModelResult trainSasrec(TrainingOptions options, RunSettings settings, Device device, Dataset dataset, LeaveOneOut split, Path out,
                                               Path itemTableTo, PrintStream log) throws IOException {
        try (SasRec model = RecPipeline.sasrecModel(device, settings, dataset.numItems(), options.seed)) {
            TrainConfig sasrecTrain = settings.train().withBatchSize(Math.max(16, settings.train().batchSize() / 4));
            sasrecTrain = sasrecTrain.withEpochs(options.sasrecEpochs != null ? options.sasrecEpochs : SASREC_EPOCH_FACTOR * settings.train().epochs());
            RecPipeline.ModelResult r = RecPipeline.trainAndTest(new SasRecTrainer(model, split), split, sasrecTrain, out.resolve("sasrec"), null, log,
                    !options.noProgress);
            if (itemTableTo != null) {
                try (Tensor table = model.itemTable().to(Device.CPU)) {
                    RecPipeline.writeAtomically(itemTableTo, tmp -> SafeTensors.save(tmp, Map.of("sasrec_items", table)));
                }
            }
            return r;
        }
    }

    /** One model's line of the final table. */
    record Row(String model, RankingEvaluation.Result test, TrainingLoop.Result training, double trainSeconds) {}

    static String table(String dataset, List<Row> rows) {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "%nTest metrics on %s (%d users, full ranking, leave-one-out)%n", dataset, rows.get(0).test().metrics().users()));
        int width = Math.max(5, rows.stream().mapToInt(r -> r.model().length()).max().orElse(0));
        b.append(String.format(Locale.ROOT, "%-" + width + "s %7s %7s %7s %7s %8s %10s %9s%n", "model", "R@5", "N@5", "R@10", "N@10", "epochs", "train s", "users/s"));
        for (Row r : rows) {
            var m = r.test().metrics();
            b.append(String.format(Locale.ROOT, "%-" + width + "s %7.4f %7.4f %7.4f %7.4f %8s %10.1f %9.0f%n", r.model(), m.recall(5), m.ndcg(5), m.recall(10), m.ndcg(10),
                    r.training() == null ? "-" : r.training().epochsDone() + (r.training().bestEpoch() > 0 ? " (" + r.training().bestEpoch() + ")" : ""),
                    r.trainSeconds(), r.test().usersPerSecond()));
        }
        b.append("epochs: run (best by validation NDCG@10); train s: training and validation, tokenizers excluded\n");
        return b.toString();
    }

    private void writeResults(Reg4RecStage stage, RunSettings settings, Device device, List<Row> rows, double total) throws IOException {
        ObjectNode n = JSON.createObjectNode();
        n.put("dataset", stage.dataset.name()).put("users", stage.dataset.numUsers()).put("items", stage.dataset.numItems())
                .put("device", device.toString()).put("seed", options.seed).put("totalSeconds", total);
        n.set("settings", JSON.valueToTree(settings));
        n.set("mpq", Reg4RecStage.tokenizerJson(stage.tokens));
        ArrayNode models = n.putArray("models");
        for (Row r : rows) {
            ObjectNode m = models.addObject().put("model", r.model());
            r.test().metrics().summary().forEach(m::put);
            m.put("testUsers", r.test().metrics().users()).put("testUsersPerSecond", r.test().usersPerSecond())
                    .put("meanListLength", r.test().meanListLength()).put("trainSeconds", r.trainSeconds());
            if (r.training() != null) {
                m.put("epochs", r.training().epochsDone()).put("bestEpoch", r.training().bestEpoch()).put("bestValidationNdcg10", r.training().bestValidationNdcg10())
                        .put("stoppedEarly", r.training().stoppedEarly()).put("steps", r.training().steps());
            }
        }
        RecPipeline.writeAtomically(out.resolve(RESULTS), tmp -> Files.writeString(tmp, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(n) + "\n",
                StandardCharsets.UTF_8));
    }

    /**
     * Data, features, MPQ tokens and the REG4Rec model of a run, written to the run folder; shared
     * by pipeline and pretrain.
     */
    static final class Reg4RecStage implements AutoCloseable {
        final Dataset dataset;
        final LeaveOneOut split;
        final float[][] features;
        final RecPipeline.Tokens tokens;
        final int[] categories;
        final double[] popularity;
        final Reg4RecModel model;
        final RunSettings settings;
        final Path out;
        final PrintStream log;
        /** The SASRec run whose item embeddings went into the features (--sasrec-features), else null. */
        final RecPipeline.ModelResult sasrec;

        private Reg4RecStage(Dataset dataset, LeaveOneOut split, float[][] features, RecPipeline.Tokens tokens, int[] categories, double[] popularity,
                             Reg4RecModel model, RunSettings settings, Path out, PrintStream log, RecPipeline.ModelResult sasrec) {
            this.dataset = dataset;
            this.split = split;
            this.features = features;
            this.tokens = tokens;
            this.categories = categories;
            this.popularity = popularity;
            this.model = model;
            this.settings = settings;
            this.out = out;
            this.log = log;
            this.sasrec = sasrec;
        }

        /**
         * Loads the data, builds features and MPQ tokens (or, when {@code resume} is a
         * RUN/reg4rec/last.safetensors whose run folder holds tokens.txt, reuses those tokens: the
         * checkpoint's weights belong to them, and a tokenizer retrained on a GPU need not give the
         * same ones), builds the model and writes the run folder.
         */
        static Reg4RecStage prepare(TrainingOptions options, RunSettings settings, Device device, Path out, PrintStream log, Path resume) throws IOException {
            long t0 = System.nanoTime();
            Dataset dataset;
            try {
                dataset = Datasets.loadOrSynthetic(options.data);
            } catch (RuntimeException e) {
                if (options.data != null && !Files.isDirectory(options.data)) throw new LauncherSupport.UsageException("--data " + options.data + ": no such folder");
                throw e;
            }
            LeaveOneOut split = LeaveOneOut.split(dataset);
            log.printf(Locale.ROOT, "pipeline: %s (%d evaluable users), device %s, M=%d D=%d width %d FFN %d%s, %d epochs of %d%n", dataset, split.numEvaluable(),
                    device, settings.codebooks(), settings.codewords(), settings.dModel(), settings.dFeedForward(), settings.historyItemIds() ? ", history item ids" : "",
                    settings.train().epochs(), settings.train().batchSize());
            Files.createDirectories(out);
            RecPipeline.ModelResult sasrec = null;
            Path itemTable = null;
            if (options.sasrecFeatures != null) {
                itemTable = out.resolve(SASREC_ITEMS);
                log.println("pipeline: SASRec on the training parts first; its item embeddings go into the features (" + options.sasrecFeatures + ")");
                sasrec = trainSasrec(options, settings, device, dataset, split, out, itemTable, log);
            }
            FeatureConfig featureConfig = options.featureConfig();
            if (itemTable != null) featureConfig = featureConfig.withEmbeddingFile(itemTable, options.sasrecFeatures, 1f);
            float[][] features = ItemFeatures.build(dataset, split, featureConfig);
            log.printf(Locale.ROOT, "pipeline: %d item features in %.1f s; MPQ tokenizer, %d epochs ...%n", features[1].length, (System.nanoTime() - t0) / 1e9,
                    settings.tokenizerEpochs());
            Files.createDirectories(out);
            Path resumeRun = resume == null ? null : resume.toAbsolutePath().getParent().getParent();
            RecPipeline.Tokens tokens;
            if (resumeRun != null && Files.isRegularFile(resumeRun.resolve(RecPipeline.TOKENS))) {
                int[][] t = TokenFiles.read(resumeRun.resolve(RecPipeline.TOKENS));
                if (t.length != dataset.numItems() + 1 || t[1].length != settings.codebooks()) {
                    throw new LauncherSupport.UsageException("--resume: " + resumeRun.resolve(RecPipeline.TOKENS) + " holds " + (t.length - 1) + " items x "
                            + t[1].length + " tokens, this run needs " + dataset.numItems() + " x " + settings.codebooks());
                }
                tokens = new RecPipeline.Tokens(t, null, 0);
                if (!resumeRun.equals(out.toAbsolutePath().normalize()) && Files.isRegularFile(resumeRun.resolve(RecPipeline.TOKENIZER))) {
                    Files.copy(resumeRun.resolve(RecPipeline.TOKENIZER), out.resolve(RecPipeline.TOKENIZER), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                }
                log.println("pipeline: MPQ tokens of the resumed run from " + resumeRun.resolve(RecPipeline.TOKENS));
            } else {
                tokens = RecPipeline.tokenize(MpqTokenizer.KIND, features, settings.tokenizerConfig(device, options.seed, dataset.numItems()),
                        out.resolve(RecPipeline.TOKENIZER), !options.noProgress);
                log.println("pipeline: " + tokens.report());
            }
            int[] categories = Catalogs.denseCategories(dataset);
            ItemCatalog catalog = Catalogs.catalog(tokens.tokens(), categories, settings.codewords());
            Reg4RecModel model = RecPipeline.reg4recModel(device, settings, catalog, options.seed);
            double[] popularity = Catalogs.trainingPopularity(split);
            RecPipeline.writeRun(out, dataset, model.config(), categories, popularity, tokens.tokens(), settings.reg4rec());
            return new Reg4RecStage(dataset, split, features, tokens, categories, popularity, model, settings, out, log, sasrec);
        }

        RecPipeline.ModelResult trainAndTest(Path resume, boolean progress) throws IOException {
            return RecPipeline.trainAndTest(trainer(), split, settings.train(), out.resolve(RecPipeline.REG4REC_DIR), resume, log, progress);
        }

        Reg4RecTrainer trainer() {
            return new Reg4RecTrainer(model, split, settings.reg4rec(), popularity);
        }

        static ObjectNode tokenizerJson(RecPipeline.Tokens t) {
            ObjectNode n = JSON.createObjectNode();
            if (t.report() == null) return n.put("note", "tokens reused from the resumed run");
            n.put("reconLoss", t.report().reconLoss()).put("relativeReconLoss", t.report().relativeReconLoss())
                    .put("collisionRate", t.report().tokens().collisionRate()).put("distinctTokenSets", t.report().tokens().distinctTokenSets())
                    .put("minUtilisation", t.report().tokens().minUtilisation()).put("seconds", t.seconds());
            return n;
        }

        @Override
        public void close() {
            model.close();
        }
    }
}
