package io.reg4rec.model.rec;

import io.reg4rec.autograd.NoGrad;
import io.reg4rec.autograd.Variable;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Engine;
import io.reg4rec.engine.Scope;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The catalog term on CUDA (a gather through a broadcast index of every item's M pairs, its
 * backward a scatter-add with about items * M / (M * D) collisions per cell) against the CPU from
 * the same weights: loss and every parameter gradient, fp32, relative tolerance 1e-4. 1,000
 * items over M = 4, D = 37 (not a multiple of any tile), 67 examples.
 */
@Tag("gpu")
class CudaCatalogLossTest {
    private static final Device CUDA = Device.cuda(0);
    static final int M = 4, D = 37, C = 5, ITEMS = 1000, USERS = 67;

    @Test
    void catalogLossAndGradientsMatchTheCpu() {
        assumeTrue(Engine.cudaAvailable(), "no CUDA device");
        ItemCatalog catalog = Synthetic.catalog(ITEMS, M, D, C, 3);
        Reg4RecConfig config = Reg4RecConfig.paper(M, D, C).withWidths(32, 2, 64).withMaxHistory(8).withDropout(0.0);
        java.util.SplittableRandom rng = new java.util.SplittableRandom(11);
        int[][] histories = new int[USERS][];
        int[] targets = new int[USERS];
        for (int u = 0; u < USERS; u++) {
            histories[u] = rng.ints(1 + rng.nextInt(10), 1, ITEMS + 1).toArray();
            targets[u] = 1 + rng.nextInt(ITEMS);
        }
        int[][] orders = DecodingOrders.random(USERS, M, rng);
        try (Scope s = Scope.open(); Reg4RecModel cpu = new Reg4RecModel(Device.CPU, config, catalog, 5);
             Reg4RecModel cuda = new Reg4RecModel(CUDA, config, catalog, 9)) {
            Map<String, Variable> cudaParams = cuda.namedParameters();
            try (NoGrad ignored = NoGrad.enter()) {
                cpu.namedParameters().forEach((name, p) -> cudaParams.get(name).update(p.data()));
            }
            Reg4RecModel.PretrainLoss onCpu = cpu.loss(histories, targets, orders, false, 1.0);
            Reg4RecModel.PretrainLoss onCuda = cuda.loss(histories, targets, orders, false, 1.0);
            double expected = onCpu.catalogLoss().item();
            assertEquals(expected, onCuda.catalogLoss().item(), 1e-4 * Math.abs(expected), "catalog loss");
            onCpu.catalogLoss().backward();   // the catalog term's gradients alone
            onCuda.catalogLoss().backward();
            int compared = 0;
            for (Map.Entry<String, Variable> e : cpu.namedParameters().entrySet()) {
                if (e.getValue().grad() == null) {   // the category head is not on the catalog term's path
                    assertNull(cudaParams.get(e.getKey()).grad(), e.getKey());
                    continue;
                }
                compared++;
                float[] want = e.getValue().grad().toFloatArray();
                float[] got = cudaParams.get(e.getKey()).grad().toFloatArray();
                double diff = 0, norm = 0;
                for (int i = 0; i < want.length; i++) {
                    diff += (got[i] - want[i]) * (double) (got[i] - want[i]);
                    norm += want[i] * (double) want[i];
                }
                assertTrue(Math.sqrt(diff) <= 1e-4 * Math.sqrt(norm) + 1e-7, "gradient of " + e.getKey() + ": relative error " + Math.sqrt(diff / Math.max(norm, 1e-30)));
            }
            assertTrue(compared >= 10, "gradients compared: " + compared);
        }
    }
}
