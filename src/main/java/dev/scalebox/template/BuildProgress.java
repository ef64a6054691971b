package dev.scalebox.template;

/** Where a template build reports how far it got. */
public interface BuildProgress {

    /** Step {@code index} (1-based) of {@code total} begins. */
    void step(int index, int total, String description);

    /** A line of output from the step under way. */
    void output(String line);

    BuildProgress SILENT = new BuildProgress() {
        @Override
        public void step(int index, int total, String description) {
        }

        @Override
        public void output(String line) {
        }
    };
}
