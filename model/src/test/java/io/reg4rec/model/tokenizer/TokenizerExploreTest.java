package io.reg4rec.model.tokenizer;

import org.junit.jupiter.api.Test;

import java.util.List;

class TokenizerExploreTest {
    static String env(String k, String d) { String v = System.getenv(k); return v == null ? d : v; }

    @Test
    void explore() {
        float[][] features = env("DATA","c").equals("c") ? SyntheticFeatures.clustered(2000, 50, 64, Double.parseDouble(env("NOISE","0.5")), 7) : SyntheticFeatures.factored(2000, 4, 32, 64, Double.parseDouble(env("NOISE","0.5")), 7);
        TokenizerConfig c = TokenizerConfig.defaults().withCodebooks(4, 32).withCodeDim(16).withHidden(List.of(32), List.of(64))
                .withTraining(Double.parseDouble(env("LR","3e-3")), Integer.parseInt(env("EPOCHS","30")), Integer.parseInt(env("BATCH","256"))).withCodebookUpkeep(20, 1024, 10).withLosses(Double.parseDouble(env("ALPHA","0.001")), 0.25);
        for (String kind : env("KINDS","mpq,rqvae").split(",")) {
            long t0 = System.nanoTime();
            try (VqTokenizer t = kind.equals("mpq") ? new MpqTokenizer(c, 64) : new RqVaeTokenizer(c, 64)) {
                TokenizerReport r = t.train(features, p -> { if (p.epoch() % 20 == 0) System.out.println(p); });
                System.out.println(r);
                System.out.println("wall " + (System.nanoTime() - t0) / 1e9);
            }
        }
    }
}
