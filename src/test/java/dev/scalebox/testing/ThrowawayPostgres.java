package dev.scalebox.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Comparator;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * A real PostgreSQL server of Debian's packages for the tests: a cluster made by {@code initdb} in a
 * temporary directory, owned by the {@code postgres} user (PostgreSQL refuses to run as root), on a
 * free loopback port, with a password login for the user {@code scalebox}. One is started for the
 * whole run, on first use, and stopped and removed when the JVM exits; each test takes a database
 * of its own with {@link #newDatabase}.
 */
public final class ThrowawayPostgres implements AutoCloseable {

    public static final String USER = "scalebox";
    private static ThrowawayPostgres shared;

    private final Path dir;
    private final Path bin;
    private final int port;
    private final AtomicInteger databases = new AtomicInteger();

    private ThrowawayPostgres(Path dir, Path bin, int port) {
        this.dir = dir;
        this.bin = bin;
        this.port = port;
    }

    /** The server of this run, started on first use. */
    public static synchronized ThrowawayPostgres shared() {
        if (shared == null) {
            shared = start(null, null);
            ThrowawayPostgres server = shared;
            Runtime.getRuntime().addShutdownHook(new Thread(server::stop));
        }
        return shared;
    }

    /**
     * A server of its own that also listens on {@code address} and lets in logins from
     * {@code cidr} (hosts in network namespaces behind a bridge); {@link #close} stops it.
     */
    public static ThrowawayPostgres alsoListeningOn(String address, String cidr) {
        return start(address, cidr);
    }

    /** This server's JDBC URL of {@code database} at {@code address}, one it listens on. */
    public String url(String address, String database) {
        return "jdbc:postgresql://" + address + ":" + port + "/" + database;
    }

    @Override
    public void close() {
        stop();
    }

    /** The file that holds the password of {@link #USER}, readable by root alone. */
    public Path passwordFile() {
        return dir.resolve("password");
    }

    public String password() {
        try {
            return Files.readString(passwordFile()).strip();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Creates an empty database and returns its JDBC URL. */
    public String newDatabase() {
        String name = "scalebox_test_" + ProcessHandle.current().pid() + "_" + databases.incrementAndGet();
        try (Connection c = DriverManager.getConnection(url("postgres"), USER, password());
             Statement st = c.createStatement()) {
            st.execute("CREATE DATABASE " + name);
        } catch (SQLException e) {
            throw new IllegalStateException("cannot create database " + name + ": " + e.getMessage(), e);
        }
        return url(name);
    }

    public String url(String database) {
        return "jdbc:postgresql://127.0.0.1:" + port + "/" + database;
    }

    private static ThrowawayPostgres start(String address, String cidr) {
        Path bin = serverBinaries();
        try {
            Path dir = Files.createTempDirectory("scalebox-pg-");
            Path data = dir.resolve("data");
            Path password = dir.resolve("password");
            Files.writeString(password, "pw-" + Long.toHexString(new java.security.SecureRandom().nextLong()) + "\n");
            Path pwfile = dir.resolve("initdb-password");
            Files.copy(password, pwfile);
            Sh.run("chown", "postgres:postgres", dir.toString(), pwfile.toString());
            int port = Ports.free();
            Sh.run("runuser", "-u", "postgres", "--", bin.resolve("initdb").toString(), "-D", data.toString(),
                    "-U", USER, "--pwfile=" + pwfile, "--auth=scram-sha-256", "--no-sync", "-E", "UTF8");
            Files.delete(pwfile);
            Files.writeString(data.resolve("postgresql.conf"), String.join("\n",
                    "listen_addresses = '127.0.0.1" + (address == null ? "" : "," + address) + "'",
                    "port = " + port,
                    "unix_socket_directories = '" + dir + "'",
                    "fsync = off",
                    "synchronous_commit = off",
                    "full_page_writes = off",
                    "max_connections = 200",
                    "shared_buffers = 32MB",
                    ""), java.nio.file.StandardOpenOption.APPEND);
            if (cidr != null) {
                Files.writeString(data.resolve("pg_hba.conf"), "host all all " + cidr + " scram-sha-256\n",
                        java.nio.file.StandardOpenOption.APPEND);
            }
            Sh.run("runuser", "-u", "postgres", "--", bin.resolve("pg_ctl").toString(), "-D", data.toString(),
                    "-l", dir.resolve("server.log").toString(), "-w", "-t", "120", "start");
            return new ThrowawayPostgres(dir, bin, port);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The newest of Debian's PostgreSQL server packages installed. */
    private static Path serverBinaries() {
        try (Stream<Path> versions = Files.list(Path.of("/usr/lib/postgresql"))) {
            return versions.map(v -> v.resolve("bin"))
                    .filter(b -> Files.isExecutable(b.resolve("initdb")))
                    .max(Comparator.comparingInt(b -> Integer.parseInt(b.getParent().getFileName().toString())))
                    .orElseThrow();
        } catch (IOException | RuntimeException e) {
            throw new IllegalStateException("no PostgreSQL server under /usr/lib/postgresql: apt-get install postgresql"
                    + " (./scalebox test installs it)", e);
        }
    }

    private void stop() {
        Sh.tryRun("runuser", "-u", "postgres", "--", bin.resolve("pg_ctl").toString(), "-D", dir.resolve("data").toString(),
                "-m", "immediate", "-w", "stop");
        Sh.tryRun("rm", "-rf", "--one-file-system", dir.toString());
    }
}
