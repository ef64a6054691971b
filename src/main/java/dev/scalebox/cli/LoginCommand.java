package dev.scalebox.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.BufferedReader;
import java.io.Console;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;

/**
 * {@code scalebox login URL}: asks for the server's API token, checks it against the server, and
 * keeps both for the CLI's later commands ({@link CliConfig}), so it works from another machine.
 */
@Command(name = "login", mixinStandardHelpOptions = true,
        description = "Keep a Scalebox server's address and API token for the commands that follow.")
final class LoginCommand implements Callable<Integer> {

    @Parameters(paramLabel = "URL", description = "The server's API, e.g. http://10.0.0.5:8080")
    String url;

    @Option(names = "--token-stdin", description = "Read the token from standard input instead of asking for it")
    boolean tokenStdin;

    @Override
    public Integer call() {
        URI base = parse(url);
        String token = readToken(base);
        if (token.isBlank() || !token.matches("\\p{Graph}+")) {
            throw new CliException("a token is one word of visible characters; nothing was kept");
        }
        try {
            ApiClient.of(base, token).get("/info");
        } catch (CliException e) {
            throw new CliException("logging in to " + base + " failed, nothing was kept: " + e.getMessage());
        }
        CliConfig.save(new CliConfig.Login(base, token));
        System.out.println("Logged in to " + base + "; kept in " + CliConfig.file() + " (mode 600)."
                + " SCALEBOX_URL and SCALEBOX_TOKEN still win when set.");
        return 0;
    }

    static URI parse(String url) {
        URI uri;
        try {
            uri = URI.create(url.strip());
        } catch (IllegalArgumentException e) {
            throw new CliException("'" + url + "' is not a URL: " + e.getMessage());
        }
        if (!("http".equals(uri.getScheme()) || "https".equals(uri.getScheme())) || uri.getHost() == null
                || uri.getQuery() != null || uri.getFragment() != null || uri.getUserInfo() != null
                || !(uri.getPath().isEmpty() || uri.getPath().equals("/"))) {
            throw new CliException("'" + url + "' is not a server's address: give http(s)://HOST[:PORT], such as"
                    + " http://10.0.0.5:8080");
        }
        return URI.create(uri.getScheme() + "://" + uri.getRawAuthority());
    }

    private String readToken(URI base) {
        Console console = System.console();
        if (!tokenStdin && console != null) {
            char[] typed = console.readPassword("API token of %s: ", base);
            return typed == null ? "" : new String(typed).strip();
        }
        try {
            String line = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
            return line == null ? "" : line.strip();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the token", e);
        }
    }
}
