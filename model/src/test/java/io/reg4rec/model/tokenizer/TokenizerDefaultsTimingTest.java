package io.reg4rec.model.tokenizer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfEnvironmentVariable;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Beauty-sized timing check: 12,101 items x 256 features, default config (M = 8, D = 300),
 * on the CPU. Minutes long, so it runs only when REG4REC_TOKENIZER_TIMING=1.
 */
@EnabledIfEnvironmentVariable(named = "REG4REC_TOKENIZER_TIMING", matches = "1")
class TokenizerDefaultsTimingTest {
    private static final int ITEMS = 12_101, FEATURES = 256;

    @Test
    void defaultsTrainWithinTenMinutesOnBeautySizedInput() {
        float[][] features = SyntheticFeatures.clustered(ITEMS, 500, FEATURES, 0.5, 11);
        String kinds = System.getenv().getOrDefault("REG4REC_TOKENIZER_KINDS", "mpq,rqvae");
        for (String kind : kinds.split(",")) {
            TokenizerConfig config = TokenizerConfig.defaults();
            String lr = System.getenv("REG4REC_TOKENIZER_LR"), epochs = System.getenv("REG4REC_TOKENIZER_EPOCHS");
            if (lr != null || epochs != null) {
                config = config.withTraining(lr == null ? config.learningRate() : Double.parseDouble(lr),
                        epochs == null ? config.epochs() : Integer.parseInt(epochs), config.batchSize());
            }
            try (Tokenizer t = kind.equals("mpq") ? new MpqTokenizer(config, FEATURES) : new RqVaeTokenizer(config, FEATURES)) {
                TokenizerReport report = t.train(features, p -> System.out.println(kind + " " + p));
                System.out.println(report);
                assertTrue(report.trainSeconds() < 600, kind + " took " + report.trainSeconds() + " s");
                assertTrue(report.tokens().minUtilisation() >= 0.9, report.toString());
            }
        }
    }
}
