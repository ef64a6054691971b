package dev.scalebox.store;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.scalebox.ScaleboxException;
import dev.scalebox.config.HostName;
import dev.scalebox.config.StoreUrl;
import org.flywaydb.core.Flyway;
import org.sqlite.SQLiteConfig;
import org.sqlite.SQLiteDataSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The store: SQLite in the data directory by default (WAL, so readers never wait for the writer),
 * or PostgreSQL, shared by several hosts; both migrated with Flyway from {@code db/migration/common}
 * and the vendor's own folder, so every statement here is plain SQL that both understand. Open it
 * once per process and share it. It is opened for one host: the VMs and templates it hands out
 * are that host's (see {@link VmStore}).
 */
public final class Database implements AutoCloseable {

    /** The advisory lock of the cluster's leader ("scalebox" in ASCII). */
    public static final long LEADER_LOCK = 0x7363616c65626f78L;

    private final HikariDataSource dataSource;
    private final String description;
    private final String host;
    private final boolean shared;
    private SessionLock claimed;

    private Database(HikariDataSource dataSource, String description, String host, boolean shared) {
        this.dataSource = dataSource;
        this.description = description;
        this.host = host;
        this.shared = shared;
    }

    /** Opens the PostgreSQL store when {@code store} names one, else the SQLite database at {@code sqliteFile}. */
    public static Database open(Optional<StoreUrl> store, Path sqliteFile, String host) {
        return store.map(s -> openPostgres(s.url(), s.user(), s.password(), host))
                .orElseGet(() -> openSqlite(sqliteFile, host));
    }

    /** Opens the SQLite database at {@code file} for this machine's host. */
    public static Database openSqlite(Path file) {
        return openSqlite(file, HostName.ofMachine());
    }

    /** Opens (creating when absent) and migrates the SQLite database at {@code file}, for {@code host}. */
    public static Database openSqlite(Path file, String host) {
        SQLiteConfig config = new SQLiteConfig();
        config.setJournalMode(SQLiteConfig.JournalMode.WAL);
        config.setSynchronous(SQLiteConfig.SynchronousMode.NORMAL);
        config.setBusyTimeout(10_000);
        config.enforceForeignKeys(true);
        SQLiteDataSource sqlite = new SQLiteDataSource(config);
        sqlite.setUrl("jdbc:sqlite:" + file.toAbsolutePath());
        // Opening an SQLite connection reads the schema and sets the pragmas: a few milliseconds
        // that every create would pay several times over without a pool.
        HikariConfig pool = new HikariConfig();
        pool.setDataSource(sqlite);
        pool.setPoolName("scalebox-sqlite");
        pool.setMaximumPoolSize(4);
        pool.setMinimumIdle(1);
        return migrated(new HikariDataSource(pool), "sqlite", "SQLite " + file.toAbsolutePath(), host);
    }

    /**
     * Opens and migrates the PostgreSQL database at {@code url} (jdbc:postgresql://HOST[:PORT]/DB).
     * Fails at once, naming the server, when it cannot be reached or refuses the login.
     */
    public static Database openPostgres(String url, Optional<String> user, Optional<String> password, String host) {
        HikariConfig pool = new HikariConfig();
        pool.setJdbcUrl(url);
        user.ifPresent(pool::setUsername);
        password.ifPresent(pool::setPassword);
        pool.setPoolName("scalebox-postgresql");
        // two connections are held for good: the host's claim and, on the leader, its lock
        pool.setMaximumPoolSize(10);
        pool.setMinimumIdle(1);
        pool.setConnectionTimeout(10_000);
        HikariDataSource ds;
        try {
            ds = new HikariDataSource(pool);
        } catch (RuntimeException e) {
            throw new StoreException("connect to " + url, e);
        }
        return migrated(ds, "postgresql", "PostgreSQL " + url, host);
    }

    private static Database migrated(HikariDataSource ds, String vendor, String description, String host) {
        try {
            Flyway.configure()
                    .dataSource(ds)
                    .locations("classpath:db/migration/common", "classpath:db/migration/" + vendor)
                    .failOnMissingLocations(false)
                    .load()
                    .migrate();
        } catch (RuntimeException e) {
            ds.close();
            throw new StoreException("migrate " + description, e);
        }
        return new Database(ds, description, host, vendor.equals("postgresql"));
    }

    /**
     * Makes this process the one server of its host on the store, until it closes the store or
     * ends. SQLite lives in one data directory, whose own lock already keeps it to one server. On
     * PostgreSQL two servers under one HOST_NAME would each take the other's VMs for its own: an
     * advisory lock on the host's name, held by one connection and dropped with it, refuses the second.
     */
    public synchronized void claim() {
        if (claimed != null) {
            return;
        }
        claimed = tryLock(lockOf("host:" + host)).orElseThrow(() -> new ScaleboxException.Conflict("host '" + host
                + "' of the store " + description + " is served by another scalebox serve; give each host its own HOST_NAME"));
    }

