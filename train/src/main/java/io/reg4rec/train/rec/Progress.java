package io.reg4rec.train.rec;

import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

import java.io.PrintStream;
import java.util.Locale;

/**
 * Progress of a loop with a known length, on stderr: a redrawn bar with rate and ETA
 * (me.tongfei progressbar, ASCII style) when stderr is a terminal; otherwise, so that a log file
 * stays readable, one plain line at every tenth of the way with elapsed time and ETA. Silent when
 * disabled.
 */
public final class Progress implements AutoCloseable {
    private final String task;
    private final long total;
    private final PrintStream out;
    private final long start = System.nanoTime();
    private ProgressBar bar;
    private long lastReportedTenth;
    private String extra = "";

    private Progress(String task, long total, PrintStream out, boolean terminal) {
        this.task = task;
        this.total = Math.max(total, 1);
        this.out = out;
        if (out != null && terminal) {
            bar = new ProgressBarBuilder().setTaskName(task).setInitialMax(this.total).setStyle(ProgressBarStyle.ASCII)
                    .setUpdateIntervalMillis(500).setMaxRenderedLength(110).continuousUpdate().build();
        }
    }

    /** Progress on System.err (bar on a terminal, tenths otherwise), or nothing when not enabled. */
    public static Progress start(String task, long total, boolean enabled) {
        return new Progress(task, total, enabled ? System.err : null, System.console() != null);
    }

    /** Never shows anything. */
    public static Progress silent() {
        return new Progress("", 1, null, false);
    }

    /** A short text shown with the bar and the plain lines (e.g. the running loss). */
    public void message(String text) {
        extra = text;
        if (bar != null) bar.setExtraMessage(" " + text);
    }

    /** Sets the number of units done. */
    public void stepTo(long done) {
        if (bar != null) {
            bar.stepTo(done);
            return;
        }
        if (out == null) return;
        long tenth = done * 10 / total;
        if (tenth > lastReportedTenth) {
            lastReportedTenth = tenth;
            double elapsed = (System.nanoTime() - start) / 1e9;
            double eta = done == 0 ? 0 : elapsed / done * (total - done);
            out.printf(Locale.ROOT, "  %s %d/%d (%d%%) elapsed %s ETA %s %s%n", task, done, total, 100 * done / total, clock(elapsed), clock(eta), extra);
            out.flush();
        }
    }

    static String clock(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600 ? String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }

    @Override
    public void close() {
        if (bar != null) bar.close();
        bar = null;
    }
}
