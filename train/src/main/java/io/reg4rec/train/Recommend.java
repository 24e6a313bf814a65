package io.reg4rec.train;

import io.reg4rec.engine.Device;
import io.reg4rec.model.rec.Reg4RecModel;
import io.reg4rec.train.rec.RecPipeline;
import io.reg4rec.train.rec.Reg4RecEvaluator;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * Prints the top-K items a trained REG4Rec run recommends for given histories: one line per
 * history, {@code history<TAB>item item ...} (best first). Needs only the run folder (no dataset).
 */
@Command(name = "recommend", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Top-K recommendations of a REG4Rec run folder for histories (item ids, oldest first).",
                "Output: one line per history, 'history<TAB>items best first'. Ranking: CRSS beam search + relaxed retrieval",
                "(ties broken by the training popularity stored in the run folder)."})
public final class Recommend implements Callable<Integer> {
    @Option(names = "--run", paramLabel = "DIR", required = true, description = "run folder written by pretrain or pipeline")
    Path run;

    @Option(names = "--checkpoint", paramLabel = "FILE", description = "weights to use (default: RUN/reg4rec/best.safetensors)")
    Path checkpoint;

    @Option(names = "--history", paramLabel = "IDS", description = "a history as comma-separated item ids, e.g. 12,45,7 (repeatable)")
    List<String> histories = new ArrayList<>();

    @Option(names = "--history-file", paramLabel = "FILE", description = "histories, one per line (ids separated by commas or spaces; # comments)")
    Path historyFile;

    @Option(names = {"-k", "--top-k"}, paramLabel = "K", defaultValue = "10", description = "items per history (default: ${DEFAULT-VALUE})")
    int topK;

    @Option(names = "--exclude-history", description = "leave the history's own items out of its recommendations")
    boolean excludeHistory;

    @Option(names = "--beam", paramLabel = "B", description = "CRSS beam width (default: the run's, 20)")
    Integer beam;

    @Option(names = "--mismatches", paramLabel = "d", description = "relaxed retrieval mismatches (default: the run's, 1)")
    Integer mismatches;

    @Option(names = "--device", paramLabel = "DEVICE", description = "auto, cpu, cuda or cuda:N (default: -Dreg4rec.device, else REG4REC_DEVICE, else auto)")
    String device;

    @Option(names = "--seed", defaultValue = "42", description = "unused by deterministic beam search (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--out", paramLabel = "FILE", description = "write the lines to this file instead of stdout")
    Path out;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    static int run(String... args) {
        return new CommandLine(new Recommend()).setExecutionExceptionHandler(Pipeline::failure).execute(args);
    }

    @Override
    public Integer call() throws IOException {
        if (topK < 1) throw new LauncherSupport.UsageException("--top-k must be >= 1, got " + topK);
        List<String> lines = new ArrayList<>(histories);
        if (historyFile != null) {
            if (!Files.isRegularFile(historyFile)) throw new LauncherSupport.UsageException("--history-file " + historyFile + ": no such file");
            for (String line : Files.readAllLines(historyFile, StandardCharsets.UTF_8)) {
                String t = line.strip();
                if (!t.isEmpty() && !t.startsWith("#")) lines.add(t);
            }
        }
        if (lines.isEmpty()) throw new LauncherSupport.UsageException("no histories: give --history 12,45,7 or --history-file FILE");
        for (String line : lines) parse(line, Integer.MAX_VALUE);   // syntax first, the item range once the run is read
        if (!Files.isDirectory(run)) throw new LauncherSupport.UsageException("--run " + run + ": no such folder");
        RecPipeline.RunInfo info = RecPipeline.readRun(run);
        int[][] parsed = new int[lines.size()][];
        for (int i = 0; i < parsed.length; i++) parsed[i] = parse(lines.get(i), info.numItems());
        Device chosen = LauncherSupport.chooseDevice(device);
        try (Reg4RecModel model = RecPipeline.loadReg4Rec(run, checkpoint, chosen)) {
            Reg4RecEvaluator evaluator;
            try {
                evaluator = new Reg4RecEvaluator(model, beam != null ? beam : info.beamWidth(), mismatches != null ? mismatches : info.maxMismatches(), info.catalogBeams(), info.popularity());
            } catch (IllegalArgumentException e) {
                throw new LauncherSupport.UsageException(e.getMessage());
            }
            int[][] ranked;
            try (io.reg4rec.autograd.NoGrad ignored = io.reg4rec.autograd.NoGrad.enter(); io.reg4rec.engine.Scope scope = io.reg4rec.engine.Scope.open()) {
                int longest = Arrays.stream(parsed).mapToInt(h -> h.length).max().orElse(0);
                ranked = evaluator.rank(parsed, excludeHistory ? topK + longest : topK);
            }
            StringBuilder b = new StringBuilder();
            for (int i = 0; i < parsed.length; i++) {
                int[] h = parsed[i];
                int[] items = excludeHistory ? Arrays.stream(ranked[i]).filter(x -> Arrays.stream(h).noneMatch(y -> y == x)).limit(topK).toArray()
                        : Arrays.copyOf(ranked[i], Math.min(topK, ranked[i].length));
                b.append(join(h, ",")).append('\t').append(join(items, " ")).append('\n');
            }
            if (out != null) {
                RecPipeline.writeAtomically(out, tmp -> Files.writeString(tmp, b.toString(), StandardCharsets.UTF_8));
            } else {
                PrintStream stdout = System.out;
                stdout.print(b);
                stdout.flush();
            }
            return 0;
        }
    }

    /** Item ids separated by commas and/or white space, each in 1..numItems. */
    static int[] parse(String text, int numItems) {
        String[] fields = text.strip().split("[,\\s]+");
        int[] ids = new int[fields.length];
        for (int i = 0; i < fields.length; i++) {
            try {
                ids[i] = Integer.parseInt(fields[i]);
            } catch (NumberFormatException e) {
                throw new LauncherSupport.UsageException("history '" + text + "': '" + fields[i] + "' is not an item id");
            }
            if (ids[i] < 1 || ids[i] > numItems) throw new LauncherSupport.UsageException("history '" + text + "': item " + ids[i] + " outside 1.." + numItems);
        }
        return ids;
    }

    private static String join(int[] ids, String sep) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < ids.length; i++) b.append(i == 0 ? "" : sep).append(ids[i]);
        return b.toString();
    }
}
