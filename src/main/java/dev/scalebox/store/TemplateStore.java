package dev.scalebox.store;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * Template records, as one host sees them: a template is named once in the store, and each host
 * that holds its image in {@code templates/} says so; {@link #list} and {@link #find} are the
 * templates of this host.
 */
public final class TemplateStore {

    /** A stored template: where it came from ({@code built}, {@code imported}, {@code snapshot}). */
    public record Row(String name, long sizeBytes, Instant createdAt, boolean isProtected, String origin) {
    }

    private static final String HERE = " JOIN template_hosts h ON h.template = t.name AND h.host = ?";

    private final Database db;
    private final String host;

    TemplateStore(Database db, String host) {
        this.db = db;
        this.host = host;
    }

    /** Inserts or replaces the record of {@code row.name()}, held by this host. */
    public void put(Row row) {
        db.update("save template " + row.name(), "INSERT INTO templates (name, size_bytes, created_at, protected, origin)"
                        + " VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET size_bytes = excluded.size_bytes,"
                        + " created_at = excluded.created_at, protected = excluded.protected, origin = excluded.origin",
                row.name(), row.sizeBytes(), row.createdAt().toString(), row.isProtected(), row.origin());
        addCopy(row.name());
    }

    public Optional<Row> find(String name) {
        return db.query("read templates", "SELECT t.* FROM templates t" + HERE + " WHERE t.name = ?", TemplateStore::row,
                host, name).stream().findFirst();
    }

    public List<Row> list() {
        return db.query("read templates", "SELECT t.* FROM templates t" + HERE + " ORDER BY t.name", TemplateStore::row,
                host);
    }

    /** The record of template {@code name}, whichever hosts hold it. */
    public Optional<Row> findAny(String name) {
        return db.query("read templates", "SELECT * FROM templates WHERE name = ?", TemplateStore::row, name).stream()
                .findFirst();
    }

    /** Records that this host now holds a copy of template {@code name}, its record kept as it is. */
    public void addCopy(String name) {
        db.update("record template " + name + " on host " + host, "INSERT INTO template_hosts (template, host)"
                + " VALUES (?, ?) ON CONFLICT (template, host) DO NOTHING", name, host);
    }

    /** The hosts that hold a copy of template {@code name}. */
    public java.util.Set<String> holders(String name) {
        return new java.util.TreeSet<>(db.query("read template copies", "SELECT host FROM template_hosts WHERE template = ?",
                rs -> rs.getString("host"), name));
    }

    /** Every host's templates. */
    public List<Row> listAll() {
        return db.query("read templates", "SELECT * FROM templates ORDER BY name", TemplateStore::row);
    }

    /** Drops this host's copy of template {@code name}, and its record once no host holds one; false when there was none here. */
    public boolean delete(String name) {
        boolean here = db.update("delete template " + name + " on host " + host,
                "DELETE FROM template_hosts WHERE template = ? AND host = ?", name, host) > 0;
        db.update("delete template " + name, "DELETE FROM templates WHERE name = ?"
                + " AND NOT EXISTS (SELECT 1 FROM template_hosts WHERE template = ?)", name, name);
        return here;
    }

    private static Row row(ResultSet rs) throws SQLException {
        return new Row(rs.getString("name"), rs.getLong("size_bytes"), Instant.parse(rs.getString("created_at")),
                rs.getBoolean("protected"), rs.getString("origin"));
    }
}
