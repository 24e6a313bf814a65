package io.reg4rec.train;

import io.reg4rec.engine.Device;
import io.reg4rec.train.rec.RecPipeline;
import io.reg4rec.train.rec.RunSettings;
import io.reg4rec.train.rec.TrainingLoop;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * REG4Rec pre-training alone: data -> features -> MPQ tokenizer -> training with validation and
 * early stopping, leaving a run folder for {@code evaluate} and {@code recommend}. No test
 * evaluation (that is {@code evaluate}'s job). Exit status 0, 1 on a failure, 2 on bad usage.
 */
@Command(name = "pretrain", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Features -> MPQ tokenizer -> REG4Rec pre-training (L_token + L_cate, random and confidence decoding orders),",
                "early stopping on validation NDCG@10; a checkpoint every epoch. Writes a run folder: run.json, tokens.txt,",
                "tokenizer.safetensors, reg4rec/{metrics.jsonl, last.safetensors, best.safetensors}.",
                "Same presets as pipeline: the paper's sizes with --data, the small preset on the embedded synthetic data."})
public final class Pretrain implements Callable<Integer> {
    @Mixin
    TrainingOptions options = new TrainingOptions();

    @Option(names = "--out", paramLabel = "DIR", defaultValue = "runs/pretrain", description = "run folder (default: ${DEFAULT-VALUE})")
    Path out;

    @Option(names = "--resume", paramLabel = "FILE",
            description = "continue from RUN/reg4rec/last.safetensors (same data, seed and sizes); the MPQ tokens of RUN are reused")
    Path resume;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    static int run(String... args) {
        return new CommandLine(new Pretrain()).setExecutionExceptionHandler(Pipeline::failure).execute(args);
    }

    @Override
    public Integer call() throws IOException {
        if (resume != null && !Files.isRegularFile(resume)) throw new LauncherSupport.UsageException("--resume " + resume + ": no such file");
        RunSettings settings = options.settings();
        Device device = LauncherSupport.chooseDevice(options.device);
        try (Pipeline.Reg4RecStage stage = Pipeline.Reg4RecStage.prepare(options, settings, device, out, System.err, resume)) {
            Path dir = out.resolve(RecPipeline.REG4REC_DIR);
            TrainingLoop.Result r = new TrainingLoop(stage.trainer(), stage.split, settings.train(), dir, System.err, !options.noProgress).run(resume);
            System.out.printf(Locale.ROOT, "pretrain: %d epochs (%d steps) in %.1f s, best validation NDCG@10 %.4f at epoch %d%s; run folder %s%n",
                    r.epochsDone(), r.steps(), r.seconds(), r.bestValidationNdcg10(), r.bestEpoch(), r.stoppedEarly() ? " (stopped early)" : "", out);
            return 0;
        }
    }
}
