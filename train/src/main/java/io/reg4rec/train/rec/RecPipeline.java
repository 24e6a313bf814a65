package io.reg4rec.train.rec;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.reg4rec.engine.Device;
import io.reg4rec.model.rec.ItemCatalog;
import io.reg4rec.model.rec.Reg4RecConfig;
import io.reg4rec.model.rec.Reg4RecModel;
import io.reg4rec.model.rec.SasRec;
import io.reg4rec.model.tokenizer.MpqTokenizer;
import io.reg4rec.model.tokenizer.RqVaeTokenizer;
import io.reg4rec.model.tokenizer.TokenFiles;
import io.reg4rec.model.tokenizer.Tokenizer;
import io.reg4rec.model.tokenizer.TokenizerConfig;
import io.reg4rec.model.tokenizer.TokenizerReport;
import io.reg4rec.train.data.Dataset;
import io.reg4rec.train.data.LeaveOneOut;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;

/**
 * The pipeline's steps as methods, shared by the launchers: features -> tokenizer -> model
 * training -> test evaluation, for REG4Rec and the baselines, plus the run folder that lets
 * {@code Evaluate} and {@code Recommend} rebuild a trained REG4Rec model.
 *
 * <p>Run folder: {@code run.json} (dataset name and size, the model config, dense item categories,
 * beam width and d), {@code tokens.txt} (the MPQ token set per item), {@code tokenizer.safetensors},
 * and {@code reg4rec/} with the training loop's {@code metrics.jsonl}, {@code last.safetensors}
 * and {@code best.safetensors}.
 */
public final class RecPipeline {
    public static final String RUN_JSON = "run.json", TOKENS = "tokens.txt", TOKENIZER = "tokenizer.safetensors", REG4REC_DIR = "reg4rec";
    private static final ObjectMapper JSON = new ObjectMapper();

    private RecPipeline() {}

    /** Tokens [numItems + 1][M] of a trained tokenizer, its report and the time taken. */
    public record Tokens(int[][] tokens, TokenizerReport report, double seconds) {}

    /**
     * Trains an MPQ ("mpq") or RQ-VAE ("rqvae") tokenizer on the features and tokenizes every item;
     * with {@code saveTo} the checkpoint is written there.
     */
    public static Tokens tokenize(String kind, float[][] features, TokenizerConfig config, Path saveTo, boolean progress) throws IOException {
        long start = System.nanoTime();
        int width = features[1].length;
        try (Tokenizer tokenizer = kind.equals(MpqTokenizer.KIND) ? new MpqTokenizer(config, width) : new RqVaeTokenizer(config, width);
             Progress bar = progress ? Progress.start(kind + " tokenizer", config.epochs(), true) : Progress.silent()) {
            TokenizerReport report = tokenizer.train(features, p -> {
                bar.message(String.format(Locale.ROOT, "recon %.4f", p.reconLoss()));
                bar.stepTo(p.epoch());
            });
            int[][] tokens = tokenizer.tokenize(features);
            if (saveTo != null) tokenizer.save(saveTo);
            return new Tokens(tokens, report, (System.nanoTime() - start) / 1e9);
        }
    }

    /** What one model achieved: training summary and test metrics. */
    public record ModelResult(String model, TrainingLoop.Result training, RankingEvaluation.Result test) {}

    /** Trains a task with the loop in outDir, then evaluates its best weights on the test inputs. */
    public static ModelResult trainAndTest(RecTask task, LeaveOneOut split, TrainConfig config, Path outDir, Path resume, PrintStream log,
                                           boolean progress) throws IOException {
        TrainingLoop.Result training = new TrainingLoop(task, split, config, outDir, log, progress).run(resume);
        RankingEvaluation.Result test = test(task.ranker(), task.model(), split, task.maxHistory(), config.evalBatch(), progress);
        if (log != null) log.printf(Locale.ROOT, "%s %s (%.0f users/s)%n", task.name(), test.metrics(), test.usersPerSecond());
        return new ModelResult(task.name(), training, test);
    }

    /** Test metrics of a ranker over every evaluable user. */
    public static RankingEvaluation.Result test(Ranker ranker, io.reg4rec.model.nn.Module module, LeaveOneOut split, int maxHistory, int evalBatch,
                                                boolean progress) {
        LeaveOneOut.Examples test = split.testInputs(maxHistory);
        try (Progress bar = progress ? Progress.start("test", test.size(), true) : Progress.silent()) {
            return RankingEvaluation.evaluate("test", ranker, module, test, evalBatch, 0, bar::stepTo);
        }
    }

