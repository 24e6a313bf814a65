package io.reg4rec.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.reg4rec.engine.Device;
import io.reg4rec.model.tokenizer.TokenFiles;
import io.reg4rec.model.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The tokenizer launcher end to end on the embedded synthetic dataset (no ../shared), with small settings. */
class TrainTokenizerTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private record Run(int exit, String stdout, String stderr) {}

    private static Run run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int exit;
        try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8); PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            exit = new CommandLine(new TrainTokenizer(o, e)).setOut(new PrintWriter(o, true)).setErr(new PrintWriter(e, true)).execute(args);
        }
        return new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void trainsOnTheEmbeddedDefaultAndWritesParsableOutputs(@TempDir Path dir) throws IOException {
        Path out = dir.resolve("mpq");
        Run r = run("--out", out.toString(), "--method", "mpq", "-M", "3", "-D", "16", "--epochs", "3", "--batch-size", "256",
                "--device", "cpu", "--seed", "5", "--resolve-collisions", "--no-progress");
        assertEquals(0, r.exit(), r.stderr());

        // stdout: only JSON lines, one per epoch, then the final one
        List<JsonNode> lines = new ArrayList<>();
        for (String line : r.stdout().split("\n")) if (!line.isBlank()) lines.add(JSON.readTree(line));
        assertEquals(4, lines.size(), r.stdout());
        for (int e = 0; e < 3; e++) {
            assertEquals("epoch", lines.get(e).get("event").asText());
            assertEquals(e + 1, lines.get(e).get("epoch").asInt());
            assertTrue(lines.get(e).get("recon").asDouble() > 0);
            assertTrue(lines.get(e).get("orth").isNumber());
        }
        JsonNode last = lines.get(3);
        assertEquals("final", last.get("event").asText());

        // tokens.txt: items 1..1000, 3 tokens each in [0, 16)
        int[][] tokens = TokenFiles.read(out.resolve(TrainTokenizer.TOKENS_FILE));
        assertEquals(1001, tokens.length);
        for (int i = 1; i < tokens.length; i++) {
            assertEquals(3, tokens[i].length);
            for (int t : tokens[i]) assertTrue(t >= 0 && t < 16, "item " + i + " token " + t);
        }

        // report.json agrees with the final line and with the token file
        JsonNode report = JSON.readTree(out.resolve(TrainTokenizer.REPORT_FILE).toFile());
        assertEquals("mpq", report.get("method").asText());
        assertEquals(1000, report.get("items").asInt());
        assertEquals(3, report.get("utilisation").size());
        assertEquals(3, report.get("perplexity").size());
        assertEquals(3, report.get("epochLosses").size());
        assertEquals(report.get("collisionRate").asDouble(), last.get("collisionRate").asDouble());
        assertTrue(report.get("reconLoss").asDouble() > 0 && report.get("orthLoss").asDouble() >= 0);
        assertTrue(report.get("trainSeconds").asDouble() > 0);
        JsonNode resolution = report.get("collisionResolution");
        int moved = resolution.get("movedItems").asInt();
        assertTrue(moved <= resolution.get("collidingBefore").asInt());
        assertTrue(resolution.get("collisionRateAfter").asDouble() <= report.get("collisionRate").asDouble());

        // the checkpoint loads with the configuration it was trained with
        try (Tokenizer t = Tokenizer.load(out.resolve(TrainTokenizer.CHECKPOINT_FILE), Device.CPU)) {
            assertEquals("mpq", t.kind());
            assertEquals(3, t.config().numCodebooks());
            assertEquals(16, t.config().codebookSize());
        }

        // no temporary files left behind
        try (Stream<Path> files = Files.list(out)) {
            List<String> names = files.map(p -> p.getFileName().toString()).sorted().toList();
            assertEquals(List.of("report.json", "tokenizer.safetensors", "tokens.txt"), names);
        }
        assertTrue(r.stderr().contains("collision rate") && r.stderr().contains("utilisation"), r.stderr());
        assertFalse(r.stdout().contains("collision resolution"), "the table belongs on stderr");
    }

    @Test
    void helpAndBadUsage() {
        Run help = run("--help");
        assertEquals(0, help.exit());
        assertTrue(help.stdout().contains("--method") && help.stdout().contains("--resolve-collisions"), help.stdout());
        Run bad = run("--method", "kmeans");
        assertEquals(2, bad.exit());
        assertTrue(bad.stderr().contains("mpq or rqvae"), bad.stderr());
    }
}
