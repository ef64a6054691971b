package dev.scalebox.cli;

import dev.scalebox.template.BuildProgress;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

import java.io.PrintStream;

/** Shows build progress: a progress bar on a terminal, plain numbered lines anywhere else (logs, CI). */
abstract class ProgressReporter implements BuildProgress, AutoCloseable {

    /** A bar when the launcher says standard output is a terminal ({@code -Dscalebox.tty=true}), else lines. */
    static ProgressReporter forConsole(String task) {
        return Boolean.getBoolean("scalebox.tty") ? new Bar(task) : new Lines(System.out);
    }

    @Override
    public void close() {
    }

    private static final class Bar extends ProgressReporter {
        private final String task;
        private ProgressBar bar;

        Bar(String task) {
            this.task = task;
        }

        @Override
        public void step(int index, int total, String description) {
            if (bar == null) {
                bar = new ProgressBarBuilder().setTaskName(task).setInitialMax(total)
                        .setStyle(ProgressBarStyle.ASCII).continuousUpdate().build();
            }
            bar.stepTo(index - 1);
            bar.setExtraMessage(description);
        }

        @Override
        public void output(String line) {
            if (bar != null) {
                bar.setExtraMessage(line.length() > 60 ? line.substring(0, 60) : line);
            }
        }

        @Override
        public void close() {
            if (bar != null) {
                bar.stepTo(bar.getMax());
                bar.close();
            }
        }
    }

    private static final class Lines extends ProgressReporter {
        private final PrintStream out;

        Lines(PrintStream out) {
            this.out = out;
        }

        @Override
        public void step(int index, int total, String description) {
            out.println("[" + index + "/" + total + "] " + description);
        }

        @Override
        public void output(String line) {
            out.println("    " + line);
        }
    }
}