    /** A fresh REG4Rec model for a catalog of MPQ tokens. */
    public static Reg4RecModel reg4recModel(Device device, RunSettings settings, ItemCatalog catalog, long seed) {
        return new Reg4RecModel(device, settings.reg4recConfig(catalog.numCategories()), catalog, seed);
    }

    /** A fresh fixed-order model (TIGER) for a catalog of RQ-VAE tokens. */
    public static Reg4RecModel tigerModel(Device device, RunSettings settings, ItemCatalog catalog, long seed) {
        return new Reg4RecModel(device, settings.reg4recConfig(catalog.numCategories()).withFixedOrder(true), catalog, seed);
    }

    public static SasRec sasrecModel(Device device, RunSettings settings, int numItems, long seed) {
        return new SasRec(device, settings.sasrecConfig(numItems), seed);
    }

    // ---------------------------------------------------------------- run folder

    /** What a run folder says about the trained REG4Rec model. */
    public record RunInfo(String dataset, int numItems, Reg4RecConfig config, int[] categories, double[] popularity, int beamWidth, int maxMismatches, boolean catalogBeams) {}

    /** Writes run.json and tokens.txt into dir (each atomically). */
    public static void writeRun(Path dir, Dataset dataset, Reg4RecConfig config, int[] denseCategories, double[] popularity, int[][] tokens,
                                Reg4RecTrainer.Options options) throws IOException {
        Files.createDirectories(dir);
        ObjectNode n = JSON.createObjectNode();
        n.put("dataset", dataset.name()).put("numItems", dataset.numItems());
        n.set("config", JSON.valueToTree(config));
        n.put("beamWidth", options.beamWidth()).put("maxMismatches", options.maxMismatches()).put("catalogBeams", options.catalogBeams())
                .put("catalogLoss", options.catalogLossWeight());
        ArrayNode cats = n.putArray("categories");
        for (int c : denseCategories) cats.add(c);
        ArrayNode pop = n.putArray("popularity");
        for (double p : popularity) pop.add((long) p);
        writeAtomically(dir.resolve(RUN_JSON), tmp -> Files.writeString(tmp, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(n) + "\n", StandardCharsets.UTF_8));
        writeAtomically(dir.resolve(TOKENS), tmp -> TokenFiles.write(tmp, tokens));
    }

    /** Reads run.json of a run folder. */
    public static RunInfo readRun(Path dir) throws IOException {
        Path file = dir.resolve(RUN_JSON);
        if (!Files.isRegularFile(file)) throw new IOException(dir + " is not a run folder: " + RUN_JSON + " is missing (write one with pretrain or pipeline)");
        JsonNode n = JSON.readTree(file.toFile());
        int[] cats = new int[n.get("categories").size()];
        for (int i = 0; i < cats.length; i++) cats[i] = n.get("categories").get(i).asInt();
        double[] pop = new double[n.get("popularity").size()];
        for (int i = 0; i < pop.length; i++) pop[i] = n.get("popularity").get(i).asDouble();
        return new RunInfo(n.get("dataset").asText(), n.get("numItems").asInt(), JSON.treeToValue(n.get("config"), Reg4RecConfig.class), cats, pop,
                n.get("beamWidth").asInt(), n.get("maxMismatches").asInt(), n.path("catalogBeams").asBoolean(false));
    }

    /**
     * Rebuilds the trained REG4Rec model of a run folder on a device, with the weights of
     * {@code checkpoint} (default: reg4rec/best.safetensors), in eval mode.
     */
    public static Reg4RecModel loadReg4Rec(Path dir, Path checkpoint, Device device) throws IOException {
        RunInfo info = readRun(dir);
        int[][] tokens = TokenFiles.read(dir.resolve(TOKENS));
        if (tokens.length != info.numItems() + 1) throw new IOException(dir.resolve(TOKENS) + " has " + (tokens.length - 1) + " items, run.json says " + info.numItems());
        ItemCatalog catalog = Catalogs.catalog(tokens, info.categories(), info.config().codewords());
        Reg4RecModel model = new Reg4RecModel(device, info.config(), catalog, 0);
        try {
            TrainingLoop.loadModel(checkpoint != null ? checkpoint : dir.resolve(REG4REC_DIR).resolve(TrainingLoop.BEST), model);
        } catch (IOException | RuntimeException e) {
            model.close();
            throw e;
        }
        model.eval();
        return model;
    }

    @FunctionalInterface
    public interface FileWriter {
        void write(Path file) throws IOException;
    }

    /** Writes through a temporary file in the target's folder, then renames it over the target. */
    public static void writeAtomically(Path target, FileWriter writer) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, "." + target.getFileName() + ".", ".tmp");
        try {
            writer.write(tmp);
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (java.nio.file.AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
