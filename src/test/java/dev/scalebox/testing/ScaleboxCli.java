package dev.scalebox.testing;

import dev.scalebox.cli.Main;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** The Scalebox CLI as a separate process, on this JVM's java and classpath. */
public final class ScaleboxCli {

    private ScaleboxCli() {
    }

    /** Leading arguments that start with {@code -D} go to java; the rest to the CLI. */
    public static ProcessBuilder command(String... args) {
        List<String> argv = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path")));
        int i = 0;
        for (; i < args.length && args[i].startsWith("-D"); i++) {
            argv.add(args[i]);
        }
        argv.add(Main.class.getName());
        argv.addAll(Arrays.asList(args).subList(i, args.length));
        return new ProcessBuilder(argv);
    }
}
