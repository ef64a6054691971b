package dev.scalebox.cli;

import picocli.CommandLine.Command;

import java.util.concurrent.Callable;

/** {@code scalebox logout}: forgets the server and token of {@code scalebox login}. */
@Command(name = "logout", mixinStandardHelpOptions = true, description = "Forget the server and token kept by login.")
final class LogoutCommand implements Callable<Integer> {

    @Override
    public Integer call() {
        String server;
        try {
            server = CliConfig.login().map(l -> l.url().toString()).orElse("the login");
        } catch (CliException unreadable) {
            server = "the login";  // forgotten all the same
        }
        if (!CliConfig.forget()) {
            System.out.println("Not logged in; nothing to forget");
            return 0;
        }
        System.out.println("Forgot " + server + " (removed "
                + CliConfig.file() + ")");
        return 0;
    }
}
