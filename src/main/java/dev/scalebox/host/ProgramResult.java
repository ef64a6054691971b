package dev.scalebox.host;

import java.util.List;

/** What an external program did: its argument list, exit code and captured output. */
public record ProgramResult(List<String> argv, int exitCode, String stdout, String stderr) {

    public boolean succeeded() {
        return exitCode == 0;
    }

    /** A one-line description for error messages: the program name, exit code and stderr. */
    public String describeFailure() {
        String err = stderr.strip();
        if (err.isEmpty()) {
            err = stdout.strip();
        }
        return argv.getFirst() + " exited with " + exitCode + (err.isEmpty() ? "" : ": " + lastLines(err, 5));
    }

    private static String lastLines(String text, int n) {
        List<String> lines = text.lines().toList();
        return String.join(" / ", lines.subList(Math.max(0, lines.size() - n), lines.size()));
    }
}