    /**
     * Takes the session-level advisory lock {@code key} on a connection of its own, or empty when
     * another holds it. On SQLite, which one process serves, it is always taken.
     */
    public Optional<SessionLock> tryLock(long key) {
        if (!shared) {
            return Optional.of(new SessionLock(null, key));
        }
        try {
            Connection c = connection();
            try (PreparedStatement st = c.prepareStatement("SELECT pg_try_advisory_lock(?)")) {
                st.setLong(1, key);
                try (ResultSet rs = st.executeQuery()) {
                    if (rs.next() && rs.getBoolean(1)) {
                        return Optional.of(new SessionLock(c, key));
                    }
                }
            }
            c.close();
            return Optional.empty();
        } catch (SQLException e) {
            throw new StoreException("take a lock on " + description, e);
        }
    }

    /** An advisory lock held by its own connection: lost when that connection is, and given up by closing it. */
    public static final class SessionLock implements AutoCloseable {
        private final Connection connection;
        private final long key;

        private SessionLock(Connection connection, long key) {
            this.connection = connection;
            this.key = key;
        }

        /** Whether the lock is still held: its connection still answers. */
        public boolean held() {
            if (connection == null) {
                return true;
            }
            try {
                return connection.isValid(5);
            } catch (SQLException e) {
                return false;
            }
        }

        /** Unlocks first: closing only gives the connection back to the pool, where the lock would stay with it. */
        @Override
        public void close() {
            if (connection == null) {
                return;
            }
            try (connection; PreparedStatement st = connection.prepareStatement("SELECT pg_advisory_unlock(?)")) {
                st.setLong(1, key);
                st.execute();
            } catch (SQLException e) {
                // a connection that is gone took its lock with it
            }
        }
    }

    private static long lockOf(String name) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(name.getBytes(StandardCharsets.UTF_8));
            return java.nio.ByteBuffer.wrap(digest).getLong();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Makes this host the owner of the VMs and templates that no host owns: those of a store from
     * before hosts, which one server had then; the first host to start after the upgrade takes them.
     * An SQLite store is one host's, so it takes all: its records follow a change of HOST_NAME.
     */
    public void adoptUnowned() {
        if (shared) {
            update("adopt the VMs of no host", "UPDATE vms SET host = ? WHERE host IS NULL", host);
        } else {
            update("adopt the VMs", "UPDATE vms SET host = ? WHERE host IS NULL OR host <> ?", host, host);
            update("adopt the templates", "DELETE FROM template_hosts WHERE host <> ?", host);
            update("forget other hosts", "DELETE FROM hosts WHERE name <> ?", host);
        }
        update("adopt the templates of no host", "INSERT INTO template_hosts (template, host) SELECT name, ? FROM templates"
                + " WHERE NOT EXISTS (SELECT 1 FROM template_hosts WHERE template = templates.name)", host);
    }

    /** The host this store was opened for. */
    public String host() {
        return host;
    }

    /** Whether several hosts can share this store (PostgreSQL). */
    public boolean shared() {
        return shared;
    }

    /** Which database this is, for messages: its vendor and file or URL (never a password). */
    public String description() {
        return description;
    }

    @Override
    public synchronized void close() {
        if (claimed != null) {
            claimed.close();
        }
        dataSource.close();
    }

    private Connection connection() throws SQLException {
        return dataSource.getConnection();
    }

    /** Maps the current row of a result set. */
    @FunctionalInterface
    interface RowMapper<T> {
        T map(ResultSet rs) throws SQLException;
    }

    /**
     * Runs one INSERT, UPDATE or DELETE with {@code params} bound in order; returns the rows it
     * changed, or -1 when it broke a UNIQUE constraint. {@code operation} names it in errors.
     */
    int update(String operation, String sql, Object... params) {
        try (Connection c = connection(); PreparedStatement st = c.prepareStatement(sql)) {
            bind(st, params);
            return st.executeUpdate();
        } catch (SQLException e) {
            if (uniqueViolation(e)) {
                return -1;
            }
            throw new StoreException(operation, e);
        }
    }

    /** Runs one SELECT with {@code params} bound in order and maps every row. */
    <T> List<T> query(String operation, String sql, RowMapper<T> mapper, Object... params) {
        try (Connection c = connection(); PreparedStatement st = c.prepareStatement(sql)) {
            bind(st, params);
            List<T> rows = new ArrayList<>();
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    rows.add(mapper.map(rs));
                }
            }
            return rows;
        } catch (SQLException e) {
            throw new StoreException(operation, e);
        }
    }

    /** A unique or primary key broken: PostgreSQL says so by its SQLSTATE, SQLite only in words. */
    private static boolean uniqueViolation(SQLException e) {
        return "23505".equals(e.getSQLState()) || String.valueOf(e.getMessage()).contains("UNIQUE constraint failed");
    }

    private static void bind(PreparedStatement st, Object... params) throws SQLException {
        for (int i = 0; i < params.length; i++) {
            st.setObject(i + 1, params[i]);
        }
    }

    public TemplateStore templates() {
        return new TemplateStore(this, host);
    }

    public VmStore vms() {
        return new VmStore(this, host);
    }

    public HostStore hosts() {
        return new HostStore(this);
    }

    public UserStore users() {
        return new UserStore(this);
    }

    public StorageJournal storageJournal() {
        return new StorageJournal(this);
    }
}
