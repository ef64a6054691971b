package dev.scalebox.store;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import org.flywaydb.core.Flyway;
import org.sqlite.SQLiteConfig;
import org.sqlite.SQLiteDataSource;

import javax.sql.DataSource;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * The store: SQLite in the data directory by default (WAL, so readers never wait for the writer),
 * migrated with Flyway from {@code db/migration/common} and the vendor's own folder. Open it once
 * per process and share it.
 */
public final class Database {

    private final DataSource dataSource;

    private Database(DataSource dataSource) {
        this.dataSource = dataSource;
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
        HikariDataSource ds = new HikariDataSource(pool);
        Flyway.configure()
                .dataSource(ds)
                .locations("classpath:db/migration/common", "classpath:db/migration/sqlite")
                .failOnMissingLocations(false)
                .load()
                .migrate();
        return new Database(ds);
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
            if (e.getMessage() != null && e.getMessage().contains("UNIQUE")) {
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
