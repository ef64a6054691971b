package dev.scalebox.store;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.scalebox.ScaleboxException;
import dev.scalebox.config.StoreUrl;
import org.flywaydb.core.Flyway;
import org.sqlite.SQLiteConfig;
import org.sqlite.SQLiteDataSource;

import java.nio.file.Path;
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
 * once per process and share it.
 */
public final class Database implements AutoCloseable {

    /** The advisory lock of the one server of a PostgreSQL store ("scalebox" in ASCII). */
    private static final long SERVER_LOCK = 0x7363616c65626f78L;

    private final HikariDataSource dataSource;
    private final String description;
    private Connection claimed;

    private Database(HikariDataSource dataSource, String description) {
        this.dataSource = dataSource;
        this.description = description;
    }

    /** Opens the PostgreSQL store when {@code store} names one, else the SQLite database at {@code sqliteFile}. */
    public static Database open(Optional<StoreUrl> store, Path sqliteFile) {
        return store.map(s -> openPostgres(s.url(), s.user(), s.password())).orElseGet(() -> openSqlite(sqliteFile));
    }

    /** Opens (creating when absent) and migrates the SQLite database at {@code file}. */
    public static Database openSqlite(Path file) {
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
        return migrated(new HikariDataSource(pool), "sqlite", "SQLite " + file.toAbsolutePath());
    }

    /**
     * Opens and migrates the PostgreSQL database at {@code url} (jdbc:postgresql://HOST[:PORT]/DB).
     * Fails at once, naming the server, when it cannot be reached or refuses the login.
     */
    public static Database openPostgres(String url, Optional<String> user, Optional<String> password) {
        HikariConfig pool = new HikariConfig();
        pool.setJdbcUrl(url);
        user.ifPresent(pool::setUsername);
        password.ifPresent(pool::setPassword);
        pool.setPoolName("scalebox-postgresql");
        pool.setMaximumPoolSize(8);
        pool.setMinimumIdle(1);
        pool.setConnectionTimeout(10_000);
        HikariDataSource ds;
        try {
            ds = new HikariDataSource(pool);
        } catch (RuntimeException e) {
            throw new StoreException("connect to " + url, e);
        }
        return migrated(ds, "postgresql", "PostgreSQL " + url);
    }

    private static Database migrated(HikariDataSource ds, String vendor, String description) {
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
        return new Database(ds, description);
    }

    /**
     * Makes this process the one server of the store until it closes the store or ends. SQLite
     * lives in one data directory, whose own lock already keeps it to one server. PostgreSQL could
     * be reached by several, and until they know of each other's VMs a second one would take the
     * first one's VMs for its own: an advisory lock, held by one connection and dropped by the
     * server with it, keeps it to one.
     */
    public synchronized void claim() {
        if (!description.startsWith("PostgreSQL") || claimed != null) {
            return;
        }
        try {
            Connection c = connection();
            try (PreparedStatement st = c.prepareStatement("SELECT pg_try_advisory_lock(?)")) {
                st.setLong(1, SERVER_LOCK);
                try (ResultSet rs = st.executeQuery()) {
                    if (rs.next() && rs.getBoolean(1)) {
                        claimed = c;
                        return;
                    }
                }
            }
            c.close();
        } catch (SQLException e) {
            throw new StoreException("claim " + description, e);
        }
        throw new ScaleboxException.Conflict("the store " + description + " is in use by another scalebox serve;"
                + " one server at a time may use a store");
    }

    /** Which database this is, for messages: its vendor and file or URL (never a password). */
    public String description() {
        return description;
    }

    @Override
    public synchronized void close() {
        if (claimed != null) {
            try {
                claimed.close();
            } catch (SQLException e) {
                // the pool closes it all the same
            }
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
        return new TemplateStore(this);
    }

    public VmStore vms() {
        return new VmStore(this);
    }

    public UserStore users() {
        return new UserStore(this);
    }

    public StorageJournal storageJournal() {
        return new StorageJournal(this);
    }
}
