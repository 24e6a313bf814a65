package io.reg4rec.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.reg4rec.engine.Device;
import io.reg4rec.model.rec.Reg4RecModel;
import io.reg4rec.train.data.Dataset;
import io.reg4rec.train.data.Datasets;
import io.reg4rec.train.data.LeaveOneOut;
import io.reg4rec.train.rec.Catalogs;
import io.reg4rec.train.rec.Progress;
import io.reg4rec.train.rec.RankingEvaluation;
import io.reg4rec.train.rec.RecPipeline;
import io.reg4rec.train.rec.Reg4RecEvaluator;
import io.reg4rec.train.rec.SearchDiagnostics;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * Evaluates a trained REG4Rec run folder on the test (or validation) split of its dataset: CRSS
 * beam search + relaxed retrieval, full ranking, R@5 / N@5 / R@10 / N@10 and users per second.
 */
@Command(name = "evaluate", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Test metrics of a REG4Rec run folder (from pretrain or pipeline): CRSS beam search + relaxed retrieval,",
                "full ranking over all items, history items not excluded (the S3Rec/TIGER protocol). Prints the metrics and",
                "users/second; with --out also writes them as JSON."})
public final class Evaluate implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Option(names = "--run", paramLabel = "DIR", required = true, description = "run folder written by pretrain or pipeline")
    Path run;

    @Option(names = "--checkpoint", paramLabel = "FILE", description = "weights to use (default: RUN/reg4rec/best.safetensors)")
    Path checkpoint;

    @Option(names = "--data", paramLabel = "DIR", description = "the run's dataset (S3Rec layout); absent: the embedded synthetic dataset")
    Path data;

    @Option(names = "--split", paramLabel = "test|validation", defaultValue = "test", description = "which targets (default: ${DEFAULT-VALUE})")
    String split;

    @Option(names = "--beam", paramLabel = "B", description = "CRSS beam width (default: the run's, 20)")
    Integer beam;

    @Option(names = "--mismatches", paramLabel = "d", description = "relaxed retrieval mismatches (default: the run's, 1)")
    Integer mismatches;

    @Option(names = "--eval-batch", paramLabel = "U", defaultValue = "256", description = "users per ranking batch (default: ${DEFAULT-VALUE})")
    int evalBatch;

    @Option(names = "--users", paramLabel = "N", defaultValue = "0", description = "evaluate the first N users only, 0 = all (default: ${DEFAULT-VALUE})")
    int users;

    @Option(names = "--device", paramLabel = "DEVICE", description = "auto, cpu, cuda or cuda:N (default: -Dreg4rec.device, else REG4REC_DEVICE, else auto)")
    String device;

    @Option(names = "--seed", defaultValue = "42", description = "unused by deterministic beam search; recorded in the output (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--out", paramLabel = "FILE", description = "also write the metrics as JSON to this file")
    Path out;

    @Option(names = "--no-progress", description = "no progress bar on stderr")
    boolean noProgress;

    @Option(names = "--diagnose", description = {"also diagnose search vs model errors (beam hits, oracle-order target log-probabilities,",
            "per-step survival, metrics at d = 0, 1, 2 from the same beams); prints a JSON object, and with --out writes it",
            "to FILE.diagnostics.json (FILE without a .json extension)"})
    boolean diagnose;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    static int run(String... args) {
        return new CommandLine(new Evaluate()).setExecutionExceptionHandler(Pipeline::failure).execute(args);
    }

    /** FILE.diagnostics.json next to --out FILE (a trailing .json of FILE dropped). */
    static Path diagnosticsFile(Path metricsFile) {
        String name = metricsFile.getFileName().toString();
        if (name.endsWith(".json")) name = name.substring(0, name.length() - ".json".length());
        return metricsFile.resolveSibling(name + ".diagnostics.json");
    }

    @Override
    public Integer call() throws IOException {
        String which = split.toLowerCase(Locale.ROOT);
        if (!which.equals("test") && !which.equals("validation")) throw new LauncherSupport.UsageException("--split must be test or validation, got " + split);
        if (!Files.isDirectory(run)) throw new LauncherSupport.UsageException("--run " + run + ": no such folder");
        if (users < 0) throw new LauncherSupport.UsageException("--users must be >= 0, got " + users);
        if (evalBatch < 1) throw new LauncherSupport.UsageException("--eval-batch must be >= 1, got " + evalBatch);
        RecPipeline.RunInfo info = RecPipeline.readRun(run);
        Device chosen = LauncherSupport.chooseDevice(device);
        Dataset dataset = Datasets.loadOrSynthetic(data);
        if (!dataset.name().equals(info.dataset()) || dataset.numItems() != info.numItems()) {
            throw new LauncherSupport.UsageException("the run was trained on " + info.dataset() + " (" + info.numItems() + " items), --data gives "
                    + dataset.name() + " (" + dataset.numItems() + " items)");
        }
        LeaveOneOut loo = LeaveOneOut.split(dataset);
        try (Reg4RecModel model = RecPipeline.loadReg4Rec(run, checkpoint, chosen)) {
            Reg4RecEvaluator evaluator;
            try {
                evaluator = new Reg4RecEvaluator(model, beam != null ? beam : info.beamWidth(), mismatches != null ? mismatches : info.maxMismatches(), info.catalogBeams(),
                        Catalogs.trainingPopularity(loo));
            } catch (IllegalArgumentException e) {
                throw new LauncherSupport.UsageException(e.getMessage());
            }
            LeaveOneOut.Examples examples = which.equals("test") ? loo.testInputs(model.config().maxHistory()) : loo.validationInputs(model.config().maxHistory());
            int n = users > 0 ? Math.min(users, examples.size()) : examples.size();
            RankingEvaluation.Result r;
            try (Progress bar = noProgress ? Progress.silent() : Progress.start(which, n, true)) {
                r = RankingEvaluation.evaluate(which, evaluator, model, examples, evalBatch, users, bar::stepTo);
            }
            System.out.printf(Locale.ROOT, "%s: %s, beam %d, d %d, on %s: %.0f users/s (%.1f s), mean list length %.2f%n", dataset.name(), r.metrics(),
                    evaluator.beamWidth(), evaluator.maxMismatches(), chosen, r.usersPerSecond(), r.seconds(), r.meanListLength());
            if (out != null) {
                ObjectNode n2 = JSON.createObjectNode().put("dataset", dataset.name()).put("split", which).put("users", r.metrics().users())
                        .put("beam", evaluator.beamWidth()).put("mismatches", evaluator.maxMismatches()).put("device", chosen.toString())
                        .put("seed", seed).put("seconds", r.seconds()).put("usersPerSecond", r.usersPerSecond())
                        .put("meanListLength", r.meanListLength());
                r.metrics().summary().forEach(n2::put);
                RecPipeline.writeAtomically(out, tmp -> Files.writeString(tmp, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(n2) + "\n", StandardCharsets.UTF_8));
            }
            if (diagnose) {
                SearchDiagnostics.Report report;
                try (Progress bar = noProgress ? Progress.silent() : Progress.start("diagnose", n, true)) {
                    report = SearchDiagnostics.run(evaluator, examples, evalBatch, users, bar::stepTo);
                }
                ObjectNode diagnostics = JSON.createObjectNode().put("dataset", dataset.name()).put("split", which).put("mismatches", evaluator.maxMismatches())
                        .put("device", chosen.toString());
                diagnostics.setAll(report.toJson(JSON));
                String text = JSON.writerWithDefaultPrettyPrinter().writeValueAsString(diagnostics) + "\n";
                System.out.print("diagnostics: " + text);
                if (out != null) RecPipeline.writeAtomically(diagnosticsFile(out), tmp -> Files.writeString(tmp, text, StandardCharsets.UTF_8));
            }
            return 0;
        }
    }
}
