package dev.scalebox.cli;

import dev.scalebox.ScaleboxException;
import dev.scalebox.config.ConfigException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.UncheckedIOException;

/** The {@code scalebox} command line. */
@Command(name = "scalebox", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Self-hosted Linux VMs from copy-on-write templates.",
        subcommands = {ServeCommand.class, UpCommand.class, VmCommand.class, BoxCommand.class, HostCommand.class,
                StorageCommand.class, TemplateCommand.class, ServiceCommand.class, StoreCommand.class, LoginCommand.class,
                LogoutCommand.class, CommandLine.HelpCommand.class})
public final class Main {

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line and returns its exit code: 0 done, 1 failed, 2 wrong usage. */
    public static int run(String... args) {
        CommandLine cli = new CommandLine(new Main());
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            commandLine.getErr().println("error: " + describe(e));
            if (!(e instanceof ScaleboxException) && !(e instanceof ConfigException)
                    && System.getenv("SCALEBOX_DEBUG") != null) {
                e.printStackTrace(commandLine.getErr());
            }
            return 1;
        });
        return cli.execute(args);
    }

    private static String describe(Exception e) {
        if (e instanceof ScaleboxException || e instanceof ConfigException) {
            return e.getMessage();
        }
        if (e instanceof UncheckedIOException u) {
            return u.getMessage() + ": " + u.getCause().getMessage();
        }
        return e.getClass().getSimpleName() + ": " + e.getMessage();
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"scalebox " + (v == null ? "dev" : v)};
        }
    }
}
